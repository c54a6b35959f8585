/* test_api: the daemon's request and answer handling without sockets: the status -> HTTP mapping
 * and Retry-After, base64, the JSON reader and writer, the settings' defaults, the bearer check,
 * the route table, score_parse against every refusal it promises (status and code), and the
 * reconstruction / anomaly-map PNGs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "base64.h"
#include "config.h"
#include "http.h"
#include "json.h"
#include "models.h"
#include "score.h"
#include "testutil.h"

/* ---- errors: the one status mapping, Retry-After ---- */

static const char *header(const struct api_response *res, const char *name, int *count)
{
    const char *v = NULL;
    *count = 0;
    for (int i = 0; i < res->nheaders; i++)
        if (!strcasecmp(res->headers[i].name, name)) /* names are case-insensitive */
            v = res->headers[i].value, ++*count;
    return v;
}

START_TEST(status_mapping)
{
    static const struct {
        enum status s;
        int http;
        const char *code;
    } want[] = {
        {STATUS_NOMEM, 503, "out_of_memory"}, {STATUS_BUSY, 503, "queue_full"},
        {STATUS_CANCELLED, 503, "shutting_down"}, {STATUS_RANGE, 422, "invalid_value"},
        {STATUS_FORMAT, 422, "invalid_value"}, {STATUS_SHAPE, 422, "invalid_value"},
        {STATUS_UNSUPPORTED, 422, "invalid_value"}, {STATUS_NOT_FOUND, 404, "not_found"},
        {STATUS_IO, 500, "internal"}, {STATUS_NUMERIC, 500, "internal"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *code = NULL;
        ck_assert_int_eq(api_http_status(want[i].s, &code), want[i].http);
        ck_assert_str_eq(code, want[i].code);
        struct api_response res = {0};
        ck_assert_int_eq(api_error_status(&res, want[i].s, "why %d", 7), API_DONE);
        ck_assert_int_eq(res.status, want[i].http);
        ck_assert_ptr_nonnull(strstr((const char *)res.body, want[i].code));
        ck_assert_ptr_nonnull(strstr((const char *)res.body, "why 7"));
        /* every 503, and only a 503, says when to come back, once */
        int n;
        const char *retry = header(&res, "Retry-After", &n);
        if (want[i].http == 503) {
            ck_assert_int_eq(n, 1);
            ck_assert_str_eq(retry, "1");
        } else {
            ck_assert_int_eq(n, 0);
        }
        free(res.body);
    }
}
END_TEST

START_TEST(headers_replace_by_name)
{
    struct api_response res = {0};
    api_error(&res, 503, "not_ready", "no model");
    api_add_header(&res, "retry-after", "5"); /* a handler that knows better replaces it */
    int n;
    ck_assert_str_eq(header(&res, "Retry-After", &n), "5");
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(res.nheaders, 1);
    api_error(&res, 400, "bad_json", "x"); /* a new error starts its headers afresh */
    ck_assert_int_eq(res.nheaders, 0);
    free(res.body);
}
END_TEST

/* ---- base64 ---- */

START_TEST(base64_round_trip)
{
    uint8_t in[64], out[80];
    char text[100];
    for (size_t n = 0; n < sizeof in; n++) {
        for (size_t i = 0; i < n; i++)
            in[i] = (uint8_t)(i * 37 + n);
        base64_encode(text, in, n);
        size_t len = base64_encoded_len(n), got = 999;
        ck_assert(base64_decode(out, &got, text, len));
        ck_assert_uint_eq(got, n);
        ck_assert(memcmp(in, out, n) == 0);
    }
    base64_encode(text, (const uint8_t *)"Man", 3);
    ck_assert(memcmp(text, "TWFu", 4) == 0);
    base64_encode(text, (const uint8_t *)"Ma", 2);
    ck_assert(memcmp(text, "TWE=", 4) == 0);
}
END_TEST

START_TEST(base64_rejects)
{
    uint8_t out[32];
    size_t n;
    ck_assert(base64_decode(out, &n, "TW E=\n", 6)); /* whitespace is skipped */
    ck_assert_uint_eq(n, 2);
    ck_assert(base64_decode(out, &n, "TWE", 3)); /* padding may be left out */
    ck_assert_uint_eq(n, 2);
    ck_assert(!base64_decode(out, &n, "TW*=", 4));
    ck_assert(!base64_decode(out, &n, "T", 1));
    ck_assert(!base64_decode(out, &n, "TWE=TWE=", 8)); /* data after padding */
    ck_assert(!base64_decode(out, &n, "TWFu===", 7));
}
END_TEST

/* ---- JSON ---- */

START_TEST(json_reader)
{
    struct json *doc = NULL;
    const char *text = "{\"a\": [1, 2.5, \"x\"], \"b\": {\"c\": true}, \"n\": null}";
    ck_assert_int_eq(json_parse(&doc, text, strlen(text)), STATUS_OK);
    const struct json *a = json_get(doc, "a");
    ck_assert(json_is_array(a));
    ck_assert_uint_eq(json_size(a), 3);
    const struct json *e = json_first(a);
    ck_assert(json_number(e) == 1);
    e = json_next(e);
    ck_assert(json_number(e) == 2.5);
    e = json_next(e);
    ck_assert_str_eq(json_string(e), "x");
    ck_assert(isnan(json_number(e)));
    ck_assert_ptr_null(json_next(e));
    ck_assert(json_bool(json_get(json_get(doc, "b"), "c")));
    ck_assert(json_is_null(json_get(doc, "n")));
    ck_assert_ptr_null(json_get(doc, "missing"));
    ck_assert_ptr_null(json_get(a, "a")); /* not an object */
    ck_assert_str_eq(json_type_name(a), "array");
    json_free(doc);

    ck_assert_int_eq(json_parse(&doc, "{\"a\": }", 7), STATUS_FORMAT);
    ck_assert_ptr_null(doc);
    ck_assert(strstr(status_message(), "byte") != NULL);
    ck_assert_int_eq(json_parse(&doc, "{} x", 4), STATUS_FORMAT);
    ck_assert_int_eq(json_parse(&doc, "", 0), STATUS_FORMAT);
    /* length-bounded: the text after len is not read */
    ck_assert_int_eq(json_parse(&doc, "[1]garbage", 3), STATUS_OK);
    json_free(doc);
}
END_TEST

START_TEST(json_writer)
{
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "s", "a\"b\\c\n\x01");
    json_kv_number(&w, "f", 0.1f);
    json_kv_number(&w, "d", 0.1);
    json_kv_number(&w, "nan", NAN);
    json_kv_int(&w, "i", -42);
    json_kv_bool(&w, "t", true);
    json_key_put(&w, "arr");
    json_array_begin(&w);
    json_null_put(&w);
    json_base64_put(&w, (const uint8_t *)"Man", 3);
    json_object_begin(&w);
    json_object_end(&w);
    json_array_end(&w);
    json_object_end(&w);
    size_t len;
    char *text = json_writer_finish(&w, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_str_eq(text, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"f\":0.1,\"d\":0.10000000000000001,"
                           "\"nan\":null,\"i\":-42,\"t\":true,\"arr\":[null,\"TWFu\",{}]}");
    ck_assert_uint_eq(len, strlen(text));
    /* what we write, we read back */
    struct json *doc = NULL;
    ck_assert_int_eq(json_parse(&doc, text, len), STATUS_OK);
    ck_assert_str_eq(json_string(json_get(doc, "s")), "a\"b\\c\n\x01");
    json_free(doc);
    free(text);
}
END_TEST

/* ---- settings ---- */

START_TEST(config_defaults_values)
{
    struct serve_config c = config_defaults();
    ck_assert_int_eq(c.port, 8080);
    ck_assert_str_eq(c.bind, "127.0.0.1");
    ck_assert_int_ge(c.workers, 1);
    /* no search field set: each model's defaults hold (anogan_search_resolve) */
    ck_assert(!c.search.has_mode && !c.search.has_iterations && !c.search.has_lr &&
              !c.search.has_patience && !c.search.has_tol && !c.search.has_seed);
}
END_TEST

START_TEST(bearer_check)
{
    ck_assert(http_bearer_ok("Bearer s3cret", "s3cret"));
    ck_assert(http_bearer_ok("bearer s3cret", "s3cret"));
    ck_assert(!http_bearer_ok("Bearer s3cre", "s3cret"));
    ck_assert(!http_bearer_ok("Bearer s3cretX", "s3cret"));
    ck_assert(!http_bearer_ok("Basic s3cret", "s3cret"));
    ck_assert(!http_bearer_ok(NULL, "s3cret"));
    ck_assert(!http_bearer_ok("Bearer ", ""));
}
END_TEST

START_TEST(route_table)
{
    size_t n = 0;
    struct api_route *r = api_routes_create(&n);
    ck_assert_ptr_nonnull(r);
    const char *want[][2] = {{"POST", "/score"},  {"POST", "/score/batch"},
                             {"POST", "/graph/classify"}, {"GET", "/models"},
                             {"GET", "/healthz"}, {"GET", "/readyz"},
                             {"GET", "/metrics"}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= !strcmp(r[i].method, want[k][0]) && !strcmp(r[i].path, want[k][1]);
        ck_assert_msg(found, "no route %s %s", want[k][0], want[k][1]);
    }
    for (size_t i = 0; i < n; i++) {
        /* Only the liveness probes and the console's static files are served without the
         * key. */
        bool asset = r[i].handler == api_asset;
        ck_assert_int_eq(r[i].public, asset || !strcmp(r[i].path, "/healthz") ||
                                          !strcmp(r[i].path, "/v2/health/live"));
        for (size_t j = i + 1; j < n; j++)
            ck_assert(strcmp(r[i].path, r[j].path) || strcmp(r[i].method, r[j].method));
    }
    free(r);
}
END_TEST

/* ---- score_parse ---- */

static struct models ms;
static struct serve_config cfg;

static void setup_model(void)
{
    memset(&ms, 0, sizeof ms);
    struct anogan_config c = anogan_config_seed();
    c.width = 4;
    struct anogan *m = NULL;
    ck_assert_int_eq(anogan_create(&m, &c, 3), STATUS_OK);
    snprintf(m->name, sizeof m->name, "tiny");
    ms.anogan = malloc(sizeof *ms.anogan);
    ms.anogan_path = calloc(1, sizeof *ms.anogan_path);
    ms.anogan[0] = m;
    ms.nanogan = 1;
    cfg = config_defaults();
    cfg.max_side = 100;
    cfg.max_pixels = 5000;
    cfg.max_images = 3;
    cfg.max_iterations = 50;
}

static void teardown_model(void)
{
    models_free(&ms);
}

/* A w x h grey PNG (malloc'd). */
static uint8_t *grey_png(size_t *len, int w, int h)
{
    struct image img;
    ck_assert_int_eq(image_alloc(&img, w, h, 1), STATUS_OK);
    for (int i = 0; i < w * h; i++)
        img.pixels[i] = (uint8_t)(i * 7);
    uint8_t *png = NULL;
    ck_assert_int_eq(image_encode_png(&png, len, &img), STATUS_OK);
    image_free(&img);
    return png;
}

static char *png_base64(int w, int h)
{
    size_t len;
    uint8_t *png = grey_png(&len, w, h);
    char *b = malloc(base64_encoded_len(len) + 1);
    base64_encode(b, png, len);
    b[base64_encoded_len(len)] = 0;
    free(png);
    return b;
}

struct outcome {
    bool ok;
    struct api_fail f;
    struct score_request sr;
};

static struct outcome parse(const char *ctype, const void *body, size_t len, bool batch,
                            const char *query_key, const char *query_value)
{
    struct api_request req = {.method = "POST", .path = batch ? "/score/batch" : "/score",
                              .content_type = ctype, .body = body, .body_len = len};
    if (query_key)
        req.query[req.nquery++] = (struct api_param){query_key, query_value};
    struct outcome o = {0};
    o.ok = score_parse(&o.sr, &o.f, &cfg, &ms, &req, batch);
    return o;
}

static struct outcome parse_json(const char *json, bool batch)
{
    return parse("application/json", json, strlen(json), batch, NULL, NULL);
}

static void expect_fail(struct outcome o, int status, const char *code)
{
    ck_assert_msg(!o.ok, "expected %d %s, got success", status, code);
    ck_assert_msg(o.f.status == status && !strcmp(o.f.code, code), "expected %d %s, got %d %s: %s",
                  status, code, o.f.status, o.f.code, o.f.message);
    ck_assert(o.f.message[0]);
}

START_TEST(parse_png_body)
{
    size_t len;
    uint8_t *png = grey_png(&len, 28, 20);
    struct outcome o = parse("image/png", png, len, false, "iterations", "7");
    ck_assert_msg(o.ok, "%s", o.f.message);
    ck_assert_int_eq(o.sr.n, 1);
    ck_assert_int_eq(o.sr.images[0].width, 28);
    ck_assert_int_eq(o.sr.images[0].height, 20);
    ck_assert_int_eq(o.sr.search.iterations, 7);
    ck_assert_int_eq(o.sr.search.init, ANOGAN_INIT_RANDOM); /* no encoder in this model */
    ck_assert_ptr_eq(o.sr.model, ms.anogan[0]);
    score_request_free(&o.sr);
    /* Content-Type parameters and case do not matter */
    o = parse("Image/PNG; charset=binary", png, len, false, NULL, NULL);
    ck_assert(o.ok);
    score_request_free(&o.sr);
    /* a truncated PNG */
    expect_fail(parse("image/png", png, len / 2, false, NULL, NULL), 400, "bad_png");
    expect_fail(parse("image/png", "hello", 5, false, NULL, NULL), 400, "bad_png");
    expect_fail(parse("image/png", png, len, false, "iterations", "51"), 422, "invalid_value");
    expect_fail(parse("image/png", png, len, false, "iterations", "x"), 422, "invalid_value");
    expect_fail(parse("image/png", png, len, false, "search", "encoder"), 422, "invalid_value");
    expect_fail(parse("image/png", png, len, false, "model", "nope"), 404, "unknown_model");
    expect_fail(parse("image/png", png, len, false, "reconstruction", "maybe"), 422,
                "invalid_value");
    expect_fail(parse("image/png", png, len, true, NULL, NULL), 415, "unsupported_media_type");
    expect_fail(parse("text/plain", png, len, false, NULL, NULL), 415, "unsupported_media_type");
    expect_fail(parse(NULL, png, len, false, NULL, NULL), 415, "unsupported_media_type");
    expect_fail(parse("image/png", png, 0, false, NULL, NULL), 400, "empty_body");
    free(png);
    png = grey_png(&len, 101, 2);
    expect_fail(parse("image/png", png, len, false, NULL, NULL), 413, "image_too_large");
    free(png);
}
END_TEST

/* The request's search is resolved over the daemon's settings (anogan_search_resolve), then
 * capped by --max-iterations; refusals use the parser's words. */
START_TEST(parse_search_layers)
{
    size_t len;
    uint8_t *png = grey_png(&len, 8, 8);
    /* nothing set anywhere: the random start's defaults (no encoder), capped at 50 */
    struct outcome o = parse("image/png", png, len, false, NULL, NULL);
    ck_assert_msg(o.ok, "%s", o.f.message);
    ck_assert_int_eq(o.sr.search.init, ANOGAN_INIT_RANDOM);
    ck_assert_int_eq(o.sr.search.iterations, 50);
    ck_assert(o.sr.search.lr == 0.05f && o.sr.seed == 0);
    score_request_free(&o.sr);
    /* the settings' fields, then the request's over them */
    cfg.search = (struct anogan_search_layer){.has_iterations = true, .iterations = 7,
                                              .has_lr = true, .lr = 0.2f, .has_seed = true,
                                              .seed = 5};
    o = parse("image/png", png, len, false, NULL, NULL);
    ck_assert(o.ok && o.sr.search.iterations == 7 && o.sr.search.lr == 0.2f && o.sr.seed == 5);
    score_request_free(&o.sr);
    o = parse("image/png", png, len, false, "iterations", "3");
    ck_assert(o.ok && o.sr.search.iterations == 3 && o.sr.search.lr == 0.2f && o.sr.seed == 5);
    score_request_free(&o.sr);
    o = parse_json("{\"image\": {\"width\": 1, \"height\": 1, \"pixels\": [0]}, \"seed\": 9, "
                   "\"tol\": 0.5, \"patience\": 4}", false);
    ck_assert_msg(o.ok, "%s", o.f.message);
    ck_assert(o.sr.search.iterations == 7 && o.sr.seed == 9 && o.sr.search.tol == 0.5f &&
              o.sr.search.patience == 4);
    score_request_free(&o.sr);
    /* the settings ask for the encoder start, which this model lacks: refused, unless the
     * request picks another */
    cfg.search = (struct anogan_search_layer){.has_mode = true, .mode = ANOGAN_MODE_ENCODER};
    expect_fail(parse("image/png", png, len, false, NULL, NULL), 422, "invalid_value");
    o = parse("image/png", png, len, false, "search", "random");
    ck_assert(o.ok && o.sr.search.init == ANOGAN_INIT_RANDOM);
    score_request_free(&o.sr);
    /* the parser's words, for the query and for JSON */
    o = parse("image/png", png, len, false, "iterations", "51");
    ck_assert_str_eq(o.f.message, "iterations '51': expected an integer in [0, 50]");
    o = parse("image/png", png, len, false, "lr", "1e999");
    ck_assert_str_eq(o.f.message, "lr '1e999': expected a number in [1e-08, 10]");
    o = parse_json("{\"image\": {}, \"iterations\": 2.5}", false);
    ck_assert_str_eq(o.f.message, "iterations '2.5': expected an integer in [0, 50]");
    o = parse_json("{\"image\": {}, \"iterations\": \"3\"}", false);
    ck_assert_str_eq(o.f.message, "iterations: expected an integer in [0, 50]");
    free(png);
}
END_TEST

START_TEST(parse_json_bodies)
{
    char *b64 = png_base64(10, 12);
    char body[4096];
    snprintf(body, sizeof body,
             "{\"image\": {\"png_base64\": \"%s\"}, \"iterations\": 3, \"seed\": 99, "
             "\"reconstruction\": true, \"lr\": 0.5, \"patience\": 2, \"model\": \"tiny\"}",
             b64);
    struct outcome o = parse_json(body, false);
    ck_assert_msg(o.ok, "%s", o.f.message);
    ck_assert_int_eq(o.sr.images[0].width, 10);
    ck_assert_int_eq(o.sr.search.iterations, 3);
    ck_assert(o.sr.seed == 99);
    ck_assert(o.sr.reconstruction && !o.sr.anomaly_map);
    ck_assert(fabsf(o.sr.search.lr - 0.5f) < 1e-7f);
    ck_assert_int_eq(o.sr.search.patience, 2);
    score_request_free(&o.sr);

    /* a body field wins over the query parameter */
    o = parse("application/json", body, strlen(body), false, "iterations", "40");
    ck_assert(o.ok && o.sr.search.iterations == 3);
    score_request_free(&o.sr);

    /* a data URL, as a browser's FileReader gives */
    snprintf(body, sizeof body, "{\"image\": {\"png_base64\": \"data:image/png;base64,%s\"}}", b64);
    o = parse_json(body, false);
    ck_assert_msg(o.ok, "%s", o.f.message);
    score_request_free(&o.sr);

    /* raw pixels */
    o = parse_json("{\"image\": {\"width\": 2, \"height\": 2, \"channels\": 1, "
                   "\"pixels\": [0, 64, 128, 255]}, \"seed\": \"18446744073709551615\"}",
                   false);
    ck_assert_msg(o.ok, "%s", o.f.message);
    ck_assert_int_eq(o.sr.images[0].pixels[3], 255);
    ck_assert(o.sr.seed == UINT64_MAX);
    score_request_free(&o.sr);

    /* a batch */
    snprintf(body, sizeof body,
             "{\"images\": [{\"png_base64\": \"%s\"}, {\"width\": 1, \"height\": 1, "
             "\"pixels\": [9]}]}",
             b64);
    o = parse_json(body, true);
    ck_assert_msg(o.ok, "%s", o.f.message);
    ck_assert_int_eq(o.sr.n, 2);
    ck_assert_int_eq(o.sr.images[1].pixels[0], 9);
    score_request_free(&o.sr);
    free(b64);
}
END_TEST

START_TEST(parse_json_refusals)
{
    expect_fail(parse_json("{\"image\": ", false), 400, "bad_json");
    expect_fail(parse_json("[1, 2]", false), 400, "bad_json");
    expect_fail(parse_json("{}", false), 422, "invalid_value");
    expect_fail(parse_json("{\"image\": 5}", false), 422, "invalid_value");
    expect_fail(parse_json("{\"image\": {\"png_base64\": \"@@@@\"}}", false), 400, "bad_base64");
    expect_fail(parse_json("{\"image\": {\"png_base64\": \"aGVsbG8=\"}}", false), 400, "bad_png");
    expect_fail(parse_json("{\"image\": {\"png_base64\": 7}}", false), 422, "invalid_value");
    expect_fail(parse_json("{\"image\": {\"width\": 2, \"height\": 2, \"pixels\": [1, 2, 3]}}",
                           false),
                422, "invalid_value");
    expect_fail(parse_json("{\"image\": {\"width\": 1, \"height\": 1, \"pixels\": [256]}}", false),
                422, "invalid_value");
    expect_fail(parse_json("{\"image\": {\"width\": 1, \"height\": 1, \"pixels\": [1.5]}}", false),
                422, "invalid_value");
    expect_fail(parse_json("{\"image\": {\"width\": 1, \"height\": 1, \"channels\": 5, "
                           "\"pixels\": [1]}}",
                           false),
                422, "invalid_value");
    expect_fail(parse_json("{\"image\": {\"width\": 0, \"height\": 1, \"pixels\": []}}", false),
                422, "invalid_value");
    expect_fail(parse_json("{\"image\": {\"width\": 100, \"height\": 100, \"pixels\": []}}", false),
                413, "image_too_large");
    const char *px = "{\"width\": 1, \"height\": 1, \"pixels\": [1]}";
    char body[512];
    static const char *const bad[] = {
        "\"iterations\": -1", "\"iterations\": 2.5",      "\"iterations\": \"3\"", "\"lr\": 0",
        "\"seed\": -3",       "\"search\": \"sideways\"", "\"reconstruction\": 1", "\"model\": 3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"image\": %s, %s}", px, bad[i]);
        expect_fail(parse_json(body, false), 422, "invalid_value");
    }
    snprintf(body, sizeof body, "{\"image\": %s, \"model\": \"other\"}", px);
    expect_fail(parse_json(body, false), 404, "unknown_model");
    expect_fail(parse_json("{\"images\": []}", true), 422, "invalid_value");
    expect_fail(parse_json("{\"images\": {}}", true), 422, "invalid_value");
    snprintf(body, sizeof body, "{\"images\": [%s, %s, %s, %s]}", px, px, px, px);
    expect_fail(parse_json(body, true), 413, "too_many_images");
    snprintf(body, sizeof body, "{\"images\": [%s, {\"png_base64\": \"aGVsbG8=\"}]}", px);
    struct outcome o = parse_json(body, true);
    expect_fail(o, 400, "bad_png");
    ck_assert_msg(strstr(o.f.message, "images[1]"), "message names the image: %s", o.f.message);

    /* no model loaded at all */
    int n = ms.nanogan;
    ms.nanogan = 0;
    snprintf(body, sizeof body, "{\"image\": %s}", px);
    expect_fail(parse_json(body, false), 503, "not_ready");
    ms.nanogan = n;
}
END_TEST

