/* random_model: writes an AnoGAN model file with freshly initialised (untrained) weights, for
 * tests of the daemon that need a model file but not a meaningful score.
 *
 *   random_model --out FILE [--width 8] [--zdim 20] [--encoder] [--threshold T] [--name NAME]
 *                [--seed S]
 *
 * A small --width keeps searches fast; --threshold adds a calibration so answers carry a verdict. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anogan.h"
#include "args.h"

int main(int argc, char **argv)
{
    const char *out = NULL, *name = NULL;
    struct anogan_config cfg = anogan_config_seed();
    cfg.width = 8;
    int encoder = 0;
    double threshold = -1, band_low = NAN, band_high = NAN;
    unsigned long long seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--encoder")) {
            encoder = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "random_model: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--width"))
            cfg.width = (int)args_int("random_model", a, v, 1, 4096);
        else if (!strcmp(a, "--zdim"))
            cfg.zdim = (int)args_int("random_model", a, v, 1, 4096);
        else if (!strcmp(a, "--threshold"))
            threshold = args_float("random_model", a, v, -1e30, 1e30);
        else if (!strcmp(a, "--band-low"))
            band_low = args_float("random_model", a, v, -1e30, 1e30);
        else if (!strcmp(a, "--band-high"))
            band_high = args_float("random_model", a, v, -1e30, 1e30);
        else if (!strcmp(a, "--name"))
            name = v;
        else if (!strcmp(a, "--seed"))
            seed = args_u64("random_model", a, v);
        else {
            fprintf(stderr, "random_model: unknown option %s\n", a);
            return 2;
        }
    }
    if (!out || cfg.width < 1 || cfg.zdim < 1) {
        fprintf(stderr, "usage: random_model --out FILE [--width 8] [--zdim 20] [--encoder] "
                        "[--threshold T [--band-low L --band-high H]] [--name NAME] [--seed S]\n");
        return 2;
    }
    struct anogan *m = NULL;
    enum status s = anogan_create(&m, &cfg, seed);
    if (!s && encoder)
        s = anogan_add_encoder(m, seed + 1);
    if (!s) {
        if (name)
            snprintf(m->name, sizeof m->name, "%s", name);
        if (threshold >= 0) {
            m->cal.present = true;
            m->cal.threshold = (float)threshold;
            m->cal.percentile = 99;
            /* no band unless asked: both ends at the threshold */
            m->cal.band_low = isnan(band_low) ? (float)threshold : (float)band_low;
            m->cal.band_high = isnan(band_high) ? (float)threshold : (float)band_high;
            m->cal.count = 1;
            snprintf(m->cal.search, sizeof m->cal.search, "%s", encoder ? "encoder" : "random");
            snprintf(m->cal.data, sizeof m->cal.data, "none: random weights for tests");
        }
        snprintf(m->trained, sizeof m->trained, "untrained: random weights (tools/random_model)");
        s = anogan_save(m, out);
    }
    anogan_free(m);
    if (s) {
        fprintf(stderr, "random_model: %s\n", status_message());
        return 1;
    }
    return 0;
}
