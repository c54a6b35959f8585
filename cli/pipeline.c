/* pipeline: the training phases every training command runs (see pipeline.h). */
#include "pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "parse.h"

double pipeline_total(const struct pipeline_times *t)
{
    return t->gan + t->encoder + t->transform + t->memory + t->fusion + t->calibration;
}

void pipeline_recipe_init(struct pipeline_recipe *r)
{
    memset(r, 0, sizeof *r);
    r->parts = detect_recipe_default();
    r->parts_list = "all";
}

static int find_part(const char *name, size_t len)
{
    for (int p = 0; p < DETECT_NPARTS; p++) {
        const char *n = detect_part_name((enum detect_part)p);
        if (strlen(n) == len && !strncmp(n, name, len))
            return p;
    }
    return -1;
}

int pipeline_recipe_finish(struct pipeline_recipe *r, const char *cmd)
{
    float *w = r->parts.weight;
    if (!strcmp(r->parts_list, "none")) {
        for (int p = 1; p < DETECT_NPARTS; p++)
            w[p] = 0;
    } else if (strcmp(r->parts_list, "all")) {
        bool keep[DETECT_NPARTS] = {true}; /* the AnoGAN score is always there */
        for (const char *s = r->parts_list; *s;) {
            size_t len = strcspn(s, ",");
            int p = find_part(s, len);
            if (p < 0) {
                fprintf(stderr, "inspectd %s: --parts: unknown part '%.*s' (transform, knn, "
                        "knn_pixels, knn_transform)\n", cmd, (int)len, s);
                return 2;
            }
            keep[p] = true;
            s += len + (s[len] == ',');
        }
        for (int p = 1; p < DETECT_NPARTS; p++)
            if (!keep[p])
                w[p] = 0;
            else if (w[p] == 0)
                w[p] = 1;
    }
    if (r->weights) {
        for (const char *s = r->weights; *s;) {
            size_t len = strcspn(s, ",");
            const char *eq = memchr(s, '=', len);
            int p = eq ? find_part(s, (size_t)(eq - s)) : -1;
            char num[32];
            double v;
            if (p < 0 || (size_t)(s + len - eq - 1) >= sizeof num) {
                fprintf(stderr, "inspectd %s: --weights: '%.*s' is not PART=WEIGHT\n", cmd,
                        (int)len, s);
                return 2;
            }
            snprintf(num, sizeof num, "%.*s", (int)(s + len - eq - 1), eq + 1);
            if (parse_float(&v, "--weights", num, 0, 1000)) {
                fprintf(stderr, "inspectd %s: %s\n", cmd, status_message());
                return 2;
            }
            w[p] = (float)v;
            s += len + (s[len] == ',');
        }
    }
    return 0;
}

bool pipeline_recipe_has_parts(const struct pipeline_recipe *r)
{
    for (int p = 1; p < DETECT_NPARTS; p++)
        if (r->parts.weight[p] != 0)
            return true;
    return false;
}

static int clamp_round(double v, int lo, int hi)
{
    int e = (int)lround(v);
    return e < lo ? lo : e > hi ? hi : e;
}

int pipeline_auto_epochs(size_t n)
{
    return clamp_round(36000.0 / (double)(n ? n : 1), 10, 40);
}

int pipeline_auto_encoder_epochs(size_t n)
{
    return clamp_round(13500.0 / (double)(n ? n : 1), 5, 15);
}

int pipeline_new_model(struct anogan **m, const struct anogan_config *arch, uint64_t seed,
                       const char *init)
{
    if (anogan_create(m, arch, seed)) {
        fprintf(stderr, "inspectd: %s\n", status_message());
        return 1;
    }
    if (!strcmp(init, "pytorch")) { /* PyTorch's default layer init, as the seed's code */
        net_init_weights(&(*m)->g, seed, false);
        net_init_weights(&(*m)->d_feat, seed + 1, false);
        net_init_weights(&(*m)->d_critic, seed + 2, false);
    }
    return 0;
}

/* Progress of the parts: the classifier's epochs as a bar or a line each, then one line per
 * memory bank and for the standardisation. user: struct cli_progress. */
static void parts_progress(void *user, const struct detect_progress *d)
{
    struct cli_progress *c = user;
    if (d->geom) {
        const struct geom_progress *g = d->geom;
        char line[200];
        int n = snprintf(line, sizeof line, "transform epoch %d/%d step %d/%d loss %.4f",
                         g->epoch + 1, g->epochs, g->step, g->steps, g->loss);
        if (g->epoch_end)
            snprintf(line + n, sizeof line - (size_t)n,
                     "  held-out loss %.4f, %.1f%% recognised (best epoch %d)",
                     g->holdout_loss, 100 * g->holdout_accuracy, g->best_epoch);
        if (c->tty)
            cli_progress_redraw(c, line, g->epoch_end);
        else if (g->epoch_end)
            fprintf(c->out, "%s\n", line);
    } else if (!strcmp(d->phase, "memory")) {
        fprintf(c->out, "memory bank %.0f/%.0f built (%.1f s)\n", d->done, d->total, d->elapsed_s);
    } else if (!strcmp(d->phase, "fusion") && d->done == 0) {
        fprintf(c->out, "standardising every part on the held-out images\n");
    }
    fflush(c->out);
}

