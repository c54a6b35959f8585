/* api: the helpers every handler uses (errors, headers, query lookup) and the route table. */
#include "api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "console.h"
#include "json.h"

const char *api_query(const struct api_request *req, const char *key)
{
    for (int i = 0; i < req->nquery; i++)
        if (!strcmp(req->query[i].key, key))
            return req->query[i].value;
    return NULL;
}

const char *api_header(const struct api_request *req, const char *name)
{
    return req->header ? req->header(req, name) : NULL;
}

bool api_content_type_is(const struct api_request *req, const char *media_type)
{
    const char *ct = req->content_type;
    if (!ct)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strlen(media_type);
    if (strncasecmp(ct, media_type, n))
        return false;
    return ct[n] == 0 || ct[n] == ';' || ct[n] == ' ';
}

void api_set_body(struct api_response *res, int status, const char *content_type, char *body,
                  size_t len)
{
    if (res->body_owned)
        free(res->body);
    res->status = status;
    res->content_type = content_type;
    res->body = (uint8_t *)body;
    res->body_len = len;
    res->body_owned = true;
}

enum api_result api_send_json(struct api_response *res, int status, struct json_writer *w)
{
    size_t len;
    char *body = json_writer_finish(w, &len);
    if (!body)
        return api_error_status(res, STATUS_NOMEM, "no memory for the answer");
    api_set_body(res, status, "application/json", body, len);
    return API_DONE;
}

/* api_error's body, from a formatted message. */
static void error_body(struct api_response *res, int status, const char *code, const char *msg)
{
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_key_put(&w, "error");
    json_object_begin(&w);
    json_kv_string(&w, "code", code);
    json_kv_string(&w, "message", msg);
    json_object_end(&w);
    json_object_end(&w);
    size_t len;
    char *body = json_writer_finish(&w, &len);
    if (body) {
        api_set_body(res, status, "application/json", body, len);
    } else { /* no memory even for the error: a fixed answer */
        static const char oom[] = "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"out of memory\"}}";
        if (res->body_owned)
            free(res->body);
        res->status = 503;
        res->content_type = "application/json";
        res->body = (uint8_t *)oom;
        res->body_len = sizeof oom - 1;
        res->body_owned = false;
    }
    res->nheaders = 0;
    if (res->status == 503) {
        char s[16];
        snprintf(s, sizeof s, "%d", API_RETRY_AFTER_S);
        api_add_header(res, "Retry-After", s);
    }
    api_log(res, "error=%s", code);
}

static void verror(struct api_response *res, int status, const char *code, const char *fmt,
                   va_list ap) __attribute__((format(printf, 4, 0)));
static void verror(struct api_response *res, int status, const char *code, const char *fmt,
                   va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    error_body(res, status, code, msg);
}

enum api_result api_error(struct api_response *res, int status, const char *code, const char *fmt,
                          ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(res, status, code, fmt, ap);
    va_end(ap);
    return API_DONE;
}

int api_http_status(enum status s, const char **code)
{
    int http = 500;
    const char *c = "internal";
    switch (s) {
    case STATUS_NOMEM: http = 503, c = "out_of_memory"; break;
    case STATUS_BUSY: http = 503, c = "queue_full"; break;
    case STATUS_CANCELLED: http = 503, c = "shutting_down"; break;
    case STATUS_RANGE:
    case STATUS_FORMAT:
    case STATUS_SHAPE:
    case STATUS_UNSUPPORTED: http = 422, c = "invalid_value"; break;
    case STATUS_NOT_FOUND: http = 404, c = "not_found"; break;
    case STATUS_OK: /* not an error: a caller's bug, answered as one */
    case STATUS_IO:
    case STATUS_NUMERIC: break;
    }
    if (code)
        *code = c;
    return http;
}

enum api_result api_error_status(struct api_response *res, enum status s, const char *fmt, ...)
{
    const char *code;
    int http = api_http_status(s, &code);
    va_list ap;
    va_start(ap, fmt);
    verror(res, http, code, fmt, ap);
    va_end(ap);
    return API_DONE;
}

void api_add_header(struct api_response *res, const char *name, const char *value)
{
    struct api_header *h = NULL;
    for (int i = 0; i < res->nheaders && !h; i++)
        if (!strcasecmp(res->headers[i].name, name))
            h = &res->headers[i];
    if (!h && res->nheaders >= API_MAX_HEADERS)
        return;
    if (!h)
        h = &res->headers[res->nheaders++];
    snprintf(h->name, sizeof h->name, "%s", name);
    snprintf(h->value, sizeof h->value, "%s", value);
}

void api_log(struct api_response *res, const char *fmt, ...)
{
    size_t at = strlen(res->log);
    if (at && at + 1 < sizeof res->log)
        res->log[at++] = ' ';
    if (at >= sizeof res->log - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->log + at, sizeof res->log - at, fmt, ap);
    va_end(ap);
}

static const struct api_route api_table[] = {
    {"POST", "/score", api_score, NULL, false, true, false},
    {"POST", "/score/batch", api_score_batch, NULL, false, true, false},
    {"POST", "/graph/classify", api_graph_classify, NULL, false, true, false},
    {"GET", "/models", api_models, NULL, false, false, false},
    {"GET", "/healthz", api_healthz, NULL, true, false, false},
    {"GET", "/readyz", api_readyz, NULL, false, false, false},
    {"GET", "/metrics", api_metrics, NULL, false, false, false},
    {"GET", "/v2", api_v2_server, NULL, false, false, false},
    {"GET", "/v2/health/live", api_v2_live, NULL, true, false, false},
    {"GET", "/v2/health/ready", api_v2_ready, NULL, false, false, false},
    {"GET", "/v2/models/", api_v2_models, NULL, false, false, true},
    {"POST", "/v2/models/", api_v2_models, NULL, false, true, true},
};
#define NAPI (sizeof api_table / sizeof api_table[0])

struct api_route *api_routes_create(size_t *n)
{
    size_t nassets = 0;
    const struct console_asset *index = NULL;
    for (const struct console_asset *a = console_assets; a->path; a++) {
        nassets++;
        if (!strcmp(a->path, "/index.html"))
            index = a;
    }
    size_t total = NAPI + nassets + (index ? 1 : 0);
    struct api_route *r = malloc(total * sizeof *r);
    if (!r)
        return NULL;
    memcpy(r, api_table, sizeof api_table);
    size_t k = NAPI;
    /* The console's static files hold no data and a browser cannot attach a bearer token to a
     * page load, so they are public; the API calls the page makes carry the key. */
    if (index)
        r[k++] = (struct api_route){"GET", "/", api_asset, index, true, false, false};
    for (const struct console_asset *a = console_assets; a->path; a++)
        r[k++] = (struct api_route){"GET", a->path, api_asset, a, true, false, false};
    *n = k;
    return r;
}
