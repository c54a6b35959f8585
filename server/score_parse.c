/* score_parse: validating a scoring request (see score.h). Options come from the query string
 * (strings) and, for JSON bodies, from the body (typed values, which win). Every refusal names
 * the field and what was expected. */
#include "score.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "models.h"

#define MAX_SAFE_INT 9007199254740992.0 /* 2^53: larger JSON numbers lose integers */

static bool fail(struct api_fail *f, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail(struct api_fail *f, int status, const char *code, const char *fmt, ...)
{
    f->status = status;
    snprintf(f->code, sizeof f->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return false;
}

struct options {
    const char *model;
    bool has_mode, has_iterations, has_lr, has_patience, has_tol, has_seed;
    enum search_mode mode;
    int iterations, patience;
    float lr, tol;
    uint64_t seed;
    bool reconstruction, anomaly_map;
};

/* ---- query strings ---- */

static bool q_int(const char *v, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return false;
    *out = (int)x;
    return true;
}

static bool q_float(const char *v, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x) || x < lo || x > hi)
        return false;
    *out = (float)x;
    return true;
}

static bool q_u64(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end || errno || v[0] == '-' || v[0] == '+' || v[0] == ' ')
        return false;
    *out = x;
    return true;
}

static bool q_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcmp(v, "1") || !v[0])
        *out = true;
    else if (!strcasecmp(v, "false") || !strcmp(v, "0"))
        *out = false;
    else
        return false;
    return true;
}

static bool opts_from_query(struct options *o, struct api_fail *f, const struct serve_config *cfg,
                            const struct api_request *req)
{
    const char *v;
    if ((v = api_query(req, "model")))
        o->model = v;
    if ((v = api_query(req, "search")) && !(o->has_mode = search_mode_parse(v, &o->mode)))
        return fail(f, 422, "invalid_value", "search must be random, encoder or auto, not '%.40s'",
                    v);
    if ((v = api_query(req, "iterations")) &&
        !(o->has_iterations = q_int(v, 0, cfg->max_iterations, &o->iterations)))
        return fail(f, 422, "invalid_value", "iterations must be an integer in [0, %d]",
                    cfg->max_iterations);
    if ((v = api_query(req, "patience")) &&
        !(o->has_patience = q_int(v, 0, cfg->max_iterations, &o->patience)))
        return fail(f, 422, "invalid_value", "patience must be an integer in [0, %d]",
                    cfg->max_iterations);
    if ((v = api_query(req, "lr")) && !(o->has_lr = q_float(v, 1e-8, 10, &o->lr)))
        return fail(f, 422, "invalid_value", "lr must be a number in [1e-8, 10]");
    if ((v = api_query(req, "tol")) && !(o->has_tol = q_float(v, 0, 1, &o->tol)))
        return fail(f, 422, "invalid_value", "tol must be a number in [0, 1]");
    if ((v = api_query(req, "seed")) && !(o->has_seed = q_u64(v, &o->seed)))
        return fail(f, 422, "invalid_value", "seed must be an integer in [0, 2^64)");
    if ((v = api_query(req, "reconstruction")) && !q_bool(v, &o->reconstruction))
        return fail(f, 422, "invalid_value", "reconstruction must be true or false");
    if ((v = api_query(req, "anomaly_map")) && !q_bool(v, &o->anomaly_map))
        return fail(f, 422, "invalid_value", "anomaly_map must be true or false");
    return true;
}

/* ---- JSON values ---- */