struct phase_clock {
    struct cli_progress *prog;
    struct pipeline_times *t;
    double t_last;
    const char *last;
};

/* Charges the time since the last report to the phase that was running. */
static void phase_clock_charge(struct phase_clock *pc)
{
    double now = clock_now();
    if (pc->last) {
        double dt = now - pc->t_last;
        if (!strcmp(pc->last, "transform"))
            pc->t->transform += dt;
        else if (!strcmp(pc->last, "memory"))
            pc->t->memory += dt;
        else
            pc->t->fusion += dt;
    }
    pc->t_last = now;
}

static void phase_clock_hook(void *user, const struct detect_progress *d)
{
    struct phase_clock *pc = user;
    phase_clock_charge(pc);
    pc->last = d->phase;
    parts_progress(pc->prog, d);
}

int pipeline_run(struct anogan *m, struct train_state *state, const struct dataset *train,
                 const struct dataset *hold, const struct pipeline *p, struct pipeline_times *t)
{
    memset(t, 0, sizeof *t);
    struct train_config *cfg = p->cfg;
    if (cfg->epochs <= 0)
        cfg->epochs = pipeline_auto_epochs(train->count);
    if (cfg->encoder_epochs < 0)
        cfg->encoder_epochs = pipeline_auto_encoder_epochs(train->count);
    struct train_hooks hooks = {cli_train_progress, p->prog, &cli_cancel};
    enum status st;
    double t0 = clock_now();
    if (state->phase == TRAIN_PHASE_GAN) {
        fprintf(stderr, "GAN: %d epochs, batch %d, Adam G %g D %g betas (%g, %g), real label %g, "
                "seed %llu\n", cfg->epochs, cfg->batch, cfg->adam_g.lr, cfg->adam_d.lr,
                cfg->adam_g.beta1, cfg->adam_g.beta2, cfg->real_label,
                (unsigned long long)cfg->seed);
        st = train_gan(m, state, train, cfg, &hooks);
        cli_progress_end(p->prog);
        if (st) {
            fprintf(stderr, "inspectd %s: %s\n", p->cmd, status_message());
            return 1;
        }
        t->gan = clock_now() - t0;
    }
    if (state->phase == TRAIN_PHASE_ENCODER && cfg->encoder_epochs > 0) {
        t0 = clock_now();
        fprintf(stderr, "encoder: %d epochs, Adam %g, kappa %g\n", cfg->encoder_epochs,
                cfg->adam_e.lr, cfg->kappa);
        st = train_encoder(m, state, train, cfg, &hooks);
        cli_progress_end(p->prog);
        if (st) {
            fprintf(stderr, "inspectd %s: %s\n", p->cmd, status_message());
            return 1;
        }
        t->encoder = clock_now() - t0;
    }
    state->phase = TRAIN_PHASE_DONE;
    if (hold->count == 0) {
        fprintf(stderr, "no hold-out (--holdout 0): no detectors beside the AnoGAN, no "
                        "calibration\n");
        return 0;
    }
    struct anogan_search search = anogan_search_default(m);
    if (p->parts) {
        const struct detect_recipe *r = p->parts;
        fprintf(stderr, "detectors beside the AnoGAN:");
        for (int i = 1; i < DETECT_NPARTS; i++)
            if (r->weight[i] != 0)
                fprintf(stderr, " %s", detect_part_name((enum detect_part)i));
        fprintf(stderr, " (classifier: %d transforms, scored with %d; banks up to %d images)\n",
                r->geom.transforms, r->geom.scored ? r->geom.scored : r->geom.transforms,
                r->knn_max);
        struct phase_clock pc = {.prog = p->prog, .t = t, .t_last = clock_now()};
        struct detect_hooks dh = {phase_clock_hook, &pc, &cli_cancel};
        st = train_detect(m, train, hold, r, &search, &dh);
        phase_clock_charge(&pc); /* the last phase ends with train_detect */
        cli_progress_end(p->prog);
        if (st) {
            fprintf(stderr, "inspectd %s: %s\n", p->cmd, status_message());
            return 1;
        }
    } else {
        detect_free(m->det);
        m->det = NULL;
    }
    t0 = clock_now();
    fprintf(stderr, "calibrating on %zu held-out images (search %s, %d steps, lr %g)\n",
            hold->count, anogan_init_name(search.init), search.iterations, search.lr);
    if ((st = train_calibrate(m, hold, &search, p->percentile, p->what))) {
        fprintf(stderr, "inspectd %s: calibration: %s\n", p->cmd, status_message());
        return 1;
    }
    t->calibration = clock_now() - t0;
    fprintf(stderr, "threshold %.4g on the %s score (p%g of held-out normal scores: mean %.4g, "
            "p50 %.4g, max %.4g)\n", m->cal.threshold, m->cal.score, m->cal.percentile,
            m->cal.mean, m->cal.p50, m->cal.max);
    return 0;
}
