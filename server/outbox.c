/* outbox: see outbox.h. A ring of capacity slots under one mutex; poppers wait on a condition
 * variable (CLOCK_MONOTONIC). */
#include "outbox.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

struct outbox {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct outbox_msg *ring;
    int capacity, head, count;
    bool closed;
};

enum status outbox_create(struct outbox **out, int capacity)
{
    *out = NULL;
    struct outbox *o = calloc(1, sizeof *o);
    if (!o || !(o->ring = calloc((size_t)(capacity > 0 ? capacity : 1), sizeof *o->ring))) {
        free(o);
        return status_fail(STATUS_NOMEM, "out of memory for an outbox of %d messages", capacity);
    }
    o->capacity = capacity > 0 ? capacity : 1;
    pthread_mutex_init(&o->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&o->wake, &ca);
    pthread_condattr_destroy(&ca);
    *out = o;
    return STATUS_OK;
}

void outbox_msg_free(struct outbox_msg *m)
{
    free(m->key);
    free(m->body);
    memset(m, 0, sizeof *m);
}

void outbox_free(struct outbox *o)
{
    if (!o)
        return;
    for (int i = 0; i < o->count; i++)
        outbox_msg_free(&o->ring[(o->head + i) % o->capacity]);
    pthread_cond_destroy(&o->wake);
    pthread_mutex_destroy(&o->lock);
    free(o->ring);
    free(o);
}

bool outbox_push(struct outbox *o, const char *key, const char *body, size_t len)
{
    size_t kl = strlen(key);
    struct outbox_msg m = {malloc(kl + 1), malloc(len + 1), len};
    if (!m.key || !m.body) {
        outbox_msg_free(&m);
        return false;
    }
    memcpy(m.key, key, kl + 1);
    memcpy(m.body, body, len);
    m.body[len] = 0;
    pthread_mutex_lock(&o->lock);
    bool ok = !o->closed && o->count < o->capacity;
    if (ok) {
        o->ring[(o->head + o->count) % o->capacity] = m;
        o->count++;
        pthread_cond_signal(&o->wake);
    }
    pthread_mutex_unlock(&o->lock);
    if (!ok)
        outbox_msg_free(&m);
    return ok;
}

bool outbox_pop(struct outbox *o, struct outbox_msg *m, double timeout_s)
{
    struct timespec dl;
    clock_deadline(&dl, timeout_s);
    pthread_mutex_lock(&o->lock);
    while (o->count == 0 && !o->closed)
        if (pthread_cond_timedwait(&o->wake, &o->lock, &dl))
            break;
    bool got = o->count > 0;
    if (got) {
        *m = o->ring[o->head];
        memset(&o->ring[o->head], 0, sizeof *m);
        o->head = (o->head + 1) % o->capacity;
        o->count--;
    }
    pthread_mutex_unlock(&o->lock);
    return got;
}

void outbox_close(struct outbox *o)
{
    pthread_mutex_lock(&o->lock);
    o->closed = true;
    pthread_cond_broadcast(&o->wake);
    pthread_mutex_unlock(&o->lock);
}

bool outbox_closed(struct outbox *o)
{
    pthread_mutex_lock(&o->lock);
    bool c = o->closed;
    pthread_mutex_unlock(&o->lock);
    return c;
}

int outbox_depth(struct outbox *o)
{
    pthread_mutex_lock(&o->lock);
    int n = o->count;
    pthread_mutex_unlock(&o->lock);
    return n;
}