static bool j_int(const struct json *j, double lo, double hi, int *out)
{
    double v = json_number(j);
    if (!isfinite(v) || floor(v) != v || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static bool j_float(const struct json *j, double lo, double hi, float *out)
{
    double v = json_number(j);
    if (!isfinite(v) || v < lo || v > hi)
        return false;
    *out = (float)v;
    return true;
}

static bool opts_from_json(struct options *o, struct api_fail *f, const struct serve_config *cfg,
                           const struct json *doc)
{
    const struct json *v;
    if ((v = json_get(doc, "model")) && !json_is_null(v)) {
        if (!(o->model = json_string(v)))
            return fail(f, 422, "invalid_value", "model must be a string, not %s",
                        json_type_name(v));
    }
    if ((v = json_get(doc, "search")) && !json_is_null(v)) {
        const char *s = json_string(v);
        if (!s || !(o->has_mode = search_mode_parse(s, &o->mode)))
            return fail(f, 422, "invalid_value", "search must be \"random\", \"encoder\" or \"auto\"");
    }
    if ((v = json_get(doc, "iterations")) &&
        !(o->has_iterations = j_int(v, 0, cfg->max_iterations, &o->iterations)))
        return fail(f, 422, "invalid_value", "iterations must be an integer in [0, %d]",
                    cfg->max_iterations);
    if ((v = json_get(doc, "patience")) &&
        !(o->has_patience = j_int(v, 0, cfg->max_iterations, &o->patience)))
        return fail(f, 422, "invalid_value", "patience must be an integer in [0, %d]",
                    cfg->max_iterations);
    if ((v = json_get(doc, "lr")) && !(o->has_lr = j_float(v, 1e-8, 10, &o->lr)))
        return fail(f, 422, "invalid_value", "lr must be a number in [1e-8, 10]");
    if ((v = json_get(doc, "tol")) && !(o->has_tol = j_float(v, 0, 1, &o->tol)))
        return fail(f, 422, "invalid_value", "tol must be a number in [0, 1]");
    if ((v = json_get(doc, "seed"))) {
        double d = json_number(v);
        if (json_is_string(v))
            o->has_seed = q_u64(json_string(v), &o->seed);
        else if (isfinite(d) && floor(d) == d && d >= 0 && d <= MAX_SAFE_INT)
            o->has_seed = true, o->seed = (uint64_t)d;
        else
            o->has_seed = false;
        if (!o->has_seed)
            return fail(f, 422, "invalid_value",
                        "seed must be an integer in [0, 2^53], or a decimal string below 2^64");
    }
    if ((v = json_get(doc, "reconstruction"))) {
        if (!json_is_bool(v))
            return fail(f, 422, "invalid_value", "reconstruction must be true or false");
        o->reconstruction = json_bool(v);
    }
    if ((v = json_get(doc, "anomaly_map"))) {
        if (!json_is_bool(v))
            return fail(f, 422, "invalid_value", "anomaly_map must be true or false");
        o->anomaly_map = json_bool(v);
    }
    return true;
}

/* ---- images ---- */

static bool image_from_png(struct image *img, struct api_fail *f, const struct serve_config *cfg,
                           const uint8_t *bytes, size_t len, const char *where)
{
    enum status s = image_decode_png(img, bytes, len, cfg->max_side, cfg->max_pixels);
    if (s == STATUS_OK)
        return true;
    if (s == STATUS_SHAPE)
        return fail(f, 413, "image_too_large", "%s: %s (limits: side %d, pixels %zu)", where,
                    status_message(), cfg->max_side, cfg->max_pixels);
    if (s == STATUS_NOMEM)
        return fail(f, 503, "out_of_memory", "%s: no memory to decode the image", where);
    return fail(f, 400, "bad_png", "%s: %s", where, status_message());
}

static bool image_from_base64(struct image *img, struct api_fail *f,
                              const struct serve_config *cfg, const char *text, const char *where)
{
    /* A data URL (what a browser's FileReader gives) is accepted as well as bare base64. */
    if (!strncmp(text, "data:", 5)) {
        const char *comma = strchr(text, ',');
        if (!comma || !strstr(text, ";base64"))
            return fail(f, 400, "bad_base64", "%s: a data URL must be base64-encoded", where);
        text = comma + 1;
    }
    size_t len = strlen(text);
    uint8_t *bytes = malloc(base64_decoded_max(len) + 1);
    if (!bytes)
        return fail(f, 503, "out_of_memory", "%s: no memory to decode base64", where);
    size_t n = 0;
    bool ok = base64_decode(bytes, &n, text, len);
    if (!ok)
        fail(f, 400, "bad_base64", "%s: png_base64 is not valid base64", where);
    else
        ok = image_from_png(img, f, cfg, bytes, n, where);
    free(bytes);
    return ok;
}

static bool image_from_pixels(struct image *img, struct api_fail *f,
                              const struct serve_config *cfg, const struct json *j,
                              const char *where)
{
    int w, h, c = 1;
    const struct json *pix = json_get(j, "pixels");
    if (!j_int(json_get(j, "width"), 1, 1e9, &w) || !j_int(json_get(j, "height"), 1, 1e9, &h))
        return fail(f, 422, "invalid_value", "%s: width and height must be positive integers",
                    where);
    if (json_get(j, "channels") && !j_int(json_get(j, "channels"), 1, 4, &c))
        return fail(f, 422, "invalid_value", "%s: channels must be 1, 2, 3 or 4", where);
    if (w > cfg->max_side || h > cfg->max_side || (size_t)w * (size_t)h > cfg->max_pixels)
        return fail(f, 413, "image_too_large", "%s: %dx%d is over the limits (side %d, pixels %zu)",
                    where, w, h, cfg->max_side, cfg->max_pixels);
    if (!json_is_array(pix))
        return fail(f, 422, "invalid_value", "%s: pixels must be an array of 0-255 values", where);
    size_t want = (size_t)w * (size_t)h * (size_t)c, have = json_size(pix);
    if (have != want)
        return fail(f, 422, "invalid_value",
                    "%s: pixels has %zu values, expected width*height*channels = %zu", where, have,
                    want);
    if (image_alloc(img, w, h, c) != STATUS_OK)
        return fail(f, 503, "out_of_memory", "%s: no memory for the image", where);
    size_t k = 0;
    for (const struct json *p = json_first(pix); p; p = json_next(p), k++) {
        double v = json_number(p);
        if (!(v >= 0 && v <= 255) || floor(v) != v) {
            image_free(img);
            return fail(f, 422, "invalid_value", "%s: pixels[%zu] must be an integer in [0, 255]",
                        where, k);
        }
        img->pixels[k] = (uint8_t)v;
    }
    return true;
}

static bool image_from_json(struct image *img, struct api_fail *f, const struct serve_config *cfg,
                            const struct json *j, const char *where)
{
    if (!json_is_object(j))
        return fail(f, 422, "invalid_value",
                    "%s must be an object: {\"png_base64\": ...} or {\"width\", \"height\", "
                    "\"channels\", \"pixels\"}",
                    where);
    const struct json *png = json_get(j, "png_base64");
    if (png) {
        if (!json_is_string(png))
            return fail(f, 422, "invalid_value", "%s.png_base64 must be a string", where);
        return image_from_base64(img, f, cfg, json_string(png), where);
    }
    return image_from_pixels(img, f, cfg, j, where);
}

/* ---- the whole request ---- */

static bool resolve_search(struct score_request *out, struct api_fail *f,
                           const struct serve_config *cfg, const struct options *o)
{
    const struct anogan *m = out->model;
    struct anogan_search s = anogan_search_default(m);
    const struct search_defaults *d = &cfg->search;
    enum search_mode mode = o->has_mode ? o->mode : d->mode;
    if (mode == SEARCH_MODE_ENCODER && !m->has_encoder)
        return fail(f, 422, "invalid_value",
                    "model %s has no encoder; use \"search\": \"random\"", m->name);
    if (mode == SEARCH_MODE_RANDOM && s.init != ANOGAN_INIT_RANDOM) {
        /* The model's defaults are tuned for its default start: take the random-start ones. */
        struct anogan_search r = anogan_search_default(NULL);
        s = r;
    }
    if (mode == SEARCH_MODE_ENCODER)
        s.init = ANOGAN_INIT_ENCODER;
    if (d->iterations >= 0)
        s.iterations = d->iterations;
    if (d->lr > 0)
        s.lr = d->lr;
    if (d->patience >= 0)
        s.patience = d->patience;
    if (d->tol >= 0)
        s.tol = d->tol;
    if (o->has_iterations)
        s.iterations = o->iterations;
    if (o->has_lr)
        s.lr = o->lr;
    if (o->has_patience)
        s.patience = o->patience;
    if (o->has_tol)
        s.tol = o->tol;
    if (s.iterations > cfg->max_iterations)
        s.iterations = cfg->max_iterations;
    out->search = s;
    out->seed = o->has_seed ? o->seed : d->seed;
    out->reconstruction = o->reconstruction;
    out->anomaly_map = o->anomaly_map;
    return true;
}

static bool pick_model(struct score_request *out, struct api_fail *f, const struct models *ms,
                       const char *name)
{
    out->model = models_anogan(ms, name);
    if (out->model)
        return true;
    if (name && name[0])
        return fail(f, 404, "unknown_model", "no AnoGAN model named '%.64s' (see GET /models)",
                    name);
    return fail(f, 503, "not_ready", "no AnoGAN model is loaded");
}

static bool parse_json_body(struct score_request *out, struct api_fail *f,
                            const struct serve_config *cfg, const struct models *ms,
                            const struct api_request *req, bool batch, struct options *o)
{
    struct json *doc = NULL;
    if (json_parse(&doc, (const char *)req->body, req->body_len) != STATUS_OK)
        return fail(f, 400, "bad_json", "%s", status_message());
    bool ok = false;
    if (!json_is_object(doc)) {
        fail(f, 400, "bad_json", "the body must be a JSON object");
        goto done;
    }
    if (!opts_from_json(o, f, cfg, doc) || !pick_model(out, f, ms, o->model) ||
        !resolve_search(out, f, cfg, o))
        goto done;
    const struct json *list = json_get(doc, batch ? "images" : "image");
    if (!list) {
        fail(f, 422, "invalid_value", batch ? "missing \"images\": [ {...}, ... ]"
                                            : "missing \"image\": {\"png_base64\": ...}");
        goto done;
    }
    if (batch) {
        if (!json_is_array(list) || json_size(list) == 0) {
            fail(f, 422, "invalid_value", "images must be a non-empty array");
            goto done;
        }
        if (json_size(list) > (size_t)cfg->max_images) {
            fail(f, 413, "too_many_images", "%zu images: at most %d per request", json_size(list),
                 cfg->max_images);
            goto done;
        }
    }
    out->n = batch ? (int)json_size(list) : 1;
    out->images = calloc((size_t)out->n, sizeof *out->images);
    if (!out->images) {
        fail(f, 503, "out_of_memory", "no memory for the images");
        goto done;
    }
    const struct json *item = batch ? json_first(list) : list;
    for (int i = 0; i < out->n; i++, item = json_next(item)) {
        char where[32];
        snprintf(where, sizeof where, batch ? "images[%d]" : "image", i);
        if (!image_from_json(&out->images[i], f, cfg, item, where))
            goto done;
    }
    ok = true;
done:
    json_free(doc);
    return ok;
}

bool score_parse(struct score_request *out, struct api_fail *f, const struct serve_config *cfg,
                 const struct models *ms, const struct api_request *req, bool batch)
{
    memset(out, 0, sizeof *out);
    struct options o = {0};
    bool ok = false;
    bool is_png = !batch && api_content_type_is(req, "image/png");
    if (!is_png && !api_content_type_is(req, "application/json")) {
        fail(f, 415, "unsupported_media_type", "Content-Type must be %s, not '%.60s'",
             batch ? "application/json" : "image/png or application/json",
             req->content_type ? req->content_type : "(none)");
        goto done;
    }
    if (req->body_len == 0) {
        fail(f, 400, "empty_body", "the request has no body");
        goto done;
    }
    if (!opts_from_query(&o, f, cfg, req))
        goto done;
    if (is_png) {
        if (!pick_model(out, f, ms, o.model) || !resolve_search(out, f, cfg, &o))
            goto done;
        out->images = calloc(1, sizeof *out->images);
        if (!out->images) {
            fail(f, 503, "out_of_memory", "no memory for the image");
            goto done;
        }
        out->n = 1;
        ok = image_from_png(&out->images[0], f, cfg, req->body, req->body_len, "body");
    } else {
        ok = parse_json_body(out, f, cfg, ms, req, batch, &o);
    }
done:
    if (!ok)
        score_request_free(out);
    return ok;
}

void score_request_free(struct score_request *r)
{
    for (int i = 0; r->images && i < r->n; i++)
        image_free(&r->images[i]);
    free(r->images);
    memset(r, 0, sizeof *r);
}
