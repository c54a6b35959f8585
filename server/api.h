/* api: the plain structs between the HTTP layer (http.c, the only libmicrohttpd file) and the
 * handlers (api_*.c), and the route table that joins them.
 *
 * A handler sees a request as bytes plus a few strings and fills a response struct; it never sees
 * a socket. A handler that hands work to the pool returns API_PENDING and later calls
 * req->resume(req->resume_token) exactly once, from any thread, after it has filled the response.
 * Both structs live in http.c's per-request state until the request completes. */
#ifndef INSPECTD_API_H
#define INSPECTD_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define API_MAX_QUERY 16
#define API_MAX_HEADERS 4

struct api_param {
    const char *key, *value;
};

struct api_request {
    const char *method, *path;
    const char *content_type; /* NULL when absent */
    const uint8_t *body;      /* body_len bytes, NUL-terminated (not counted) for text parsers */
    size_t body_len;
    struct api_param query[API_MAX_QUERY];
    int nquery;
    const char *client;       /* peer address, for logs */
    /* A request header by name (case-insensitive), NULL when absent or when header is NULL
     * (tests that build requests by hand); use api_header. */
    const char *(*header)(const struct api_request *req, const char *name);
    void *header_token;       /* for header's own use */
    void (*resume)(void *token);
    void *resume_token;
};

struct api_header {
    char name[32];
    char value[96];
};

struct api_response {
    int status;                /* 0 until set */
    const char *content_type;  /* static string */
    uint8_t *body;             /* free()d by http.c when body_owned, else static */
    size_t body_len;
    bool body_owned;
    struct api_header headers[API_MAX_HEADERS];
    int nheaders;
    char log[96];              /* extra key=value text for the access log line ("" = none) */
};

enum api_result {
    API_DONE,    /* the response is filled */
    API_PENDING, /* the handler will fill it later and call req->resume */
};

struct app;
struct api_route;
struct json_writer;

typedef enum api_result (*api_handler)(struct app *app, const struct api_route *route,
                                       const struct api_request *req, struct api_response *res);

struct api_route {
    const char *method; /* "GET" or "POST"; HEAD is served by GET routes */
    const char *path;   /* exact match */
    api_handler handler;
    const void *arg;    /* handler-specific (e.g. the console asset) */
    bool public;        /* served without the API key */
    bool body;          /* accepts a request body */
    bool prefix;        /* path is a prefix ("/v2/models/"): the handler parses the rest */
};

/* Query parameter by name, NULL when absent. */
const char *api_query(const struct api_request *req, const char *key);

/* A request header by name, NULL when absent. */
const char *api_header(const struct api_request *req, const char *name);

/* Media type of the request without parameters, compared case-insensitively. */
bool api_content_type_is(const struct api_request *req, const char *media_type);

/* Seconds a client is told to wait before retrying a 503. */
#define API_RETRY_AFTER_S 1

/* Fills res with a JSON error {"error": {"code", "message"}}. Every 503 gets
 * `Retry-After: API_RETRY_AFTER_S` here, the one place that header is written. Returns
 * API_DONE. */
enum api_result api_error(struct api_response *res, int status, const char *code, const char *fmt,
                          ...) __attribute__((format(printf, 4, 5)));
/* The one mapping from a core status to what a client sees, HTTP status and error code:
 *   STATUS_NOMEM 503 out_of_memory, STATUS_BUSY 503 queue_full, STATUS_CANCELLED 503
 *   shutting_down (the three with Retry-After); STATUS_RANGE, _FORMAT, _SHAPE, _UNSUPPORTED
 *   422 invalid_value (the request's values); STATUS_NOT_FOUND 404 not_found; anything else
 *   (STATUS_IO, STATUS_NUMERIC: a failure of ours, not the request's) 500 internal.
 * A handler that knows a finer code for one status (400 bad_png for a PNG that does not decode,
 * 404 unknown_node) answers that one itself and leaves the rest to this table. */
int api_http_status(enum status s, const char **code);
/* api_error with api_http_status(s)'s status and code. */
enum api_result api_error_status(struct api_response *res, enum status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a header, replacing one of the same name (truncated to fit; ignored past
 * API_MAX_HEADERS). */
void api_add_header(struct api_response *res, const char *name, const char *value);
/* Takes ownership of body (malloc'd, len bytes). */
void api_set_body(struct api_response *res, int status, const char *content_type, char *body,
                  size_t len);
/* Finishes w and answers its text as application/json with status (503 out_of_memory when
 * there is no memory for it). Returns API_DONE. */
enum api_result api_send_json(struct api_response *res, int status, struct json_writer *w);
/* Appends printf-formatted text to res->log. */
void api_log(struct api_response *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The route table of the daemon: API endpoints then one route per console asset ("/" serves
 * /index.html). *out is malloc'd (caller frees); *n its length. NULL on allocation failure. */
struct api_route *api_routes_create(size_t *n);

/* Handlers (api_score.c, api_info.c, api_graph.c). */
enum api_result api_score(struct app *app, const struct api_route *route,
                          const struct api_request *req, struct api_response *res);
enum api_result api_score_batch(struct app *app, const struct api_route *route,
                                const struct api_request *req, struct api_response *res);
enum api_result api_healthz(struct app *app, const struct api_route *route,
                            const struct api_request *req, struct api_response *res);
enum api_result api_readyz(struct app *app, const struct api_route *route,
                           const struct api_request *req, struct api_response *res);
enum api_result api_models(struct app *app, const struct api_route *route,
                           const struct api_request *req, struct api_response *res);
enum api_result api_metrics(struct app *app, const struct api_route *route,
                            const struct api_request *req, struct api_response *res);
enum api_result api_asset(struct app *app, const struct api_route *route,
                          const struct api_request *req, struct api_response *res);
/* The Open Inference Protocol (KServe v2 REST), api_v2.c: GET /v2, /v2/health/live,
 * /v2/health/ready; GET and POST under /v2/models/ (metadata, ready, infer). */
enum api_result api_v2_server(struct app *app, const struct api_route *route,
                              const struct api_request *req, struct api_response *res);
enum api_result api_v2_live(struct app *app, const struct api_route *route,
                            const struct api_request *req, struct api_response *res);
enum api_result api_v2_ready(struct app *app, const struct api_route *route,
                             const struct api_request *req, struct api_response *res);
enum api_result api_v2_models(struct app *app, const struct api_route *route,
                              const struct api_request *req, struct api_response *res);
enum api_result api_graph_classify(struct app *app, const struct api_route *route,
                                   const struct api_request *req, struct api_response *res);

#endif
