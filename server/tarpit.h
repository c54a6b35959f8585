/* tarpit: holds refused requests for a fixed delay before their answer goes out.
 *
 * Under overload most requests are refused (503 + Retry-After). A client that does not back
 * off sends the next request the moment the refusal arrives, so answering refusals at once
 * turns the HTTP threads into a loop of refusals that takes the cores the search workers need
 * (measured: goodput fell to a third of its best at 256 such clients, docs/benchmarks.md,
 * overload). Holding each refusal for delay_ms bounds the refusals per second by
 * connections / delay, whatever the clients do. A held request costs a suspended connection
 * and one slot here; nothing runs for it until its time comes. One thread, FIFO: every entry
 * waits the same delay, so the oldest is always due first. */
#ifndef INSPECTD_TARPIT_H
#define INSPECTD_TARPIT_H

#include "status.h"

struct tarpit;

/* Starts the thread. capacity: entries held at most. *out owned by the caller: tarpit_free. */
enum status tarpit_create(struct tarpit **out, int delay_ms, int capacity);
/* Calls resume(token) from the tarpit's thread delay_ms from now. STATUS_BUSY when full (the
 * caller answers at once then); resume is not called in that case. */
enum status tarpit_hold(struct tarpit *t, void (*resume)(void *token), void *token);
/* Entries held now. */
int tarpit_depth(struct tarpit *t);
/* Resumes every held entry at once, joins the thread and frees. NULL is a no-op. */
void tarpit_free(struct tarpit *t);

#endif
