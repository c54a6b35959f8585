/* webhook: see webhook.h. */
#include "webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#ifndef INSPECTD_HAVE_CURL

enum status webhook_create(struct webhook **out, const struct webhook_options *o,
                           struct metrics *m)
{
    (void)o, (void)m;
    *out = NULL;
    return status_fail(STATUS_UNSUPPORTED, "this inspectd was built without libcurl (install "
                       "libcurl4-openssl-dev and rebuild) so --webhook is not available");
}

void webhook_post(struct webhook *h, const char *json, size_t len)
{
    (void)h, (void)json, (void)len;
}

void webhook_free(struct webhook *h)
{
    (void)h;
}

#else

#include <curl/curl.h>
#include <pthread.h>
#include <unistd.h>

#include "clock.h"
#include "outbox.h"

#define WEBHOOK_MAX_URLS 8

struct webhook {
    struct outbox *out;
    struct metrics *metrics;
    pthread_t thread;
    bool started;
    int timeout_ms, retries, nurls;
    char urls[WEBHOOK_MAX_URLS][512];
    CURL *curl;
    struct curl_slist *headers;
};

static size_t discard(char *p, size_t size, size_t n, void *user)
{
    (void)p, (void)user;
    return size * n;
}

/* One POST; true on a 2xx answer. */
static bool post_once(struct webhook *h, const char *url, const struct outbox_msg *m)
{
    CURL *c = h->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, m->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (curl_easy_perform(c) != CURLE_OK)
        return false;
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
}

static void *sender_main(void *arg)
{
    struct webhook *h = arg;
    struct outbox_msg m;
    double close_t = 0;
    for (;;) {
        bool got = outbox_pop(h->out, &m, 0.25);
        if (outbox_closed(h->out)) {
            if (close_t == 0)
                close_t = clock_now();
            if (clock_now() - close_t > 1) {
                if (got) {
                    outbox_msg_free(&m);
                    if (h->metrics)
                        metrics_published(h->metrics, "webhook", true);
                }
                if (!outbox_pop(h->out, &m, 0)) /* count the rest as dropped */
                    break;
                outbox_msg_free(&m);
                if (h->metrics)
                    metrics_published(h->metrics, "webhook", true);
                continue;
            }
        }
        if (!got) {
            if (close_t)
                break;
            continue;
        }
        for (int u = 0; u < h->nurls; u++) {
            bool ok = false;
            for (int a = 0; a <= h->retries && !ok; a++) {
                if (a) /* backoff: 200 ms, 400 ms, 800 ms, ... */
                    usleep((useconds_t)(200000u << (a - 1 < 6 ? a - 1 : 6)));
                ok = post_once(h, h->urls[u], &m);
                if (outbox_closed(h->out) && !ok)
                    break; /* stopping: no more retries */
            }
            if (h->metrics)
                metrics_published(h->metrics, "webhook", !ok);
        }
        outbox_msg_free(&m);
    }
    return NULL;
}

enum status webhook_create(struct webhook **out, const struct webhook_options *o,
                           struct metrics *m)
{
    *out = NULL;
    struct webhook *h = calloc(1, sizeof *h);
    if (!h)
        return status_fail(STATUS_NOMEM, "out of memory for the webhook sender");
    h->metrics = m;
    h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 2000;
    h->retries = o->retries >= 0 ? o->retries : 0;
    enum status s = STATUS_OK;
    for (const char *p = o->urls; *p;) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            if (h->nurls == WEBHOOK_MAX_URLS || n >= sizeof h->urls[0] ||
                (strncmp(p, "http://", 7) && strncmp(p, "https://", 8))) {
                s = status_fail(STATUS_RANGE, "--webhook: '%.*s' is not an http(s):// URL (at "
                                "most %d URLs of %zu characters)", (int)(n < 200 ? n : 200), p,
                                WEBHOOK_MAX_URLS, sizeof h->urls[0] - 1);
                goto fail;
            }
            memcpy(h->urls[h->nurls], p, n);
            h->urls[h->nurls++][n] = 0;
        }
        p += n + (p[n] == ',');
    }
    if (h->nurls == 0) {
        s = status_fail(STATUS_RANGE, "--webhook: no URL given");
        goto fail;
    }
    if ((s = outbox_create(&h->out, o->outbox > 0 ? o->outbox : 1000)))
        goto fail;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    h->curl = curl_easy_init();
    h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!h->curl || !h->headers || pthread_create(&h->thread, NULL, sender_main, h)) {
        s = status_fail(STATUS_NOMEM, "could not start the webhook sender");
        goto fail;
    }
    h->started = true;
    fprintf(stdout, "webhook: %d URL(s), timeout %d ms, %d retries, outbox %d\n", h->nurls,
            h->timeout_ms, h->retries, o->outbox > 0 ? o->outbox : 1000);
    *out = h;
    return STATUS_OK;
fail:
    webhook_free(h);
    return s;
}

void webhook_post(struct webhook *h, const char *json, size_t len)
{
    if (h && !outbox_push(h->out, "", json, len) && h->metrics)
        metrics_published(h->metrics, "webhook", true);
}

void webhook_free(struct webhook *h)
{
    if (!h)
        return;
    if (h->out)
        outbox_close(h->out);
    if (h->started)
        pthread_join(h->thread, NULL);
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    outbox_free(h->out);
    free(h);
}

#endif
