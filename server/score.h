/* score: turning a /score or /score/batch request into decoded images and search settings
 * (score_parse.c), and the answer back into JSON with the reconstruction and anomaly-map PNGs
 * (score_answer.c). No sockets, no pool: the handler in api_score.c joins them, and tests and
 * the request fuzzer call these directly. */
#ifndef INSPECTD_SCORE_H
#define INSPECTD_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "anogan.h"
#include "detect.h"
#include "api.h"
#include "config.h"
#include "image.h"
#include "json.h"

struct models;

/* Why a request was refused: HTTP status, stable code, message for people. */
struct api_fail {
    int status;
    char code[32];
    char message[256];
};

struct score_request {
    const struct anogan *model;
    struct anogan_search search;
    uint64_t seed;
    bool reconstruction, anomaly_map;
    int n;
    struct image *images; /* n decoded images, owned (score_request_free) */
};

/* Parses a request body (PNG with options in the query, or JSON {"image": ...} / for batch
 * {"images": [...]}) against the loaded models and cfg's limits. False with *fail filled
 * (400 bad JSON/PNG/base64, 404 unknown model, 413 image too large, 415 content type, 422 wrong
 * values, 503 no model loaded). On success *out is owned by the caller. */
bool score_parse(struct score_request *out, struct api_fail *fail, const struct serve_config *cfg,
                 const struct models *ms, const struct api_request *req, bool batch);
void score_request_free(struct score_request *r);

/* Writes one image's answer fields into the open JSON object w: score (the fused score, or the
 * AnoGAN score for a model without fusion), scores (each part the model has), residual,
 * discrimination, threshold, anomalous, iterations, width, height and, when asked, the PNGs.
 * x: the preprocessed input, recon: G(z), both in model units (anogan_image_size floats; recon
 * may be NULL when no PNG is asked for). False on allocation or encoding failure. */
bool score_answer_image(struct json_writer *w, const struct anogan *m,
                        const struct detect_result *r, const float *x, const float *recon,
                        int width, int height, bool want_recon, bool want_map);

/* The reconstruction G(z) as an 8-bit PNG of the input's size (grey, or RGB for a 3-channel
 * model), and the anomaly map |x - G(z)| (averaged over channels, in pixel units, colour scale
 * 0..1) as an RGB heat-map PNG of the same size. *png malloc'd (caller frees). */
enum status score_reconstruction_png(uint8_t **png, size_t *len, const struct anogan *m,
                                     const float *recon, int width, int height);
enum status score_anomaly_map_png(uint8_t **png, size_t *len, const struct anogan *m,
                                  const float *x, const float *recon, int width, int height);

#endif
