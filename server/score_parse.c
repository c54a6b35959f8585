/* score_parse: validating a scoring request (see score.h). Options come from the query string
 * (strings) and, for JSON bodies, from the body (typed values, which win). Numbers are checked
 * by core/parse.c, in the words the command line uses; every refusal names the field and what
 * was expected. Search settings are resolved by core (anogan_search_resolve). */
#include "score.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "models.h"
#include "parse.h"

static bool vfail(struct api_fail *f, int status, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static bool vfail(struct api_fail *f, int status, const char *code, const char *fmt, va_list ap)
{
    f->status = status;
    snprintf(f->code, sizeof f->code, "%s", code);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    return false;
}

static bool fail(struct api_fail *f, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool fail(struct api_fail *f, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(f, status, code, fmt, ap);
    va_end(ap);
    return false;
}

/* A refusal for a core status, with the HTTP status and code of the one mapping
 * (api_http_status: STATUS_NOMEM is 503 out_of_memory). */
static bool fail_status(struct api_fail *f, enum status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail_status(struct api_fail *f, enum status s, const char *fmt, ...)
{
    const char *code;
    int status = api_http_status(s, &code);
    va_list ap;
    va_start(ap, fmt);
    vfail(f, status, code, fmt, ap);
    va_end(ap);
    return false;
}

struct options {
    const char *model;
    struct anogan_search_layer search; /* the request's layer: what it leaves out is not set */
    bool reconstruction, anomaly_map;
    const char *part_id, *station;     /* checked when applied (apply_line) */
    bool has_band_low, has_band_high, has_region_threshold, has_deadline;
    int deadline_ms;
    float band_low, band_high, region_threshold;
};

/* A value refused by core/parse.c: 422 in the parser's words. */
static bool refused(struct api_fail *f)
{
    return fail(f, 422, "invalid_value", "%s", status_message());
}

/* ---- query strings (text) ---- */

static bool q_int(struct api_fail *f, const char *name, const char *v, int hi, int *out,
                  bool *has)
{
    long long n;
    if (parse_int(&n, name, v, 0, hi))
        return refused(f);
    *out = (int)n;
    return *has = true;
}

static bool q_float(struct api_fail *f, const char *name, const char *v, double lo, double hi,
                    float *out, bool *has)
{
    double d;
    if (parse_float(&d, name, v, lo, hi))
        return refused(f);
    *out = (float)d;
    return *has = true;
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
    struct anogan_search_layer *s = &o->search;
    const char *v;
    int mode;
    if ((v = api_query(req, "model")))
        o->model = v;
    if ((v = api_query(req, "search"))) {
        if (parse_choice(&mode, "search", v, ANOGAN_MODE_CHOICES))
            return refused(f);
        s->mode = (enum anogan_mode)mode;
        s->has_mode = true;
    }
    if ((v = api_query(req, "iterations")) &&
        !q_int(f, "iterations", v, cfg->max_iterations, &s->iterations, &s->has_iterations))
        return false;
    if ((v = api_query(req, "patience")) &&
        !q_int(f, "patience", v, cfg->max_iterations, &s->patience, &s->has_patience))
        return false;
    if ((v = api_query(req, "lr")) && !q_float(f, "lr", v, 1e-8, 10, &s->lr, &s->has_lr))
        return false;
    if ((v = api_query(req, "tol")) && !q_float(f, "tol", v, 0, 1, &s->tol, &s->has_tol))
        return false;
    if ((v = api_query(req, "seed"))) {
        if (parse_u64(&s->seed, "seed", v))
            return refused(f);
        s->has_seed = true;
    }
    if ((v = api_query(req, "part_id")))
        o->part_id = v;
    if ((v = api_query(req, "station")))
        o->station = v;
    if ((v = api_query(req, "band_low")) &&
        !q_float(f, "band_low", v, -1e30, 1e30, &o->band_low, &o->has_band_low))
        return false;
    if ((v = api_query(req, "band_high")) &&
        !q_float(f, "band_high", v, -1e30, 1e30, &o->band_high, &o->has_band_high))
        return false;
    if ((v = api_query(req, "region_threshold")) &&
        !q_float(f, "region_threshold", v, 1e-6, 1, &o->region_threshold,
                 &o->has_region_threshold))
        return false;
    if ((v = api_query(req, "deadline_ms")) &&
        !q_int(f, "deadline_ms", v, SCORE_MAX_DEADLINE_MS, &o->deadline_ms, &o->has_deadline))
        return false;
    if ((v = api_query(req, "reconstruction")) && !q_bool(v, &o->reconstruction))
        return fail(f, 422, "invalid_value", "reconstruction must be true or false");
    if ((v = api_query(req, "anomaly_map")) && !q_bool(v, &o->anomaly_map))
        return fail(f, 422, "invalid_value", "anomaly_map must be true or false");
    return true;
}

/* ---- JSON values (numbers already parsed) ---- */

static bool j_int(struct api_fail *f, const char *name, const struct json *j, double lo,
                  double hi, int *out)
{
    long long n;
    if (parse_check_int(&n, name, json_number(j), (long long)lo, (long long)hi))
        return refused(f);
    *out = (int)n;
    return true;
}

static bool j_float(struct api_fail *f, const char *name, const struct json *j, double lo,
                    double hi, float *out, bool *has)
{
    double d;
    if (parse_check_float(&d, name, json_number(j), lo, hi))
        return refused(f);
    *out = (float)d;
    return *has = true;
}

static bool opts_from_json(struct options *o, struct api_fail *f, const struct serve_config *cfg,
                           const struct json *doc)
{
    struct anogan_search_layer *s = &o->search;
    const struct json *v;
    int mode;
    if ((v = json_get(doc, "model")) && !json_is_null(v)) {
        if (!(o->model = json_string(v)))
            return fail(f, 422, "invalid_value", "model must be a string, not %s",
                        json_type_name(v));
    }
    if ((v = json_get(doc, "search")) && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(f, 422, "invalid_value", "search: expected \"auto\", \"random\" or "
                        "\"encoder\", not %s", json_type_name(v));
        if (parse_choice(&mode, "search", json_string(v), ANOGAN_MODE_CHOICES))
            return refused(f);
        s->mode = (enum anogan_mode)mode;
        s->has_mode = true;
    }
    if ((v = json_get(doc, "iterations")) &&
        !(s->has_iterations = j_int(f, "iterations", v, 0, cfg->max_iterations, &s->iterations)))
        return false;
    if ((v = json_get(doc, "patience")) &&
        !(s->has_patience = j_int(f, "patience", v, 0, cfg->max_iterations, &s->patience)))
        return false;
    if ((v = json_get(doc, "lr")) && !j_float(f, "lr", v, 1e-8, 10, &s->lr, &s->has_lr))
        return false;
    if ((v = json_get(doc, "tol")) && !j_float(f, "tol", v, 0, 1, &s->tol, &s->has_tol))
        return false;
    if ((v = json_get(doc, "seed"))) {
        /* JSON numbers hold integers exactly up to 2^53; larger seeds come as decimal strings */
        long long n;
        if (json_is_string(v) ? parse_u64(&s->seed, "seed", json_string(v))
                              : parse_check_int(&n, "seed", json_number(v), 0, 1LL << 53))
            return fail(f, 422, "invalid_value", "%s (seeds above 2^53 as a decimal string)",
                        status_message());
        if (!json_is_string(v))
            s->seed = (uint64_t)n;
        s->has_seed = true;
    }
    static const char *const ids[] = {"part_id", "station"};
    for (int i = 0; i < 2; i++)
        if ((v = json_get(doc, ids[i])) && !json_is_null(v)) {
            if (!json_is_string(v))
                return fail(f, 422, "invalid_value", "%s must be a string, not %s", ids[i],
                            json_type_name(v));
            *(i ? &o->station : &o->part_id) = json_string(v);
        }
    if ((v = json_get(doc, "band_low")) &&
        !j_float(f, "band_low", v, -1e30, 1e30, &o->band_low, &o->has_band_low))
        return false;
    if ((v = json_get(doc, "band_high")) &&
        !j_float(f, "band_high", v, -1e30, 1e30, &o->band_high, &o->has_band_high))
        return false;
    if ((v = json_get(doc, "region_threshold")) &&
        !j_float(f, "region_threshold", v, 1e-6, 1, &o->region_threshold,
                 &o->has_region_threshold))
        return false;
    if ((v = json_get(doc, "deadline_ms")) &&
        !(o->has_deadline = j_int(f, "deadline_ms", v, 1, SCORE_MAX_DEADLINE_MS,
                                  &o->deadline_ms)))
        return false;
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
        return fail_status(f, s, "%s: no memory to decode the image", where);
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
        return fail_status(f, STATUS_NOMEM, "%s: no memory to decode base64", where);
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
    int w = 0, h = 0, c = 1;
    char name[48];
    const struct json *pix = json_get(j, "pixels");
    snprintf(name, sizeof name, "%s.width", where);
    if (!j_int(f, name, json_get(j, "width"), 1, 1e9, &w))
        return false;
    snprintf(name, sizeof name, "%s.height", where);
    if (!j_int(f, name, json_get(j, "height"), 1, 1e9, &h))
        return false;
    snprintf(name, sizeof name, "%s.channels", where);
    if (json_get(j, "channels") && !j_int(f, name, json_get(j, "channels"), 1, 4, &c))
        return false;
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
        return fail_status(f, STATUS_NOMEM, "%s: no memory for the image", where);
    size_t k = 0;
    for (const struct json *p = json_first(pix); p; p = json_next(p), k++) {
        double v = json_number(p);
        if (!(v >= 0 && v <= 255) || floor(v) != v) { /* the fast check; the parser words it */
            long long unused;
            snprintf(name, sizeof name, "%s.pixels[%zu]", where, k);
            parse_check_int(&unused, name, v, 0, 255);
            image_free(img);
            return refused(f);
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

/* The search the request runs: the model's defaults, the daemon's settings, the request's fields
 * (anogan_search_resolve, as `inspectd score` and `inspectd eval` do). */
static bool resolve_search(struct score_request *out, struct api_fail *f,
                           const struct serve_config *cfg, const struct options *o)
{
    if (anogan_search_resolve(&out->search, &out->seed, out->model, &cfg->search, &o->search))
        return fail(f, 422, "invalid_value", "%s", status_message());
    /* requests asking for more are refused above; this caps steps that --iterations set */
    if (out->search.iterations > cfg->max_iterations)
        out->search.iterations = cfg->max_iterations;
    out->reconstruction = o->reconstruction;
    out->anomaly_map = o->anomaly_map;
    return true;
}

/* An identifier a line sends (part_id, station): see SCORE_ID_MAX. */
static bool copy_id(char *dst, struct api_fail *f, const char *name, const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > SCORE_ID_MAX)
        return fail(f, 422, "invalid_value", "%s: %zu characters, expected 1 to %d", name, n,
                    SCORE_ID_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return fail(f, 422, "invalid_value",
                        "%s: character %zu (0x%02x) is not one of A-Z a-z 0-9 . _ : -", name,
                        i + 1, c);
    }
    memcpy(dst, v, n + 1);
    return true;
}

/* The line's fields (identity, band, regions) into out, checked. */
static bool apply_line(struct score_request *out, struct api_fail *f, const struct options *o)
{
    if ((o->part_id && !copy_id(out->part_id, f, "part_id", o->part_id)) ||
        (o->station && !copy_id(out->station, f, "station", o->station)))
        return false;
    out->region_threshold = o->has_region_threshold ? o->region_threshold
                                                    : SCORE_REGION_THRESHOLD;
    if (o->has_deadline && o->deadline_ms < 1)
        return fail(f, 422, "invalid_value", "deadline_ms must be from 1 to %d",
                    SCORE_MAX_DEADLINE_MS);
    out->deadline_ms = o->has_deadline ? o->deadline_ms : 0;
    if (o->has_band_low != o->has_band_high)
        return fail(f, 422, "invalid_value", "band_low and band_high come together (%s is "
                    "missing)", o->has_band_low ? "band_high" : "band_low");
    if (!o->has_band_low)
        return true;
    const struct anogan_calibration *cal = &out->model->cal;
    if (!(o->band_low <= o->band_high))
        return fail(f, 422, "invalid_value", "band_low %g is above band_high %g", o->band_low,
                    o->band_high);
    if (cal->present && !verdict_band_valid(o->band_low, o->band_high, cal->threshold))
        return fail(f, 422, "invalid_value",
                    "band_low %g .. band_high %g must hold the threshold %g of model '%s'",
                    o->band_low, o->band_high, cal->threshold, out->model->name);
    out->has_band = true;
    out->band_low = o->band_low;
    out->band_high = o->band_high;
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
    enum status s = json_parse(&doc, (const char *)req->body, req->body_len);
    if (s == STATUS_NOMEM)
        return fail_status(f, s, "%s", status_message());
    if (s != STATUS_OK)
        return fail(f, 400, "bad_json", "%s", status_message());
    bool ok = false;
    if (!json_is_object(doc)) {
        fail(f, 400, "bad_json", "the body must be a JSON object");
        goto done;
    }
    if (!opts_from_json(o, f, cfg, doc) || !pick_model(out, f, ms, o->model) ||
        !resolve_search(out, f, cfg, o) || !apply_line(out, f, o))
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
        fail_status(f, STATUS_NOMEM, "no memory for the images");
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

bool score_options_from_json(struct score_request *out, struct api_fail *f,
                             const struct serve_config *cfg, const struct models *ms,
                             const char *model, const struct json *params)
{
    struct options o = {0};
    if (params && !json_is_object(params))
        return fail(f, 400, "bad_json", "parameters must be a JSON object");
    if (params && !opts_from_json(&o, f, cfg, params))
        return false;
    if (model)
        o.model = model;
    return pick_model(out, f, ms, o.model) && resolve_search(out, f, cfg, &o) &&
           apply_line(out, f, &o);
}

bool score_image_from_png(struct image *img, struct api_fail *f, const struct serve_config *cfg,
                          const uint8_t *bytes, size_t len, const char *where)
{
    return image_from_png(img, f, cfg, bytes, len, where);
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
        if (!pick_model(out, f, ms, o.model) || !resolve_search(out, f, cfg, &o) ||
            !apply_line(out, f, &o))
            goto done;
        out->images = calloc(1, sizeof *out->images);
        if (!out->images) {
            fail_status(f, STATUS_NOMEM, "no memory for the image");
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
