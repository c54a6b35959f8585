/* webhook: every verdict POSTed as JSON to configured URLs (libcurl; server/webhook.c is the
 * only file that includes <curl/curl.h>), off by default, never blocking a request.
 *
 * Verdicts go into a bounded outbox; one sender thread POSTs each to every URL in turn with a
 * short timeout (connect and whole request), retrying a failure (no answer, or a status other
 * than 2xx) with exponential backoff (200 ms doubling) up to `retries` times. A verdict that
 * could not be delivered to a URL, and one refused by a full outbox, counts as
 * inspectd_webhook_dropped_total; each delivery as inspectd_webhook_delivered_total. A receiver
 * that hangs or fails only slows the sender thread, whose outbox then fills and drops: the
 * requests never wait. */
#ifndef INSPECTD_WEBHOOK_H
#define INSPECTD_WEBHOOK_H

#include <stddef.h>

#include "status.h"

struct metrics;
struct webhook;

struct webhook_options {
    const char *urls; /* comma-separated http:// or https:// URLs */
    int timeout_ms;   /* per attempt */
    int retries;      /* further attempts after a failure */
    int outbox;       /* verdicts held at most */
};

/* STATUS_UNSUPPORTED when built without libcurl, STATUS_RANGE for a bad URL list,
 * STATUS_NOMEM. *out owned by the caller: webhook_free. */
enum status webhook_create(struct webhook **out, const struct webhook_options *o,
                           struct metrics *m);
/* Queues one verdict (JSON). Never blocks. */
void webhook_post(struct webhook *h, const char *json, size_t len);
/* Sends what is queued for up to about a second, then stops and frees. NULL is fine. */
void webhook_free(struct webhook *h);

#endif
