/* api_v2: the Open Inference Protocol (KServe v2 REST, as Triton serves it) beside the daemon's
 * own routes: GET /v2 (server metadata), /v2/health/live, /v2/health/ready (503 until every model
 * is loaded and warmed), and under /v2/models/{name}[/versions/{version}]: GET (model metadata),
 * GET .../ready, POST .../infer.
 *
 * AnoGAN models take one input "image": BYTES [N] holding PNGs (base64 strings in JSON, or the
 * binary tensor extension: the Inference-Header-Content-Length header gives the JSON's length
 * and the input's parameters.binary_data_size its bytes after it, each element a 4-byte
 * little-endian length then the PNG, as Triton clients send; one raw PNG is accepted too), or
 * UINT8 [H, W, C] / [1, H, W, C] pixels. Outputs: score FP32 [N], evaluation BYTES [N],
 * result_id BYTES [N] (these three by default), reconstruction and anomaly_map BYTES [N] PNGs
 * when named in "outputs" (base64 in JSON; raw with parameters.binary_data). The request's
 * "parameters" take the option fields of POST /score (iterations, seed, part_id, station,
 * band_low, ...). GCN models take "nodes" INT64 [N] on the loaded graph and give "class"
 * INT64 [N] and "probabilities" FP32 [N, C].
 *
 * Errors use the protocol's body {"error": "message"} with Triton's statuses: 400 for a request
 * that is wrong (JSON, shape, datatype, header, values), 404 for an unknown model or path, 413
 * for an image over the limits, 503 (+ Retry-After) when not ready, busy or out of memory, 500
 * for a failure of ours. Scoring goes through score_job like POST /score. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "base64.h"
#include "json.h"
#include "models.h"
#include "pool.h"
#include "score.h"
#include "score_job.h"

#define V2_PREFIX "/v2/models/"

/* ---- answers ---- */

static enum api_result v2_error(struct api_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum api_result v2_error(struct api_response *res, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "error", msg);
    json_object_end(&w);
    res->nheaders = 0;
    api_send_json(res, status, &w);
    if (res->status == 503) {
        char s[16];
        snprintf(s, sizeof s, "%d", API_RETRY_AFTER_S);
        api_add_header(res, "Retry-After", s);
    }
    api_log(res, "v2_error=%d", status);
    return API_DONE;
}

/* The daemon's status for a refusal, as Triton would say it: the values a request got wrong
 * (422) and a wrong media type (415) are its 400. */
static int v2_status(int status)
{
    return status == 422 || status == 415 ? 400 : status;
}

/* Rewrites an answer in the daemon's error body ({"error": {"code", "message"}}) into the
 * protocol's. */
static void v2_rewrite_error(struct api_response *res)
{
    if (res->status < 400)
        return;
    char msg[512] = "error";
    struct json *doc = NULL;
    if (res->body && json_parse(&doc, (const char *)res->body, res->body_len) == STATUS_OK) {
        const char *m = json_string(json_get(json_get(doc, "error"), "message"));
        if (m)
            snprintf(msg, sizeof msg, "%s", m);
    }
    json_free(doc);
    v2_error(res, v2_status(res->status), "%s", msg);
}

/* A tensor's "name", "datatype" and "shape", into the object being written. */
static void put_tensor_head(struct json_writer *w, const char *name, const char *datatype, int rank,
                            const long long *shape)
{
    json_kv_string(w, "name", name);
    json_kv_string(w, "datatype", datatype);
    json_key_put(w, "shape");
    json_array_begin(w);
    for (int i = 0; i < rank; i++)
        json_int_put(w, shape[i]);
    json_array_end(w);
}

static void put_tensor_meta(struct json_writer *w, const char *name, const char *datatype, int rank,
                            const long long *shape)
{
    json_object_begin(w);
    put_tensor_head(w, name, datatype, rank, shape);
    json_object_end(w);
}

/* ---- server routes ---- */

enum api_result api_v2_server(struct app *app, const struct api_route *route,
                              const struct api_request *req, struct api_response *res)
{
    (void)app, (void)route, (void)req;
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "name", "inspectd");
    json_kv_string(&w, "version", INSPECTD_VERSION);
    json_key_put(&w, "extensions");
    json_array_begin(&w);
    json_string_put(&w, "binary_tensor_data");
    json_array_end(&w);
    json_object_end(&w);
    return api_send_json(res, 200, &w);
}

