/* tarpit: see tarpit.h. A ring of (due, resume, token) under one mutex; the thread sleeps on a
 * monotonic-clock condition variable until the oldest entry is due. */
#include "tarpit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"

struct held {
    double due; /* clock_now() seconds */
    void (*resume)(void *token);
    void *token;
};

struct tarpit {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct held *ring;
    int capacity, head, count;
    double delay_s;
    bool stopping;
};

static void *tarpit_main(void *arg)
{
    struct tarpit *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        if (t->count == 0) {
            if (t->stopping)
                break;
            pthread_cond_wait(&t->wake, &t->lock);
            continue;
        }
        struct held h = t->ring[t->head];
        double now = clock_now();
        if (h.due > now && !t->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            double wait = h.due - now;
            ts.tv_sec += (time_t)wait;
            ts.tv_nsec += (long)((wait - (double)(time_t)wait) * 1e9);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&t->wake, &t->lock, &ts);
            continue;
        }
        t->head = (t->head + 1) % t->capacity;
        t->count--;
        pthread_mutex_unlock(&t->lock);
        h.resume(h.token); /* outside the lock: resume takes the HTTP server's lock */
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

enum status tarpit_create(struct tarpit **out, int delay_ms, int capacity)
{
    *out = NULL;
    struct tarpit *t = calloc(1, sizeof *t);
    if (!t || !(t->ring = calloc((size_t)capacity, sizeof *t->ring))) {
        free(t);
        return status_fail(STATUS_NOMEM, "out of memory for the refusal tarpit");
    }
    t->capacity = capacity;
    t->delay_s = delay_ms / 1e3;
    pthread_mutex_init(&t->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* clock_now() is monotonic too */
    pthread_cond_init(&t->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, tarpit_main, t)) {
        pthread_cond_destroy(&t->wake);
        pthread_mutex_destroy(&t->lock);
        free(t->ring);
        free(t);
        return status_fail(STATUS_NOMEM, "could not start the refusal tarpit's thread");
    }
    *out = t;
    return STATUS_OK;
}

enum status tarpit_hold(struct tarpit *t, void (*resume)(void *token), void *token)
{
    pthread_mutex_lock(&t->lock);
    enum status s = STATUS_BUSY;
    if (!t->stopping && t->count < t->capacity) {
        t->ring[(t->head + t->count) % t->capacity] =
            (struct held){.due = clock_now() + t->delay_s, .resume = resume, .token = token};
        if (t->count++ == 0)
            pthread_cond_signal(&t->wake);
        s = STATUS_OK;
    }
    pthread_mutex_unlock(&t->lock);
    return s;
}

int tarpit_depth(struct tarpit *t)
{
    pthread_mutex_lock(&t->lock);
    int n = t->count;
    pthread_mutex_unlock(&t->lock);
    return n;
}

void tarpit_free(struct tarpit *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true; /* the thread resumes what it holds at once, then ends */
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t->ring);
    free(t);
}
