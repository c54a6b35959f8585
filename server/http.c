/* http: see http.h. The life of a request in libmicrohttpd (MHD) terms:
 *   1st call (headers only): create the request state in *req_cls, route, authorise, refuse an
 *     announced oversize body (413 before a byte of it is read);
 *   body calls: append to the buffer under the cap (an unannounced oversize body is drained and
 *     answered 413 at the end; a client that keeps sending far past the cap is disconnected);
 *   last call: run the handler; if it went to the pool, suspend until it resumes us, and on the
 *     call after the resume queue its answer;
 *   completed callback: access log, metrics, free everything.
 * Suspend/resume race: the handler may finish its job before we suspend. Both sides take the
 * server mutex: resume() sets done and resumes only a connection already suspended; dispatch
 * suspends only if not done, otherwise answers at once. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "metrics.h"
#include "parse.h"

struct http_server {
    struct MHD_Daemon *daemon;
    const struct api_route *routes;
    size_t nroutes;
    struct app *app;
    struct metrics *metrics;
    size_t max_body;
    double body_deadline_s; /* a body must arrive within this many seconds */
    char api_key[256];
    FILE *log;
    int port;
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int in_flight;
    atomic_int quiesced;
};

struct req_state {
    struct http_server *srv;
    struct MHD_Connection *conn;
    const struct api_route *route; /* NULL when answered by the router */
    int route_index;               /* for metrics; -1 = no route */
    double t0;
    uint8_t *body;
    size_t len, cap, drained;
    bool too_large, drain;
    bool pending, done, suspended; /* done/suspended under srv->lock */
    int status_sent;
    size_t bytes_out;
    char method[16], path[256], client[64], content_type[128];
    struct api_request req;
    struct api_response res;
};

bool http_bearer_ok(const char *header, const char *key)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return false;
    const char *tok = header + 7;
    while (*tok == ' ')
        tok++;
    size_t tlen = strlen(tok), klen = strlen(key);
    /* Time depends on the key's length only, not on where the first difference is. */
    unsigned diff = (unsigned)(tlen ^ klen);
    for (size_t i = 0; i < klen; i++)
        diff |= (unsigned)(unsigned char)key[i] ^ (unsigned)(unsigned char)(i < tlen ? tok[i] : 0);
    return diff == 0 && klen > 0;
}

/* ---- answering ---- */

static enum MHD_Result send_response(struct req_state *r)
{
    struct api_response *res = &r->res;
    if (!res->status)
        api_error(res, 500, "internal", "the handler produced no answer");
    struct MHD_Response *mr;
    if (res->body_owned && res->body_len) {
        mr = MHD_create_response_from_buffer_with_free_callback(res->body_len, res->body, free);
        if (mr) {
            res->body = NULL;
            res->body_owned = false;
        }
    } else {
        mr = MHD_create_response_from_buffer(res->body_len, res->body_len ? res->body : (void *)"",
                                             MHD_RESPMEM_PERSISTENT);
    }
    if (!mr)
        return MHD_NO;
    if (res->content_type)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (int i = 0; i < res->nheaders; i++)
        MHD_add_response_header(mr, res->headers[i].name, res->headers[i].value);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    if (r->srv->quiesced) /* shutting down: let keep-alive clients go elsewhere */
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)res->status, mr);
    MHD_destroy_response(mr);
    r->status_sent = res->status;
    r->bytes_out = res->body_len;
    return ok;
}

static enum MHD_Result send_error(struct req_state *r, int status, const char *code,
                                  const char *msg)
{
    api_error(&r->res, status, code, "%s", msg);
    return send_response(r);
}

static void resume(void *token)
{
    struct req_state *r = token;
    struct http_server *s = r->srv;
    pthread_mutex_lock(&s->lock);
    r->done = true;
    if (r->suspended)
        MHD_resume_connection(r->conn);
    pthread_mutex_unlock(&s->lock);
    /* r may be freed by an MHD thread from here on. */
}

/* ---- request parsing ---- */

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    struct api_request *req = cls;
    if (req->nquery < API_MAX_QUERY)
        req->query[req->nquery++] = (struct api_param){key, value ? value : ""};
    return MHD_YES;
}

static void client_address(struct req_state *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(r->client, sizeof r->client, "-");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->client,
                  sizeof r->client);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, r->client,
                  sizeof r->client);
}

