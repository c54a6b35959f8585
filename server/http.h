/* http: the HTTP front end, the only file that includes <microhttpd.h>.
 *
 * It accepts connections on libmicrohttpd's internal threads, streams each request body into
 * memory under a hard cap (413 as soon as Content-Length says too much, before reading it),
 * keeps per-request state in MHD's *req_cls (freed only in the completed callback), routes by a
 * table (method + exact path; 405 with Allow for a known path with another method, 404 for
 * anything else), checks the bearer API key in constant time, calls the handler, and when the
 * handler hands work to the pool, suspends the connection until the handler resumes it.
 * Idle and slow connections are closed after a timeout. One access-log line per request. */
#ifndef INSPECTD_HTTP_H
#define INSPECTD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "api.h"
#include "status.h"

struct app;
struct metrics;
struct http_server;

struct http_options {
    const char *bind;      /* IPv4 or IPv6 literal */
    int port;              /* 0: any free port */
    int threads;           /* MHD worker threads */
    int timeout_s;         /* idle / slow connection timeout */
    int max_connections;
    size_t max_body;
    const char *api_key;   /* NULL or "": no access control */
    FILE *access_log;      /* NULL: none */
};

/* Starts listening. routes (n of them) and app must outlive the server; metrics may be NULL
 * (route labels are the routes' paths). *out is set before the server's threads start (handlers
 * may read it through app), NULL on failure; owned by the caller: http_stop. */
enum status http_start(struct http_server **out, const struct http_options *o,
                       const struct api_route *routes, size_t nroutes, struct app *app,
                       struct metrics *metrics);
/* The port actually bound (useful with port 0). */
int http_port(const struct http_server *s);
/* Stops accepting new connections; connections already open keep being served. */
void http_quiesce(struct http_server *s);
/* Requests received and not yet completed (including those waiting on the pool). */
int http_in_flight(struct http_server *s);
/* Waits until no request is in flight or timeout_ms passes; true when idle. */
bool http_wait_idle(struct http_server *s, int timeout_ms);
/* Closes every connection and frees the server. Call only when idle (no suspended request). */
void http_stop(struct http_server *s);

/* Constant-time check of an "Authorization" header value against "Bearer <key>". */
bool http_bearer_ok(const char *header, const char *key);

#endif
