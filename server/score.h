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
#include "verdict.h"

struct models;

/* Why a request was refused: HTTP status, stable code, message for people. */
struct api_fail {
    int status;
    char code[32];
    char message[256];
};

/* part_id and station: 1..SCORE_ID_MAX characters of [A-Za-z0-9._:-] (safe in MQTT topics,
 * file names and logs). */
#define SCORE_ID_MAX 64
/* Regions: map pixels >= region_threshold (anomaly-map units, 0..1: a full-range pixel
 * difference is 1), components of at least 0.1% of the image's pixels (1 at least), the
 * SCORE_MAX_REGIONS largest reported. */
#define SCORE_REGION_THRESHOLD 0.5f
#define SCORE_MAX_REGIONS 16
/* deadline_ms (body, query, or the X-Deadline-Ms header) at most: one hour. */
#define SCORE_MAX_DEADLINE_MS 3600000

struct score_request {
    const struct anogan *model;
    struct anogan_search search;
    uint64_t seed;
    bool reconstruction, anomaly_map;
    char part_id[SCORE_ID_MAX + 1], station[SCORE_ID_MAX + 1]; /* "" when not given */
    bool has_band;          /* the request's NOT_DECIDABLE band, else the model's */
    float band_low, band_high;
    float region_threshold;
    int deadline_ms;        /* drop the work if still queued this long after arrival (0: none) */
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

/* The option fields of a JSON object (those of a /score body: model, search, iterations, seed,
 * lr, patience, tol, reconstruction, anomaly_map, part_id, station, band_low, band_high,
 * region_threshold) into out, with its model picked (model, when not NULL, wins over the
 * object's) and its search resolved; out->images is left alone. params may be NULL (no
 * options). False with *fail filled, as score_parse. For the Open Inference Protocol's
 * "parameters". */
bool score_options_from_json(struct score_request *out, struct api_fail *fail,
                             const struct serve_config *cfg, const struct models *ms,
                             const char *model, const struct json *params);
/* Decodes a PNG under cfg's limits: false with *fail filled (400 bad_png, 413 image_too_large,
 * 503 out_of_memory), where naming the input in messages. *img owned by the caller. */
bool score_image_from_png(struct image *img, struct api_fail *fail,
                          const struct serve_config *cfg, const uint8_t *bytes, size_t len,
                          const char *where);

/* Writes one image's answer fields into the open JSON object w: result_id (given: a
 * score_result_id),
 * score (the fused score, or the AnoGAN score for a model without fusion), scores (each part the
 * model has), residual, discrimination, threshold, anomalous, evaluation and band (verdict.h,
 * the request's band else the model's), part_id, station, model_version, iterations, width,
 * height, regions (of the anomaly map, when recon is given) and, when asked, the PNGs.
 * x: the preprocessed input, recon: G(z), both in model units (anogan_image_size floats; recon
 * may be NULL: no regions, no PNGs). False on allocation or encoding failure. */
bool score_answer_image(struct json_writer *w, const struct score_request *sr,
                        const struct detect_result *r, const char *result_id, const float *x,
                        const float *recon, int width, int height);

/* The message a line hears about one verdict (MQTT, webhooks): a JSON object with "model",
 * "timestamp" (UTC, RFC 3339 with milliseconds) and the fields of score_answer_image without
 * the pictures. *out malloc'd (caller frees), *len its length. STATUS_NOMEM. */
enum status score_verdict_message(char **out, size_t *len, const struct score_request *sr,
                                  const struct detect_result *r, const char *result_id,
                                  const float *x, const float *recon, int width, int height);

/* The verdict of score under sr's band (the request's, else the model's calibration; a model
 * without calibration and no request band: NOT_DECIDABLE). *low / *high (may be NULL) get the
 * band used, NaN when there is none. */
enum verdict score_verdict(const struct score_request *sr, float score, float *low, float *high);
/* A random UUID (version 4) in out[37]. */
void score_result_id(char out[37]);
/* The model file's version: the first 12 hex digits of its SHA-256, "" when built in memory. */
void score_model_version(char out[13], const struct anogan *m);

/* The anomaly map |x - G(z)| averaged over channels, in pixel units (0..1), resized to width x
 * height (bicubic). *map malloc'd (caller frees). STATUS_NOMEM. */
enum status score_anomaly_map(float **map, const struct anogan *m, const float *x,
                              const float *recon, int width, int height);

/* The reconstruction G(z) as an 8-bit PNG of the input's size (grey, or RGB for a 3-channel
 * model), and the anomaly map |x - G(z)| (averaged over channels, in pixel units, colour scale
 * 0..1) as an RGB heat-map PNG of the same size. *png malloc'd (caller frees). */
enum status score_reconstruction_png(uint8_t **png, size_t *len, const struct anogan *m,
                                     const float *recon, int width, int height);
enum status score_anomaly_map_png(uint8_t **png, size_t *len, const struct anogan *m,
                                  const float *x, const float *recon, int width, int height);

#endif