START_TEST(parse_line_fields)
{
    const char *px = "{\"width\": 1, \"height\": 1, \"pixels\": [1]}";
    char body[512];
    snprintf(body, sizeof body, "{\"image\": %s, \"part_id\": \"A-17:x_2.b\", "
             "\"station\": \"st3\", \"band_low\": 1, \"band_high\": 2, "
             "\"region_threshold\": 0.25}", px);
    struct outcome o = parse_json(body, false);
    ck_assert_msg(o.ok, "%s", o.f.message);
    ck_assert_str_eq(o.sr.part_id, "A-17:x_2.b");
    ck_assert_str_eq(o.sr.station, "st3");
    ck_assert(o.sr.has_band && o.sr.band_low == 1 && o.sr.band_high == 2);
    ck_assert(o.sr.region_threshold == 0.25f);
    /* uncalibrated model: the request's band decides */
    ck_assert_int_eq(score_verdict(&o.sr, 0.5f, NULL, NULL), VERDICT_OK);
    ck_assert_int_eq(score_verdict(&o.sr, 1.5f, NULL, NULL), VERDICT_NOT_DECIDABLE);
    ck_assert_int_eq(score_verdict(&o.sr, 2.5f, NULL, NULL), VERDICT_NOT_OK);
    score_request_free(&o.sr);
    /* with no band: no verdict */
    snprintf(body, sizeof body, "{\"image\": %s}", px);
    o = parse_json(body, false);
    ck_assert(o.ok && !o.sr.has_band && o.sr.part_id[0] == 0);
    ck_assert(o.sr.region_threshold == SCORE_REGION_THRESHOLD);
    ck_assert_int_eq(score_verdict(&o.sr, 0.5f, NULL, NULL), VERDICT_NOT_DECIDABLE);
    score_request_free(&o.sr);
    /* a query parameter with a PNG body */
    size_t len;
    uint8_t *png = grey_png(&len, 4, 4);
    o = parse("image/png", png, len, false, "station", "line1");
    ck_assert(o.ok);
    ck_assert_str_eq(o.sr.station, "line1");
    score_request_free(&o.sr);
    expect_fail(parse("image/png", png, len, false, "part_id", "a/b"), 422, "invalid_value");
    expect_fail(parse("image/png", png, len, false, "part_id", ""), 422, "invalid_value");
    expect_fail(parse("image/png", png, len, false, "band_low", "1"), 422, "invalid_value");
    expect_fail(parse("image/png", png, len, false, "region_threshold", "0"), 422,
                "invalid_value");
    free(png);
    static const char *const bad[] = {
        "\"part_id\": 5", "\"station\": \"has space\"", "\"station\": \"\\u00e9\"",
        "\"part_id\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"",
        "\"band_low\": 2, \"band_high\": 1", "\"band_high\": 1", "\"band_low\": \"1\"",
        "\"region_threshold\": 1.5"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(body, sizeof body, "{\"image\": %s, %s}", px, bad[i]);
        expect_fail(parse_json(body, false), 422, "invalid_value");
    }
    /* a calibrated model: the band must hold its threshold */
    struct anogan *m = ms.anogan[0];
    m->cal.present = true;
    m->cal.threshold = 3;
    m->cal.band_low = m->cal.band_high = 3;
    snprintf(body, sizeof body, "{\"image\": %s, \"band_low\": 1, \"band_high\": 2}", px);
    expect_fail(parse_json(body, false), 422, "invalid_value");
    snprintf(body, sizeof body, "{\"image\": %s}", px);
    o = parse_json(body, false);
    ck_assert(o.ok);
    ck_assert_int_eq(score_verdict(&o.sr, 3.0f, NULL, NULL), VERDICT_OK); /* zero band */
    ck_assert_int_eq(score_verdict(&o.sr, 3.01f, NULL, NULL), VERDICT_NOT_OK);
    score_request_free(&o.sr);
    m->cal.present = false;
}
END_TEST