/* First call: route, authorise, check the announced length. Returns true when it answered. */
static bool first_call(struct http_server *s, struct req_state *r, const char *url,
                       const char *method, enum MHD_Result *ret)
{
    bool path_known = false;
    char allow[64] = "";
    const char *m = strcmp(method, "HEAD") ? method : "GET";
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct api_route *rt = &s->routes[i];
        if (rt->prefix ? strncmp(rt->path, url, strlen(rt->path)) || !url[strlen(rt->path)]
                       : strcmp(rt->path, url) != 0)
            continue;
        if (!path_known)
            r->route_index = (int)i;
        path_known = true;
        if (!strcmp(s->routes[i].method, m)) {
            r->route = &s->routes[i];
            r->route_index = (int)i;
            break;
        }
        size_t al = strlen(allow);
        snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", s->routes[i].method);
    }
    if (!r->route) {
        if (path_known) {
            api_error(&r->res, 405, "method_not_allowed", "%s is not allowed on %s (allowed: %s)",
                      method, url, allow);
            api_add_header(&r->res, "Allow", allow);
            *ret = send_response(r);
        } else {
            r->route_index = -1;
            *ret = send_error(r, 404, "not_found", "no such endpoint");
        }
        return true;
    }
    if (s->api_key[0] && !r->route->public &&
        !http_bearer_ok(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_AUTHORIZATION),
                        s->api_key)) {
        api_error(&r->res, 401, "unauthorized",
                  "missing or wrong API key: send 'Authorization: Bearer <key>'");
        api_add_header(&r->res, "WWW-Authenticate", "Bearer realm=\"inspectd\"");
        *ret = send_response(r);
        return true;
    }
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    /* libmicrohttpd answers a malformed Content-Length itself; one that still does not parse
     * counts as unannounced: the body is streamed under the cap like a chunked one. */
    uint64_t n;
    if (cl && r->route->body && parse_u64(&n, "Content-Length", cl) == STATUS_OK) {
        if (n > s->max_body) {
            char msg[128];
            snprintf(msg, sizeof msg, "request body of %llu bytes is over the limit of %zu",
                     (unsigned long long)n, s->max_body);
            *ret = send_error(r, 413, "body_too_large", msg);
            return true;
        }
        if (n > 0) {
            r->body = malloc((size_t)n + 1);
            if (!r->body) {
                api_error_status(&r->res, STATUS_NOMEM, "no memory for the request body");
                *ret = send_response(r);
                return true;
            }
            r->cap = (size_t)n + 1;
        }
    }
    r->drain = !r->route->body;
    return false;
}

/* Appends a body chunk under the cap. False when the connection should be dropped. */
static bool take_body(struct http_server *s, struct req_state *r, const char *data, size_t n)
{
    if (clock_now() - r->t0 > s->body_deadline_s)
        return false; /* a trickling client: drop it */
    if (r->drain || r->too_large) {
        r->drained += n;
        return r->drained <= 4 * s->max_body + (1u << 20);
    }
    if (r->len + n > s->max_body) {
        r->too_large = true;
        free(r->body);
        r->body = NULL;
        r->drained = r->len + n;
        r->len = r->cap = 0;
        return true;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > s->max_body + 1)
            cap = s->max_body + 1;
        uint8_t *b = realloc(r->body, cap);
        if (!b)
            return false;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return true;
}

static const char *request_header(const struct api_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->header_token, MHD_HEADER_KIND, name);
}