enum api_result api_v2_live(struct app *app, const struct api_route *route,
                            const struct api_request *req, struct api_response *res)
{
    (void)app, (void)route, (void)req;
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_bool(&w, "live", true);
    json_object_end(&w);
    return api_send_json(res, 200, &w);
}

/* Why the daemon cannot take inference requests yet, or NULL. */
static const char *v2_not_ready(const struct app *app)
{
    if (atomic_load(&app->shutting_down))
        return "the daemon is shutting down";
    if (!app->models || app->models->nanogan + app->models->ngcn == 0)
        return "no model is loaded";
    if (atomic_load(&app->warming) > 0)
        return "models are warming up";
    return NULL;
}

enum api_result api_v2_ready(struct app *app, const struct api_route *route,
                             const struct api_request *req, struct api_response *res)
{
    (void)route, (void)req;
    const char *why = v2_not_ready(app);
    if (why)
        return v2_error(res, 503, "%s", why);
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_bool(&w, "ready", true);
    json_object_end(&w);
    return api_send_json(res, 200, &w);
}

/* ---- model routes ---- */

struct v2_model {
    const struct anogan *anogan; /* one of the two */
    const struct gcn_model *gcn;
    const char *name;
    char version[13];
};

static bool find_model(struct v2_model *out, const struct models *ms, const char *name)
{
    memset(out, 0, sizeof *out);
    if (!name[0])
        return false;
    if ((out->anogan = models_anogan(ms, name))) {
        out->name = out->anogan->name;
        score_model_version(out->version, out->anogan);
        return true;
    }
    if ((out->gcn = models_gcn(ms, name))) {
        out->name = out->gcn->name;
        snprintf(out->version, sizeof out->version, "%.12s", out->gcn->gcn->info.sha256);
        return true;
    }
    return false;
}

static enum api_result model_metadata(struct api_response *res, const struct v2_model *vm)
{
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "name", vm->name);
    json_key_put(&w, "versions");
    json_array_begin(&w);
    if (vm->version[0])
        json_string_put(&w, vm->version);
    json_array_end(&w);
    json_kv_string(&w, "platform", vm->anogan ? "inspectd_anogan" : "inspectd_gcn");
    long long n[] = {-1}, nc[] = {-1, vm->gcn ? vm->gcn->gcn->nclasses : 0};
    json_key_put(&w, "inputs");
    json_array_begin(&w);
    if (vm->anogan)
        put_tensor_meta(&w, "image", "BYTES", 1, n);
    else
        put_tensor_meta(&w, "nodes", "INT64", 1, n);
    json_array_end(&w);
    json_key_put(&w, "outputs");
    json_array_begin(&w);
    if (vm->anogan) {
        put_tensor_meta(&w, "score", "FP32", 1, n);
        put_tensor_meta(&w, "evaluation", "BYTES", 1, n);
        put_tensor_meta(&w, "result_id", "BYTES", 1, n);
        put_tensor_meta(&w, "reconstruction", "BYTES", 1, n);
        put_tensor_meta(&w, "anomaly_map", "BYTES", 1, n);
    } else {
        put_tensor_meta(&w, "class", "INT64", 1, n);
        put_tensor_meta(&w, "probabilities", "FP32", 2, nc);
    }
    json_array_end(&w);
    json_object_end(&w);
    return api_send_json(res, 200, &w);
}

/* ---- infer: the request ---- */

enum v2_output { OUT_SCORE, OUT_EVALUATION, OUT_RESULT_ID, OUT_RECONSTRUCTION, OUT_ANOMALY_MAP,
                 OUT_CLASS, OUT_PROBABILITIES, NOUT };
static const char *const out_names[NOUT] = {"score", "evaluation", "result_id", "reconstruction",
                                             "anomaly_map", "class", "probabilities"};

struct v2_state {
    char id[128];
    bool has_id;
    char model_version[13];
    bool want[NOUT], binary[NOUT];
    int order[NOUT], nwant; /* outputs in the order asked */
};

/* A growable byte buffer for the binary section of an answer. */
struct bytes {
    uint8_t *p;
    size_t len, cap;
    bool failed;
};