/* ---- answers ---- */

START_TEST(answer_pictures)
{
    const struct anogan *m = ms.anogan[0];
    size_t isize = anogan_image_size(m);
    float *x = malloc(isize * sizeof *x), *g = malloc(isize * sizeof *g);
    for (size_t i = 0; i < isize; i++) {
        x[i] = (0.0f - m->cfg.mean) / m->cfg.std; /* black */
        g[i] = (1.0f - m->cfg.mean) / m->cfg.std; /* white */
    }
    uint8_t *png = NULL;
    size_t len = 0;
    struct image img;
    ck_assert_int_eq(score_reconstruction_png(&png, &len, m, g, 30, 17), STATUS_OK);
    ck_assert_int_eq(image_decode_png(&img, png, len, 100, 10000), STATUS_OK);
    ck_assert_int_eq(img.width, 30);
    ck_assert_int_eq(img.height, 17);
    ck_assert_int_eq(img.channels, 1);
    ck_assert_int_eq(img.pixels[0], 255);
    ck_assert_int_eq(img.pixels[30 * 17 - 1], 255);
    image_free(&img);
    free(png);
    ck_assert_int_eq(score_anomaly_map_png(&png, &len, m, x, g, 5, 9), STATUS_OK);
    ck_assert_int_eq(image_decode_png(&img, png, len, 100, 10000), STATUS_OK);
    ck_assert_int_eq(img.width, 5);
    ck_assert_int_eq(img.height, 9);
    ck_assert_int_eq(img.channels, 3);
    /* a full-range difference is the top of the colour scale: brighter than no difference */
    struct image flat;
    uint8_t *png2 = NULL;
    size_t len2;
    ck_assert_int_eq(score_anomaly_map_png(&png2, &len2, m, g, g, 5, 9), STATUS_OK);
    ck_assert_int_eq(image_decode_png(&flat, png2, len2, 100, 10000), STATUS_OK);
    int hot = img.pixels[0] + img.pixels[1] + img.pixels[2];
    int cold = flat.pixels[0] + flat.pixels[1] + flat.pixels[2];
    ck_assert_int_gt(hot, cold + 200);
    image_free(&img);
    image_free(&flat);
    free(png);
    free(png2);

    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    struct detect_result r = {
        .gan = {.score = 2.5f, .residual = 1, .discrimination = 6, .iterations = 4},
        .score = 1.5f};
    for (int p = 0; p < DETECT_NPARTS; p++)
        r.part[p] = NAN;
    r.part[DETECT_PART_ANOGAN] = 2.5f;
    struct score_request sr = {.model = m, .reconstruction = true, .anomaly_map = true,
                               .region_threshold = SCORE_REGION_THRESHOLD};
    snprintf(sr.part_id, sizeof sr.part_id, "P-1");
    ck_assert(score_answer_image(&w, &sr, &r, "00000000-0000-4000-8000-000000000000", x, g, 8, 8));
    json_object_end(&w);
    char *text = json_writer_finish(&w, &len);
    struct json *doc = NULL;
    ck_assert_int_eq(json_parse(&doc, text, len), STATUS_OK);
    const char *keys[] = {"result_id", "score", "scores", "residual", "discrimination",
                          "threshold", "anomalous", "evaluation", "band", "part_id", "station",
                          "model_version", "iterations", "width", "height", "regions",
                          "regions_total", "reconstruction_png_base64", "anomaly_map_png_base64"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        ck_assert_msg(json_get(doc, keys[k]), "missing %s", keys[k]);
    ck_assert(json_is_null(json_get(doc, "threshold"))); /* uncalibrated model */
    /* no threshold and no band asked: no verdict can be made */
    ck_assert_str_eq(json_string(json_get(doc, "evaluation")), "NOT_DECIDABLE");
    ck_assert(json_is_null(json_get(doc, "band")));
    ck_assert_str_eq(json_string(json_get(doc, "part_id")), "P-1");
    ck_assert(json_is_null(json_get(doc, "station")));
    ck_assert_int_eq((int)strlen(json_string(json_get(doc, "result_id"))), 36);
    /* black input, white G(z): the whole 8x8 map is one region at full difference */
    const struct json *regs = json_get(doc, "regions");
    ck_assert(json_is_array(regs) && json_size(regs) == 1);
    ck_assert(json_number(json_get(json_first(regs), "area")) == 64);
    ck_assert(json_number(json_get(json_first(regs), "width")) == 8);
    /* the MQTT / webhook message: the same fields without pictures, with model and time */
    char *msg = NULL;
    size_t mlen = 0;
    ck_assert_int_eq(score_verdict_message(&msg, &mlen, &sr, &r, "id-1", x, g, 8, 8), STATUS_OK);
    struct json *md = NULL;
    ck_assert_int_eq(json_parse(&md, msg, mlen), STATUS_OK);
    ck_assert_str_eq(json_string(json_get(md, "result_id")), "id-1");
    ck_assert_str_eq(json_string(json_get(md, "model")), "tiny");
    ck_assert_int_eq((int)strlen(json_string(json_get(md, "timestamp"))), 24);
    ck_assert_str_eq(json_string(json_get(md, "evaluation")), "NOT_DECIDABLE");
    ck_assert(!json_get(md, "anomaly_map_png_base64") && json_get(md, "regions"));
    json_free(md);
    free(msg);
    ck_assert(json_number(json_get(doc, "score")) == 1.5);
    /* an AnoGAN-only model: its one part, and nothing for the parts it lacks */
    const struct json *parts = json_get(doc, "scores");
    ck_assert(json_is_object(parts) && json_size(parts) == 1);
    ck_assert(json_number(json_get(parts, "anogan")) == 2.5);
    ck_assert(json_number(json_get(doc, "iterations")) == 4);
    json_free(doc);
    free(text);
    free(x);
    free(g);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api");
    TCase *t = tcase_create("codecs");
    tcase_add_test(t, status_mapping);
    tcase_add_test(t, headers_replace_by_name);
    tcase_add_test(t, base64_round_trip);
    tcase_add_test(t, base64_rejects);
    tcase_add_test(t, json_reader);
    tcase_add_test(t, json_writer);
    tcase_add_test(t, config_defaults_values);
    tcase_add_test(t, bearer_check);
    tcase_add_test(t, route_table);
    suite_add_tcase(s, t);
    TCase *p = tcase_create("score_parse");
    tcase_add_checked_fixture(p, setup_model, teardown_model);
    tcase_add_test(p, parse_png_body);
    tcase_add_test(p, parse_search_layers);
    tcase_add_test(p, parse_json_bodies);
    tcase_add_test(p, parse_json_refusals);
    tcase_add_test(p, parse_line_fields);
    tcase_add_test(p, answer_pictures);
    suite_add_tcase(s, p);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