/* Last call: the body is complete; run the handler. */
static enum MHD_Result dispatch(struct http_server *s, struct req_state *r)
{
    if (r->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body is over the limit of %zu bytes", s->max_body);
        return send_error(r, 413, "body_too_large", msg);
    }
    struct api_request *req = &r->req;
    req->method = r->method;
    req->path = r->path;
    const char *ct =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ct) {
        snprintf(r->content_type, sizeof r->content_type, "%s", ct);
        req->content_type = r->content_type;
    }
    if (r->body)
        r->body[r->len] = 0;
    req->body = r->body ? r->body : (const uint8_t *)"";
    req->body_len = r->len;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, req);
    req->client = r->client;
    req->header = request_header;
    req->header_token = r->conn;
    req->resume = resume;
    req->resume_token = r;

    enum api_result ar = r->route->handler(s->app, r->route, req, &r->res);
    if (ar == API_DONE)
        return send_response(r);
    pthread_mutex_lock(&s->lock);
    bool done = r->done;
    if (!done) {
        MHD_suspend_connection(r->conn);
        r->suspended = true;
        r->pending = true;
    }
    pthread_mutex_unlock(&s->lock);
    return done ? send_response(r) : MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **req_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct req_state *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = conn;
        r->t0 = clock_now();
        r->route_index = -1;
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->path, sizeof r->path, "%s", url);
        client_address(r);
        *req_cls = r;
        pthread_mutex_lock(&s->lock);
        s->in_flight++;
        pthread_mutex_unlock(&s->lock);
        enum MHD_Result ret = MHD_YES;
        first_call(s, r, url, method, &ret);
        return ret;
    }
    if (*upload_size) {
        bool keep = take_body(s, r, upload_data, *upload_size);
        *upload_size = 0;
        return keep ? MHD_YES : MHD_NO;
    }
    if (r->pending) /* resumed: the pool has filled the response */
        return send_response(r);
    return dispatch(s, r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct http_server *s = cls;
    struct req_state *r = *req_cls;
    if (!r)
        return;
    *req_cls = NULL;
    double dt = clock_now() - r->t0;
    if (s->metrics)
        metrics_request(s->metrics, r->route_index, r->status_sent, dt);
    if (s->log) {
        static const char *ends[] = {"ok", "error", "timeout", "shutdown", "read_error",
                                     "client_abort"};
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(s->log,
                "access time=%s.%03ldZ client=%s method=%s path=%s status=%d ms=%.2f in=%zu "
                "out=%zu end=%s%s%s\n",
                when, ts.tv_nsec / 1000000, r->client, r->method, r->path, r->status_sent,
                dt * 1e3, r->len + r->drained, r->bytes_out,
                (unsigned)toe < sizeof ends / sizeof ends[0] ? ends[toe] : "other",
                r->res.log[0] ? " " : "", r->res.log);
    }
    free(r->body);
    if (r->res.body_owned)
        free(r->res.body);
    free(r);
    pthread_mutex_lock(&s->lock);
    s->in_flight--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

/* ---- lifecycle ---- */

enum status http_start(struct http_server **out, const struct http_options *o,
                       const struct api_route *routes, size_t nroutes, struct app *app,
                       struct metrics *metrics)
{
    *out = NULL;
    union {
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } addr;
    memset(&addr, 0, sizeof addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME;
    if (inet_pton(AF_INET, o->bind, &addr.v4.sin_addr) == 1) {
        addr.v4.sin_family = AF_INET;
        addr.v4.sin_port = htons((uint16_t)o->port);
    } else if (inet_pton(AF_INET6, o->bind, &addr.v6.sin6_addr) == 1) {
        addr.v6.sin6_family = AF_INET6;
        addr.v6.sin6_port = htons((uint16_t)o->port);
        flags |= MHD_USE_IPv6;
    } else {
        return status_fail(STATUS_RANGE, "--bind %s: not an IPv4 or IPv6 address", o->bind);
    }
    struct http_server *s = calloc(1, sizeof *s);
    if (!s)
        return status_fail(STATUS_NOMEM, "out of memory");
    s->routes = routes;
    s->nroutes = nroutes;
    s->app = app;
    s->metrics = metrics;
    s->max_body = o->max_body;
    s->body_deadline_s = 4.0 * o->timeout_s + 30;
    s->log = o->access_log;
    if (o->api_key)
        snprintf(s->api_key, sizeof s->api_key, "%s", o->api_key);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca; /* http_wait_idle's deadline is on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->idle, &ca);
    pthread_condattr_destroy(&ca);
    *out = s; /* before the threads start: handlers may read the caller's copy */
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_access, s, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&addr,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->timeout_s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)o->max_connections, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(o->threads > 1 ? o->threads : 0), MHD_OPTION_LISTENING_ADDRESS_REUSE,
        (unsigned)1, MHD_OPTION_END);
    if (!s->daemon) {
        *out = NULL;
        pthread_cond_destroy(&s->idle);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return status_fail(STATUS_IO, "cannot listen on %s port %d (in use, or not allowed)",
                           o->bind, o->port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    return STATUS_OK;
}

int http_port(const struct http_server *s)
{
    return s->port;
}

void http_quiesce(struct http_server *s)
{
    if (atomic_exchange(&s->quiesced, 1))
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

int http_in_flight(struct http_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->in_flight;
    pthread_mutex_unlock(&s->lock);
    return n;
}

bool http_wait_idle(struct http_server *s, int timeout_ms)
{
    struct timespec dl;
    clock_deadline(&dl, timeout_ms / 1e3);
    pthread_mutex_lock(&s->lock);
    while (s->in_flight > 0)
        if (pthread_cond_timedwait(&s->idle, &s->lock, &dl))
            break;
    bool idle = s->in_flight == 0;
    pthread_mutex_unlock(&s->lock);
    return idle;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
