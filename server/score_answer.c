/* score_answer: one image's answer as JSON fields (with the line's verdict, identifiers and
 * defect regions), and the two pictures a person looks at: the
 * reconstruction G(z) and the anomaly map |x - G(z)|, both brought back from the model's
 * size x size to the input's width x height with the same bicubic resize the preprocessing uses,
 * in 8-bit pixel values (model units -> [0,1] by anogan_to_pixels -> 0..255). */
#include "score.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"
#include "regions.h"

/* One channel plane in [0,1] pixel units from a model-unit image. */
static float *to_pixels(const struct anogan *m, const float *v)
{
    size_t n = anogan_image_size(m);
    float *p = malloc(n * sizeof *p);
    if (p) {
        memcpy(p, v, n * sizeof *p);
        anogan_to_pixels(m, p, n);
    }
    return p;
}

static uint8_t to_byte(float v)
{
    v = v * 255.0f + 0.5f;
    return (uint8_t)(v > 0 ? (v < 255 ? v : 255) : 0); /* NaN -> 0 */
}

enum status score_reconstruction_png(uint8_t **png, size_t *len, const struct anogan *m,
                                     const float *recon, int width, int height)
{
    int S = m->cfg.image_size, C = m->cfg.channels;
    int out_c = C == 3 ? 3 : 1;
    size_t plane = (size_t)S * (size_t)S, npix = (size_t)width * (size_t)height;
    struct image img = {0};
    float *big = NULL, *pix = to_pixels(m, recon);
    enum status s = STATUS_NOMEM;
    if (!pix || !(big = malloc(npix * sizeof *big)))
        goto done;
    if ((s = image_alloc(&img, width, height, out_c)))
        goto done;
    for (int c = 0; c < out_c; c++) {
        /* A grey output of a multi-channel model (2 or 4 channels) shows channel 0. */
        image_resize_bicubic(big, width, height, pix + (size_t)c * plane, S, S);
        for (size_t i = 0; i < npix; i++)
            img.pixels[i * (size_t)out_c + (size_t)c] = to_byte(big[i]);
    }
    s = image_encode_png(png, len, &img);
done:
    if (s == STATUS_NOMEM)
        status_fail(s, "out of memory making the reconstruction");
    image_free(&img);
    free(big);
    free(pix);
    return s;
}

enum status score_anomaly_map(float **map, const struct anogan *m, const float *x,
                              const float *recon, int width, int height)
{
    int S = m->cfg.image_size, C = m->cfg.channels;
    size_t plane = (size_t)S * (size_t)S, npix = (size_t)width * (size_t)height;
    float *big = NULL, *diff = NULL, *px = to_pixels(m, x), *pg = to_pixels(m, recon);
    enum status s = STATUS_NOMEM;
    *map = NULL;
    if (!px || !pg || !(diff = calloc(plane, sizeof *diff)) ||
        !(big = malloc(npix * sizeof *big)))
        goto done;
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < plane; i++)
            diff[i] += fabsf(px[(size_t)c * plane + i] - pg[(size_t)c * plane + i]) / (float)C;
    image_resize_bicubic(big, width, height, diff, S, S);
    *map = big;
    big = NULL;
    s = STATUS_OK;
done:
    if (s == STATUS_NOMEM)
        status_fail(s, "out of memory making the anomaly map");
    free(big);
    free(diff);
    free(px);
    free(pg);
    return s;
}

enum status score_anomaly_map_png(uint8_t **png, size_t *len, const struct anogan *m,
                                  const float *x, const float *recon, int width, int height)
{
    struct image img = {0};
    float *big = NULL;
    enum status s = score_anomaly_map(&big, m, x, recon, width, height);
    if (s)
        return s;
    /* Fixed colour scale: full brightness = a full-range (0 -> 255) pixel difference, so maps
     * of different images compare by eye. */
    if ((s = image_heatmap(&img, big, width, height, 1.0f)) == STATUS_OK)
        s = image_encode_png(png, len, &img);
    if (s == STATUS_NOMEM)
        status_fail(s, "out of memory making the anomaly map");
    image_free(&img);
    free(big);
    return s;
}

enum verdict score_verdict(const struct score_request *sr, float score, float *low, float *high)
{
    const struct anogan_calibration *cal = &sr->model->cal;
    float lo = NAN, hi = NAN;
    if (sr->has_band) {
        lo = sr->band_low;
        hi = sr->band_high;
    } else if (cal->present) {
        lo = cal->band_low;
        hi = cal->band_high;
    }
    if (low)
        *low = lo;
    if (high)
        *high = hi;
    return verdict_evaluate(score, lo, hi);
}

