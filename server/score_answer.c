/* score_answer: one image's answer as JSON fields, and the two pictures a person looks at: the
 * reconstruction G(z) and the anomaly map |x - G(z)|, both brought back from the model's
 * size x size to the input's width x height with the same bicubic resize the preprocessing uses,
 * in 8-bit pixel values (model units -> [0,1] by anogan_to_pixels -> 0..255). */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

enum status score_anomaly_map_png(uint8_t **png, size_t *len, const struct anogan *m,
                                  const float *x, const float *recon, int width, int height)
{
    int S = m->cfg.image_size, C = m->cfg.channels;
    size_t plane = (size_t)S * (size_t)S, npix = (size_t)width * (size_t)height;
    struct image img = {0};
    float *big = NULL, *diff = NULL, *px = to_pixels(m, x), *pg = to_pixels(m, recon);
    enum status s = STATUS_NOMEM;
    if (!px || !pg || !(diff = calloc(plane, sizeof *diff)) ||
        !(big = malloc(npix * sizeof *big)))
        goto done;
    for (int c = 0; c < C; c++)
        for (size_t i = 0; i < plane; i++)
            diff[i] += fabsf(px[(size_t)c * plane + i] - pg[(size_t)c * plane + i]) / (float)C;
    image_resize_bicubic(big, width, height, diff, S, S);
    /* Fixed colour scale: full brightness = a full-range (0 -> 255) pixel difference, so maps
     * of different images compare by eye. */
    if ((s = image_heatmap(&img, big, width, height, 1.0f)))
        goto done;
    s = image_encode_png(png, len, &img);
done:
    if (s == STATUS_NOMEM)
        status_fail(s, "out of memory making the anomaly map");
    image_free(&img);
    free(big);
    free(diff);
    free(px);
    free(pg);
    return s;
}

bool score_answer_image(struct json_writer *w, const struct anogan *m,
                        const struct detect_result *r, const float *x, const float *recon,
                        int width, int height, bool want_recon, bool want_map)
{
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
    json_kv_int(w, "iterations", r->gan.iterations);
    json_kv_int(w, "width", width);
    json_kv_int(w, "height", height);
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
