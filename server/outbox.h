/* outbox: a bounded FIFO of messages between the request path and a publisher's thread (MQTT,
 * webhooks). Pushing never blocks: a full outbox refuses the message, which the caller counts
 * as dropped. Messages are copied in; the publisher owns what it pops. */
#ifndef INSPECTD_OUTBOX_H
#define INSPECTD_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct outbox_msg {
    char *key;  /* what the publisher routes by (the station), NUL-terminated */
    char *body; /* len bytes, NUL-terminated */
    size_t len;
};

struct outbox;

/* capacity >= 1 messages. *out owned by the caller: outbox_free. STATUS_NOMEM. */
enum status outbox_create(struct outbox **out, int capacity);
/* Frees the outbox and the messages still in it. No thread may be in outbox_pop. */
void outbox_free(struct outbox *o);
/* Copies key and body in. False when the outbox is full, closed or out of memory. */
bool outbox_push(struct outbox *o, const char *key, const char *body, size_t len);
/* Takes the oldest message into *m (owned by the caller: outbox_msg_free), waiting up to
 * timeout_s for one. False on timeout, or when the outbox is closed and empty. */
bool outbox_pop(struct outbox *o, struct outbox_msg *m, double timeout_s);
void outbox_msg_free(struct outbox_msg *m);
/* No more pushes; poppers take what is left, then get false at once. */
void outbox_close(struct outbox *o);
bool outbox_closed(struct outbox *o);
int outbox_depth(struct outbox *o);

#endif