static void bytes_put(struct bytes *b, const void *src, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void bytes_put_u32(struct bytes *b, uint32_t v)
{
    uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    bytes_put(b, le, 4);
}

/* The request's JSON part and binary part (binary extension), from the body. */
static bool split_body(struct api_response *res, const struct api_request *req, size_t *json_len)
{
    const char *h = api_header(req, "Inference-Header-Content-Length");
    *json_len = req->body_len;
    if (!h)
        return true;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(h, &end, 10);
    if (!isdigit((unsigned char)h[0]) || *end || errno || n == 0 || n > req->body_len) {
        v2_error(res, 400, "Inference-Header-Content-Length '%.40s' must be a length from 1 to "
                 "the body's %zu bytes", h, req->body_len);
        return false;
    }
    *json_len = (size_t)n;
    return true;
}

/* An input's shape: rank and dims (each >= 0). False (400 answered) otherwise. */
static bool read_shape(struct api_response *res, const struct json *in, const char *name,
                       long long *dims, int max_rank, int *rank)
{
    const struct json *sh = json_get(in, "shape");
    if (!json_is_array(sh) || (int)json_size(sh) < 1 || (int)json_size(sh) > max_rank) {
        v2_error(res, 400, "input '%s': shape must be an array of 1 to %d dimensions", name,
                 max_rank);
        return false;
    }
    *rank = 0;
    for (const struct json *d = json_first(sh); d; d = json_next(d)) {
        double v = json_number(d);
        if (!(v >= 0 && v <= 1e9) || floor(v) != v) {
            v2_error(res, 400, "input '%s': shape dimensions must be integers >= 0", name);
            return false;
        }
        dims[(*rank)++] = (long long)v;
    }
    return true;
}

/* The bytes of an input sent in the binary section: *data, *len (into the body). *binary false
 * when the input has no binary_data_size (its data is in the JSON). */
static bool take_binary(struct api_response *res, const struct api_request *req,
                        const struct json *in, const char *name, size_t *at, bool *binary,
                        const uint8_t **data, size_t *len)
{
    const struct json *bs = json_get(json_get(in, "parameters"), "binary_data_size");
    *binary = bs != NULL;
    if (!bs)
        return true;
    double v = json_number(bs);
    if (!(v >= 0) || floor(v) != v || v > (double)(req->body_len - *at)) {
        v2_error(res, 400, "input '%s': binary_data_size %s is more than the %zu bytes after "
                 "the JSON header", name, json_is_number(bs) ? "" : "(not a number)",
                 req->body_len - *at);
        return false;
    }
    *data = req->body + *at;
    *len = (size_t)v;
    *at += (size_t)v;
    return true;
}

/* Parses the "image" input into j->sr.images. */
static bool parse_image_input(struct api_response *res, struct score_job *j,
                              const struct serve_config *cfg, const struct api_request *req,
                              const struct json *in, size_t *at)
{
    const char *dt = json_string(json_get(in, "datatype"));
    long long dims[4];
    int rank;
    if (!dt) {
        v2_error(res, 400, "input 'image': datatype must be \"BYTES\" or \"UINT8\"");
        return false;
    }
    if (!read_shape(res, in, "image", dims, 4, &rank))
        return false;
    bool binary;
    const uint8_t *bin = NULL;
    size_t blen = 0;
    if (!take_binary(res, req, in, "image", at, &binary, &bin, &blen))
        return false;
    const struct json *data = json_get(in, "data");
    if (!binary && !json_is_array(data)) {
        v2_error(res, 400, "input 'image': no \"data\" array and no binary_data_size");
        return false;
    }
    struct api_fail f;
    if (!strcmp(dt, "BYTES")) {
        if (rank != 1 || dims[0] < 1 || dims[0] > cfg->max_images) {
            v2_error(res, rank != 1 ? 400 : 413,
                     "input 'image': BYTES shape must be [N] with 1 <= N <= %d", cfg->max_images);
            return false;
        }
        int n = (int)dims[0];
        if (!binary && (long long)json_size(data) != n) {
            v2_error(res, 400, "input 'image': shape [%d] but %zu data elements", n,
                     json_size(data));
            return false;
        }
        if (!(j->sr.images = calloc((size_t)n, sizeof *j->sr.images))) {
            v2_error(res, 503, "no memory for the images");
            return false;
        }
        j->sr.n = n;
        const struct json *e = binary ? NULL : json_first(data);
        size_t off = 0;
        for (int i = 0; i < n; i++) {
            char where[32];
            snprintf(where, sizeof where, "image[%d]", i);
            const uint8_t *png;
            size_t plen;
            uint8_t *decoded = NULL;
            if (binary) {
                /* Triton's BYTES: a 4-byte little-endian length, then the bytes; one raw PNG
                 * (starting with its signature) is taken as it is */
                if (n == 1 && blen >= 8 && !memcmp(bin, "\x89PNG", 4)) {
                    png = bin;
                    plen = blen;
                } else {
                    if (blen - off < 4) {
                        v2_error(res, 400, "%s: binary data ends before its 4-byte length",
                                 where);
                        return false;
                    }
                    const uint8_t *p = bin + off;
                    plen = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
                           (size_t)p[3] << 24;
                    if (plen > blen - off - 4) {
                        v2_error(res, 400, "%s: element of %zu bytes runs past the input's "
                                 "binary_data_size", where, plen);
                        return false;
                    }
                    png = p + 4;
                    off += 4 + plen;
                }
            } else {
                const char *text = json_string(e);
                if (!text) {
                    v2_error(res, 400, "%s: BYTES elements in JSON must be base64 strings", where);
                    return false;
                }
                size_t tl = strlen(text);
                if (!(decoded = malloc(base64_decoded_max(tl) + 1))) {
                    v2_error(res, 503, "no memory to decode base64");
                    return false;
                }
                if (!base64_decode(decoded, &plen, text, tl)) {
                    free(decoded);
                    v2_error(res, 400, "%s: not valid base64", where);
                    return false;
                }
                png = decoded;
                e = json_next(e);
            }
            bool ok = score_image_from_png(&j->sr.images[i], &f, cfg, png, plen, where);
            free(decoded);
            if (!ok) {
                v2_error(res, v2_status(f.status), "%s", f.message);
                return false;
            }
        }
        if (binary && off && off != blen) {
            v2_error(res, 400, "input 'image': %zu bytes left over in its binary data",
                     blen - off);
            return false;
        }
        return true;
    }
    if (!strcmp(dt, "UINT8")) {
        if (rank == 4 && dims[0] == 1) {
            dims[0] = dims[1], dims[1] = dims[2], dims[2] = dims[3];
            rank = 3;
        }
        if (rank != 3 || dims[0] < 1 || dims[1] < 1 || dims[2] < 1 || dims[2] > 4) {
            v2_error(res, 400, "input 'image': UINT8 shape must be [H, W, C] (or [1, H, W, C]) "
                     "with C from 1 to 4");
            return false;
        }
        long long h = dims[0], w = dims[1], c = dims[2];
        if (w > cfg->max_side || h > cfg->max_side || (size_t)(w * h) > cfg->max_pixels) {
            v2_error(res, 413, "input 'image': %lldx%lld is over the limits (side %d, pixels "
                     "%zu)", w, h, cfg->max_side, cfg->max_pixels);
            return false;
        }
        size_t want = (size_t)(w * h * c);
        if (binary ? blen != want : json_size(data) != want) {
            v2_error(res, 400, "input 'image': shape [%lld, %lld, %lld] needs %zu values, got "
                     "%zu", h, w, c, want, binary ? blen : json_size(data));
            return false;
        }
        if (!(j->sr.images = calloc(1, sizeof *j->sr.images)) ||
            image_alloc(&j->sr.images[0], (int)w, (int)h, (int)c) != STATUS_OK) {
            v2_error(res, 503, "no memory for the image");
            return false;
        }
        j->sr.n = 1;
        if (binary) {
            memcpy(j->sr.images[0].pixels, bin, want);
            return true;
        }
        size_t k = 0;
        for (const struct json *e = json_first(data); e; e = json_next(e), k++) {
            double v = json_number(e);
            if (!(v >= 0 && v <= 255) || floor(v) != v) {
                v2_error(res, 400, "input 'image': data[%zu] is not an integer from 0 to 255", k);
                return false;
            }
            j->sr.images[0].pixels[k] = (uint8_t)v;
        }
        return true;
    }
    v2_error(res, 400, "input 'image': datatype %.20s is not supported (BYTES holding PNGs, or "
             "UINT8 [H, W, C])", dt);
    return false;
}

/* The "outputs" asked for (default: defaults[]), with binary_data flags. */
static bool parse_outputs(struct api_response *res, struct v2_state *st, const struct json *doc,
                          bool gcn)
{
    bool all_binary = json_bool(json_get(json_get(doc, "parameters"), "binary_data_output"));
    const struct json *outs = json_get(doc, "outputs");
    if (outs && !json_is_array(outs)) {
        v2_error(res, 400, "outputs must be an array of {\"name\": ...}");
        return false;
    }
    if (!outs || json_size(outs) == 0) {
        static const enum v2_output anogan_default[] = {OUT_SCORE, OUT_EVALUATION, OUT_RESULT_ID};
        static const enum v2_output gcn_default[] = {OUT_CLASS, OUT_PROBABILITIES};
        const enum v2_output *d = gcn ? gcn_default : anogan_default;
        int nd = gcn ? 2 : 3;
        for (int i = 0; i < nd; i++) {
            st->want[d[i]] = true;
            st->binary[d[i]] = all_binary;
            st->order[st->nwant++] = d[i];
        }
        return true;
    }
    for (const struct json *o = json_first(outs); o; o = json_next(o)) {
        const char *name = json_string(json_get(o, "name"));
        int k = -1;
        for (int i = 0; name && i < NOUT; i++)
            if (!strcmp(name, out_names[i]) &&
                (gcn ? i >= OUT_CLASS : i < OUT_CLASS))
                k = i;
        if (k < 0) {
            v2_error(res, 400, "unknown output '%.64s' (%s)", name ? name : "(no name)",
                     gcn ? "class, probabilities"
                         : "score, evaluation, result_id, reconstruction, anomaly_map");
            return false;
        }
        if (st->want[k])
            continue;
        const struct json *bd = json_get(json_get(o, "parameters"), "binary_data");
        st->want[k] = true;
        st->binary[k] = bd ? json_bool(bd) : all_binary;
        st->order[st->nwant++] = k;
    }
    return true;
}

/* ---- infer: the answer ---- */

/* Opens one output's JSON entry; its data then goes into the JSON ("data", opened here) or,
 * binary, into the binary section. */
static void output_begin(struct json_writer *w, const char *name, const char *datatype, int rank,
                         const long long *shape, bool binary)
{
    json_object_begin(w);
    put_tensor_head(w, name, datatype, rank, shape);
    if (!binary) {
        json_key_put(w, "data");
        json_array_begin(w);
    }
}

/* Closes the entry output_begin opened; binary: with the size of the bytes it put there. */
static void output_end(struct json_writer *w, bool binary, size_t binary_size)
{
    if (binary) {
        json_key_put(w, "parameters");
        json_object_begin(w);
        json_kv_int(w, "binary_data_size", (long long)binary_size);
        json_object_end(w);
    } else {
        json_array_end(w);
    }
    json_object_end(w);
}

/* A BYTES element: base64 into the JSON array, or length + bytes into bin. */
static void put_bytes_elem(struct json_writer *w, struct bytes *bin, bool binary,
                           const uint8_t *p, size_t n, bool text)
{
    if (binary) {
        bytes_put_u32(bin, (uint32_t)n);
        bytes_put(bin, p, n);
    } else if (text) {
        json_string_put(w, (const char *)p);
    } else {
        json_base64_put(w, p, n);
    }
}

/* Finishes the answer: JSON alone, or JSON + binary section with its header. */
static void send_infer(struct api_response *res, struct json_writer *w, struct bytes *bin)
{
    size_t len;
    char *body = json_writer_finish(w, &len);
    if (!body || bin->failed) {
        free(body);
        free(bin->p);
        v2_error(res, 503, "no memory for the answer");
        return;
    }
    if (!bin->len) {
        free(bin->p);
        api_set_body(res, 200, "application/json", body, len);
        return;
    }
    char *all = realloc(body, len + bin->len);
    if (!all) {
        free(body);
        free(bin->p);
        v2_error(res, 503, "no memory for the answer");
        return;
    }
    memcpy(all + len, bin->p, bin->len);
    free(bin->p);
    char h[24];
    snprintf(h, sizeof h, "%zu", len);
    api_set_body(res, 200, "application/octet-stream", all, len + bin->len);
    api_add_header(res, "Inference-Header-Content-Length", h);
}

static void begin_answer(struct json_writer *w, const char *model, const struct v2_state *st)
{
    json_writer_init(w);
    json_object_begin(w);
    json_kv_string(w, "model_name", model);
    if (st->model_version[0])
        json_kv_string(w, "model_version", st->model_version);
    if (st->has_id)
        json_kv_string(w, "id", st->id);
}

static void v2_answer(struct score_job *j)
{
    struct api_response *res = j->res;
    const struct v2_state *st = j->user;
    if (j->pj.status != STATUS_OK) {
        score_job_answer_failure(j);
        v2_rewrite_error(res);
        return;
    }
    const struct score_request *sr = &j->sr;
    const struct anogan *m = sr->model;
    size_t isize = anogan_image_size(m);
    int n = sr->n;
    long long shape[] = {n};
    struct json_writer w;
    struct bytes bin = {0};
    begin_answer(&w, m->name, st);
    json_key_put(&w, "parameters");
    json_object_begin(&w);
    if (sr->part_id[0])
        json_kv_string(&w, "part_id", sr->part_id);
    if (sr->station[0])
        json_kv_string(&w, "station", sr->station);
    json_kv_int(&w, "batch", j->pj.batch);
    json_kv_number(&w, "queue_ms", (float)j->pj.wait_ms);
    json_object_end(&w);
    json_key_put(&w, "outputs");
    json_array_begin(&w);
    bool ok = true;
    for (int oi = 0; oi < st->nwant && ok; oi++) {
        int k = st->order[oi];
        bool b = st->binary[k];
        size_t before = bin.len;
        output_begin(&w, out_names[k], k == OUT_SCORE ? "FP32" : "BYTES", 1, shape, b);
        for (int i = 0; i < n && ok; i++) {
            const float *x = j->x + (size_t)i * isize, *g = j->recon + (size_t)i * isize;
            if (k == OUT_SCORE) {
                float v = j->results[i].score;
                if (b)
                    bytes_put(&bin, &v, sizeof v); /* little-endian hosts (x86, arm64) */
                else
                    json_number_put(&w, v);
            } else if (k == OUT_EVALUATION) {
                const char *v = verdict_name(score_verdict(sr, j->results[i].score, NULL, NULL));
                put_bytes_elem(&w, &bin, b, (const uint8_t *)v, strlen(v), true);
            } else if (k == OUT_RESULT_ID) {
                const char *id = j->result_ids[i];
                put_bytes_elem(&w, &bin, b, (const uint8_t *)id, strlen(id), true);
            } else {
                uint8_t *png = NULL;
                size_t len = 0;
                enum status s =
                    k == OUT_RECONSTRUCTION
                        ? score_reconstruction_png(&png, &len, m, g, j->width[i], j->height[i])
                        : score_anomaly_map_png(&png, &len, m, x, g, j->width[i], j->height[i]);
                ok = s == STATUS_OK;
                if (ok)
                    put_bytes_elem(&w, &bin, b, png, len, false);
                free(png);
            }
        }
        output_end(&w, b, bin.len - before);
    }
    json_array_end(&w);
    json_object_end(&w);
    if (!ok) {
        json_writer_discard(&w);
        free(bin.p);
        v2_error(res, 503, "no memory for the pictures: %s", status_message());
        return;
    }
    send_infer(res, &w, &bin);
    if (res->status == 200)
        score_job_publish(j);
    api_log(res, "model=%s images=%d batch=%d", m->name, n, j->pj.batch);
}

/* GCN: classes of nodes of the loaded graph, on this thread (the cache holds them). */
static void gcn_infer(struct api_response *res, const struct app *app,
                      const struct gcn_model *gm, const struct api_request *req,
                      const struct json *doc, const struct v2_state *st, size_t at)
{
    const struct json *inputs = json_get(doc, "inputs");
    const struct json *in = json_first(inputs);
    const char *name = json_string(json_get(in, "name"));
    if (json_size(inputs) != 1 || !name || strcmp(name, "nodes")) {
        v2_error(res, 400, "model '%s' takes one input, \"nodes\" (INT64 [N])", gm->name);
        return;
    }
    const char *dt = json_string(json_get(in, "datatype"));
    if (!dt || strcmp(dt, "INT64")) {
        v2_error(res, 400, "input 'nodes': datatype must be \"INT64\", not %.20s",
                 dt ? dt : "(none)");
        return;
    }
    long long dims[1];
    int rank;
    if (!read_shape(res, in, "nodes", dims, 1, &rank))
        return;
    bool binary;
    const uint8_t *bin = NULL;
    size_t blen = 0;
    if (!take_binary(res, req, in, "nodes", &at, &binary, &bin, &blen))
        return;
    size_t n = (size_t)dims[0];
    const struct json *data = json_get(in, "data");
    if (n < 1 || n > 100000 || (binary ? blen != n * 8 : !json_is_array(data) ||
                                                            json_size(data) != n)) {
        v2_error(res, 400, "input 'nodes': shape [%zu] needs 1 to 100000 ids in its data", n);
        return;
    }
    if (!gm->cache) {
        v2_error(res, 400, "model '%s' has no loaded graph to classify nodes of (--graph)",
                 gm->name);
        return;
    }
    int64_t *ids = malloc(n * sizeof *ids);
    struct gcn_node_class *out = calloc(n, sizeof *out);
    if (!ids || !out) {
        free(ids);
        free(out);
        v2_error(res, 503, "no memory for the nodes");
        return;
    }
    if (binary) {
        memcpy(ids, bin, n * 8);
    } else {
        size_t k = 0;
        for (const struct json *e = json_first(data); e; e = json_next(e), k++) {
            double v = json_number(e);
            if (!(fabs(v) < 9e15) || floor(v) != v) {
                v2_error(res, 400, "input 'nodes': data[%zu] is not an integer", k);
                goto done;
            }
            ids[k] = (int64_t)v;
        }
    }
    enum status s = gcn_cache_query(out, gm->cache, ids, n);
    if (s == STATUS_NOT_FOUND) {
        v2_error(res, 400, "%s", status_message());
        goto done;
    }
    if (s) {
        v2_error(res, 500, "%s", status_message());
        goto done;
    }
    int C = gm->cache->nclasses;
    struct json_writer w;
    struct bytes b = {0};
    begin_answer(&w, gm->name, st);
    json_key_put(&w, "outputs");
    json_array_begin(&w);
    for (int oi = 0; oi < st->nwant; oi++) {
        int k = st->order[oi];
        bool bo = st->binary[k];
        size_t before = b.len;
        long long sh[] = {(long long)n, C};
        output_begin(&w, out_names[k], k == OUT_CLASS ? "INT64" : "FP32", k == OUT_CLASS ? 1 : 2,
                     sh, bo);
        for (size_t i = 0; i < n; i++) {
            if (k == OUT_CLASS) {
                int64_t c = out[i].cls;
                if (bo)
                    bytes_put(&b, &c, sizeof c);
                else
                    json_int_put(&w, c);
            } else {
                for (int c = 0; c < C; c++) {
                    if (bo)
                        bytes_put(&b, &out[i].prob[c], sizeof(float));
                    else
                        json_number_put(&w, out[i].prob[c]);
                }
            }
        }
        output_end(&w, bo, b.len - before);
    }
    json_array_end(&w);
    json_object_end(&w);
    send_infer(res, &w, &b);
    (void)app;
done:
    free(ids);
    free(out);
}

static enum api_result infer(struct app *app, const struct api_request *req,
                             struct api_response *res, const struct v2_model *vm)
{
    /* Readiness is checked after parsing, so a bad request is told what is wrong with it
     * whatever the daemon's state (and the parser can be fuzzed without a pool). */
    const char *why = v2_not_ready(app);
    if (req->body_len == 0)
        return v2_error(res, 400, "the request has no body");
    size_t json_len;
    if (!split_body(res, req, &json_len))
        return API_DONE;
    struct json *doc = NULL;
    enum status s = json_parse(&doc, (const char *)req->body, json_len);
    if (s == STATUS_NOMEM)
        return v2_error(res, 503, "%s", status_message());
    if (s != STATUS_OK)
        return v2_error(res, 400, "the request is not valid JSON: %s", status_message());
    struct score_job *j = NULL;
    struct v2_state *st = calloc(1, sizeof *st);
    enum api_result r = API_DONE;
    if (!st) {
        v2_error(res, 503, "no memory for the request");
        goto done;
    }
    if (!json_is_object(doc)) {
        v2_error(res, 400, "the request must be a JSON object");
        goto done;
    }
    snprintf(st->model_version, sizeof st->model_version, "%s", vm->version);
    const struct json *id = json_get(doc, "id");
    if (id && !json_is_null(id)) {
        const char *ids = json_string(id);
        if (!ids || strlen(ids) >= sizeof st->id) {
            v2_error(res, 400, "id must be a string of at most %zu characters",
                     sizeof st->id - 1);
            goto done;
        }
        snprintf(st->id, sizeof st->id, "%s", ids);
        st->has_id = true;
    }
    const struct json *inputs = json_get(doc, "inputs");
    if (!json_is_array(inputs) || json_size(inputs) == 0) {
        v2_error(res, 400, "inputs must be a non-empty array");
        goto done;
    }
    if (!parse_outputs(res, st, doc, vm->gcn != NULL))
        goto done;
    if (vm->gcn) {
        if (why)
            v2_error(res, 503, "%s", why);
        else
            gcn_infer(res, app, vm->gcn, req, doc, st, json_len);
        goto done;
    }
    const struct json *in = json_first(inputs);
    const char *name = json_string(json_get(in, "name"));
    if (json_size(inputs) != 1 || !name || strcmp(name, "image")) {
        v2_error(res, 400, "model '%s' takes one input, \"image\" (BYTES [N] PNGs or UINT8 "
                 "[H, W, C])", vm->name);
        goto done;
    }
    if (!(j = score_job_create())) {
        v2_error(res, 503, "no memory for the request");
        goto done;
    }
    struct api_fail f;
    if (!score_options_from_json(&j->sr, &f, app->cfg, app->models, vm->name,
                                 json_get(doc, "parameters"))) {
        v2_error(res, v2_status(f.status), "%s", f.message);
        goto done;
    }
    size_t at = json_len;
    if (!parse_image_input(res, j, app->cfg, req, in, &at))
        goto done;
    if (why) {
        v2_error(res, 503, "%s", why);
        goto done;
    }
    j->sr.reconstruction = st->want[OUT_RECONSTRUCTION];
    j->sr.anomaly_map = st->want[OUT_ANOMALY_MAP];
    j->answer = v2_answer;
    j->error_shape = v2_rewrite_error;
    j->user = st;
    j->user_free = free;
    st = NULL;
    r = score_job_submit(j, app, req, res); /* takes j */
    j = NULL;
    if (r == API_DONE)
        v2_rewrite_error(res);
done:
    score_job_free(j);
    free(st);
    json_free(doc);
    return r;
}

enum api_result api_v2_models(struct app *app, const struct api_route *route,
                              const struct api_request *req, struct api_response *res)
{
    (void)route;
    /* {name}[/versions/{version}][/ready | /infer] */
    char name[128], version[64] = "", rest[16] = "";
    const char *p = req->path + strlen(V2_PREFIX);
    size_t nl = strcspn(p, "/");
    if (nl == 0 || nl >= sizeof name)
        return v2_error(res, 404, "no such model");
    memcpy(name, p, nl);
    name[nl] = 0;
    p += nl;
    if (!strncmp(p, "/versions/", 10)) {
        p += 10;
        size_t vl = strcspn(p, "/");
        if (vl == 0 || vl >= sizeof version)
            return v2_error(res, 404, "no such model version");
        memcpy(version, p, vl);
        version[vl] = 0;
        p += vl;
    }
    if (*p) {
        if (strlen(p) >= sizeof rest || (strcmp(p, "/ready") && strcmp(p, "/infer")))
            return v2_error(res, 404, "no such endpoint: %.100s", req->path);
        snprintf(rest, sizeof rest, "%s", p + 1);
    }
    bool post = !strcmp(req->method, "POST");
    if (post != !strcmp(rest, "infer")) {
        v2_error(res, 405, "%s is not allowed on %.100s", req->method, req->path);
        api_add_header(res, "Allow", post ? "GET" : "POST");
        return API_DONE;
    }
    struct v2_model vm;
    if (!find_model(&vm, app->models, name))
        return v2_error(res, 404, "unknown model '%s' (see GET /models)", name);
    if (version[0] && strcmp(version, vm.version))
        return v2_error(res, 404, "model '%s' has no version '%s' (it is '%s')", name, version,
                        vm.version);
    if (!rest[0])
        return model_metadata(res, &vm);
    if (!strcmp(rest, "ready")) {
        const char *why = v2_not_ready(app);
        struct json_writer w;
        json_writer_init(&w);
        json_object_begin(&w);
        json_kv_string(&w, "name", vm.name);
        json_kv_bool(&w, "ready", why == NULL);
        json_object_end(&w);
        return api_send_json(res, why ? 503 : 200, &w);
    }
    return infer(app, req, res, &vm);
}