void score_result_id(char out[37])
{
    uint8_t b[16];
    static atomic_ullong counter;
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* no entropy source: time and a process-wide counter still make ids unique here */
        unsigned long long t = (unsigned long long)(clock_now() * 1e9);
        unsigned long long c = atomic_fetch_add(&counter, 1);
        memcpy(b, &t, 8);
        memcpy(b + 8, &c, 8);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

void score_model_version(char out[13], const struct anogan *m)
{
    snprintf(out, 13, "%.12s", m->sha256);
}

/* "regions": the connected components of the anomaly map above sr->region_threshold. */
static bool put_regions(struct json_writer *w, const struct score_request *sr, const float *x,
                        const float *recon, int width, int height)
{
    float *map = NULL;
    struct region reg[SCORE_MAX_REGIONS];
    int n = 0, total = 0;
    long npix = (long)width * (long)height, min_area = npix / 1000 > 1 ? npix / 1000 : 1;
    if (score_anomaly_map(&map, sr->model, x, recon, width, height) ||
        regions_find(reg, SCORE_MAX_REGIONS, &n, &total, map, width, height,
                     sr->region_threshold, min_area)) {
        free(map);
        return false;
    }
    free(map);
    json_kv_number(w, "region_threshold", sr->region_threshold);
    json_kv_int(w, "regions_total", total);
    json_key_put(w, "regions");
    json_array_begin(w);
    for (int i = 0; i < n; i++) {
        json_object_begin(w);
        json_kv_int(w, "x", reg[i].x);
        json_kv_int(w, "y", reg[i].y);
        json_kv_int(w, "width", reg[i].width);
        json_kv_int(w, "height", reg[i].height);
        json_kv_int(w, "area", reg[i].area);
        json_kv_number(w, "peak", reg[i].peak);
        json_object_end(w);
    }
    json_array_end(w);
    return true;
}

static bool answer_fields(struct json_writer *w, const struct score_request *sr,
                          const struct detect_result *r, const char *result_id, const float *x,
                          const float *recon, int width, int height, bool pictures)
{
    const struct anogan *m = sr->model;
    bool want_recon = pictures && sr->reconstruction, want_map = pictures && sr->anomaly_map;
    char version[13];
    score_model_version(version, m);
    json_kv_string(w, "result_id", result_id);
    json_kv_number(w, "score", r->score);
    /* every part the model has, raw (the fused score standardises and weighs them) */
    json_key_put(w, "scores");
    json_object_begin(w);
    for (int p = 0; p < DETECT_NPARTS; p++)
        if (detect_has_part(m, (enum detect_part)p))
            json_kv_number(w, detect_part_name((enum detect_part)p), r->part[p]);
    json_object_end(w);
    json_kv_number(w, "residual", r->gan.residual);
    json_kv_number(w, "discrimination", r->gan.discrimination);
    json_key_put(w, "threshold");
    if (m->cal.present)
        json_number_put(w, m->cal.threshold);
    else
        json_null_put(w);
    json_key_put(w, "anomalous");
    if (m->cal.present)
        json_bool_put(w, r->score > m->cal.threshold);
    else
        json_null_put(w);
    float low, high;
    enum verdict v = score_verdict(sr, r->score, &low, &high);
    json_kv_string(w, "evaluation", verdict_name(v));
    json_key_put(w, "band");
    if (isnan(low)) {
        json_null_put(w);
    } else {
        json_object_begin(w);
        json_kv_number(w, "low", low);
        json_kv_number(w, "high", high);
        json_kv_string(w, "source", sr->has_band ? "request" : "model");
        json_object_end(w);
    }
    json_key_put(w, "part_id");
    if (sr->part_id[0])
        json_string_put(w, sr->part_id);
    else
        json_null_put(w);
    json_key_put(w, "station");
    if (sr->station[0])
        json_string_put(w, sr->station);
    else
        json_null_put(w);
    json_key_put(w, "model_version");
    if (version[0])
        json_string_put(w, version);
    else
        json_null_put(w);
    json_kv_int(w, "iterations", r->gan.iterations);
    json_kv_int(w, "width", width);
    json_kv_int(w, "height", height);
    if (recon && !put_regions(w, sr, x, recon, width, height))
        return false;
    uint8_t *png = NULL;
    size_t len = 0;
    if (want_recon) {
        if (!recon || score_reconstruction_png(&png, &len, m, recon, width, height))
            return false;
        json_key_put(w, "reconstruction_png_base64");
        json_base64_put(w, png, len);
        free(png);
    }
    if (want_map) {
        if (!recon || score_anomaly_map_png(&png, &len, m, x, recon, width, height))
            return false;
        json_key_put(w, "anomaly_map_png_base64");
        json_base64_put(w, png, len);
        free(png);
    }
    return !w->failed;
}

bool score_answer_image(struct json_writer *w, const struct score_request *sr,
                        const struct detect_result *r, const char *result_id, const float *x,
                        const float *recon, int width, int height)
{
    return answer_fields(w, sr, r, result_id, x, recon, width, height, true);
}

enum status score_verdict_message(char **out, size_t *len, const struct score_request *sr,
                                  const struct detect_result *r, const char *result_id,
                                  const float *x, const float *recon, int width, int height)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[96];
    snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000) % 1000);
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "model", sr->model->name);
    json_kv_string(&w, "timestamp", stamp);
    bool ok = answer_fields(&w, sr, r, result_id, x, recon, width, height, false);
    json_object_end(&w);
    *out = ok ? json_writer_finish(&w, len) : NULL;
    if (!ok)
        json_writer_discard(&w);
    return *out ? STATUS_OK : status_fail(STATUS_NOMEM, "out of memory for a verdict message");
}
