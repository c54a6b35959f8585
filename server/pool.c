/* pool: see pool.h. One mutex guards the queue (a singly linked FIFO); workers sleep on one
 * condition variable (CLOCK_MONOTONIC, for the batching wait). A worker turns a group of jobs
 * into chunks of at most max_batch images, copies each chunk into its own buffers, scores it,
 * and scatters the results back to the jobs. A reaper thread answers queued jobs whose deadline
 * passed (workers also drop them when they take them). */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "metrics.h"
#include "ops.h"

struct worker_ctx {
    const struct anogan *model;
    struct detect_ctx *ctx;
};

struct worker {
    struct pool *pool;
    pthread_t thread;
    struct worker_ctx *ctxs; /* one per model used so far */
    int nctxs;
    /* Chunk buffers, sized for the largest model seen: max_batch images. */
    size_t isize;
    float *x, *recon;
    uint64_t *seeds;
    struct detect_result *res;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t reap;    /* wakes the reaper: a job with a deadline queued, or stopping */
    pthread_t reaper;
    bool reaper_started;
    struct pool_job *head, *tail;
    int depth, busy, nworkers, capacity, max_batch, batch_wait_ms;
    long queued_images; /* sum of n over queued jobs */
    int nalloc; /* workers allocated (nworkers of them started) */
    int stopping;
    volatile int cancel; /* polled by anogan_score; written and read here with __atomic */
    struct metrics *metrics;
    struct worker *workers;
};

static bool compatible(const struct pool_job *a, const struct pool_job *b)
{
    return a->kind == POOL_JOB_SCORE && b->kind == POOL_JOB_SCORE && a->model == b->model &&
           a->search.init == b->search.init && a->search.iterations == b->search.iterations &&
           a->search.lr == b->search.lr && a->search.patience == b->search.patience &&
           a->search.tol == b->search.tol;
}

/* Moves queued jobs compatible with group[0] into group while they fit in limit images.
 * Called with the lock held. */
static void collect(struct pool *p, struct pool_job **group, int *njobs, int *images, int limit)
{
    struct pool_job **link = &p->head, *prev = NULL;
    while (*link && *images < limit) {
        struct pool_job *j = *link;
        if (compatible(group[0], j) && *images + j->n <= limit) {
            *link = j->next;
            if (p->tail == j)
                p->tail = prev;
            p->depth--;
            p->queued_images -= j->n;
            j->next = NULL;
            group[(*njobs)++] = j;
            *images += j->n;
        } else {
            prev = j;
            link = &j->next;
        }
    }
}

static struct detect_ctx *worker_ctx(struct worker *w, const struct anogan *m)
{
    for (int i = 0; i < w->nctxs; i++)
        if (w->ctxs[i].model == m)
            return w->ctxs[i].ctx;
    size_t isize = anogan_image_size(m);
    if (isize > w->isize) {
        size_t nb = (size_t)w->pool->max_batch;
        float *x = realloc(w->x, nb * isize * sizeof *x);
        if (x)
            w->x = x;
        float *r = x ? realloc(w->recon, nb * isize * sizeof *r) : NULL;
        if (r)
            w->recon = r;
        if (!x || !r)
            return NULL;
        w->isize = isize;
    }
    struct worker_ctx *ctxs = realloc(w->ctxs, ((size_t)w->nctxs + 1) * sizeof *ctxs);
    if (!ctxs)
        return NULL;
    w->ctxs = ctxs;
    struct detect_ctx *c = detect_ctx_create(m, w->pool->max_batch);
    if (!c)
        return NULL;
    w->ctxs[w->nctxs++] = (struct worker_ctx){m, c};
    return c;
}

static void fail_jobs(struct pool_job **group, int njobs, enum status s, const char *msg)
{
    for (int i = 0; i < njobs; i++)
        if (group[i]->status == STATUS_OK) {
            group[i]->status = s;
            snprintf(group[i]->message, sizeof group[i]->message, "%s", msg);
        }
}

/* Scores the images of a group of compatible jobs, max_batch at a time. */
static void run_group(struct worker *w, struct pool_job **group, int njobs)
{
    struct pool *p = w->pool;
    const struct anogan *m = group[0]->model;
    if (__atomic_load_n(&p->cancel, __ATOMIC_RELAXED)) {
        fail_jobs(group, njobs, STATUS_CANCELLED, "the daemon is shutting down");
        return;
    }
    struct detect_ctx *ctx = worker_ctx(w, m);
    if (!ctx) {
        fail_jobs(group, njobs, STATUS_NOMEM, "out of memory creating a search workspace");
        return;
    }
    size_t isize = anogan_image_size(m);
    bool want_recon = false;
    for (int i = 0; i < njobs; i++)
        want_recon |= group[i]->recon != NULL;

    int job = 0, img = 0; /* the next image to copy in */
    while (job < njobs) {
        /* Fill a chunk, remembering where each image came from. */
        int B = 0, first_job = job, first_img = img;
        while (job < njobs && B < p->max_batch) {
            const struct pool_job *j = group[job];
            memcpy(w->x + (size_t)B * isize, j->x + (size_t)img * isize, isize * sizeof(float));
            w->seeds[B] = j->seeds[img];
            B++;
            if (++img == j->n) {
                job++;
                img = 0;
            }
        }
        double t0 = clock_now() * 1e3;
        ops_busy_begin(); /* the kernels leave a core to each other busy worker */
        enum status s = detect_score(ctx, w->x, B, w->seeds, &group[first_job]->search, w->res,
                                     want_recon ? w->recon : NULL, NULL, &p->cancel);
        ops_busy_end();
        double dt = clock_now() * 1e3 - t0;
        long long iters = 0;
        /* Scatter back. */
        int sj = first_job, si = first_img;
        for (int b = 0; b < B; b++) {
            struct pool_job *j = group[sj];
            if (s == STATUS_OK) {
                j->res[si] = w->res[b];
                iters += w->res[b].gan.iterations;
                if (j->recon)
                    memcpy(j->recon + (size_t)si * isize, w->recon + (size_t)b * isize,
                           isize * sizeof(float));
            } else if (j->status == STATUS_OK) {
                j->status = s;
                snprintf(j->message, sizeof j->message, "%s", status_message());
            }
            if (B > j->batch)
                j->batch = B;
            if (++si == j->n) {
                sj++;
                si = 0;
            }
        }
        if (s == STATUS_OK && p->metrics)
            metrics_search(p->metrics, B, iters, dt / 1e3);
    }
}

/* Marks a job whose deadline passed as dropped (the caller calls its done). */
static void expire(struct pool *p, struct pool_job *g)
{
    g->expired = true;
    g->status = STATUS_CANCELLED;
    snprintf(g->message, sizeof g->message,
             "the deadline passed after %.0f ms in the queue; not scored", g->wait_ms);
    if (p->metrics)
        metrics_expired(p->metrics);
}

/* Moves the jobs of group whose deadline passed (now_s, clock_now() seconds) behind the others,
 * marked expired, and returns how many are still worth scoring. */
static int drop_expired(struct pool *p, struct pool_job **group, int njobs, double now_s)
{
    int nlive = 0;
    for (int i = 0; i < njobs; i++) {
        struct pool_job *g = group[i];
        if (g->deadline > 0 && now_s > g->deadline) {
            expire(p, g);
            continue;
        }
        group[i] = group[nlive];
        group[nlive++] = g;
    }
    return nlive;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct pool *p = w->pool;
    struct pool_job **group = malloc((size_t)p->max_batch * sizeof *group);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->wake, &p->lock);
        if (!p->head)
            break; /* stopping, and the queue is drained */
        struct pool_job *j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->depth--;
        p->queued_images -= j->n;
        j->next = NULL;
        p->busy++;
        int njobs = 1, images = j->n;
        if (group) {
            group[0] = j;
            /* Take a fair share of what waits, so idle workers get some: a batch is not faster
             * than the same images searched on two cores. */
            int idle = p->nworkers - p->busy;
            long share = (images + p->queued_images + idle) / (idle + 1);
            int limit = share < p->max_batch ? (int)share : p->max_batch;
            if (j->kind == POOL_JOB_SCORE && images < limit) {
                collect(p, group, &njobs, &images, limit);
                /* Wait for company only when no other worker is free to take the next job. */
                if (images < limit && p->batch_wait_ms > 0 && idle == 0) {
                    struct timespec dl;
                    clock_deadline(&dl, p->batch_wait_ms / 1e3);
                    while (images < p->max_batch && !p->stopping) {
                        int rc = pthread_cond_timedwait(&p->wake, &p->lock, &dl);
                        collect(p, group, &njobs, &images, p->max_batch);
                        if (rc == ETIMEDOUT)
                            break;
                    }
                }
            }
        }
        pthread_mutex_unlock(&p->lock);

        double t0 = clock_now() * 1e3;
        for (int i = 0; i < njobs; i++) {
            struct pool_job *g = group ? group[i] : j;
            g->wait_ms = t0 - g->t_queued;
        }
        int nlive = group && j->kind == POOL_JOB_SCORE ? drop_expired(p, group, njobs, t0 / 1e3)
                                                      : njobs;
        if (!group) {
            j->status = status_fail(STATUS_NOMEM, "out of memory");
            snprintf(j->message, sizeof j->message, "out of memory in a worker");
        } else if (j->kind == POOL_JOB_CALL) {
            if (__atomic_load_n(&p->cancel, __ATOMIC_RELAXED)) {
                j->status = STATUS_CANCELLED;
                snprintf(j->message, sizeof j->message, "the daemon is shutting down");
            } else {
                j->call(j);
            }
        } else if (nlive > 0) {
            run_group(w, group, nlive);
        }
        double t1 = clock_now() * 1e3;
        for (int i = 0; i < njobs; i++) {
            struct pool_job *g = group ? group[i] : j;
            g->run_ms = t1 - t0;
            g->done(g); /* g may be freed from here on */
        }

        pthread_mutex_lock(&p->lock);
        p->busy--;
    }
    pthread_mutex_unlock(&p->lock);
    free(group);
    return NULL;
}

/* The reaper: answers queued jobs at their deadline, while every worker may be busy, so a
 * client hears 504 when its deadline passes rather than when a worker frees up. Sleeps until
 * the earliest deadline in the queue (or until a job with one is queued). */
static void *reaper_main(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        double now = clock_now(), next = 0;
        struct pool_job *expired = NULL, **tailp = &expired;
        struct pool_job **link = &p->head, *prev = NULL;
        while (*link) {
            struct pool_job *j = *link;
            if (j->kind == POOL_JOB_SCORE && j->deadline > 0 && now > j->deadline) {
                *link = j->next;
                if (p->tail == j)
                    p->tail = prev;
                p->depth--;
                p->queued_images -= j->n;
                j->next = NULL;
                *tailp = j;
                tailp = &j->next;
                continue;
            }
            if (j->deadline > 0 && (next == 0 || j->deadline < next))
                next = j->deadline;
            prev = j;
            link = &j->next;
        }
        if (expired) {
            pthread_mutex_unlock(&p->lock);
            while (expired) {
                struct pool_job *j = expired;
                expired = j->next;
                j->next = NULL;
                j->wait_ms = now * 1e3 - j->t_queued;
                j->run_ms = 0;
                expire(p, j);
                j->done(j); /* j may be freed from here on */
            }
            pthread_mutex_lock(&p->lock);
            continue;
        }
        struct timespec dl;
        clock_deadline(&dl, next > 0 ? next - now + 1e-3 : 3600);
        pthread_cond_timedwait(&p->reap, &p->lock, &dl);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void worker_free(struct worker *w)
{
    for (int i = 0; i < w->nctxs; i++)
        detect_ctx_free(w->ctxs[i].ctx);
    free(w->ctxs);
    free(w->x);
    free(w->recon);
    free(w->seeds);
    free(w->res);
}

enum status pool_create(struct pool **out, const struct pool_options *o, struct metrics *m)
{
    ASSERT(o->workers > 0 && o->capacity > 0 && o->max_batch > 0);
    *out = NULL;
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return status_fail(STATUS_NOMEM, "out of memory creating the worker pool");
    p->nworkers = o->workers;
    p->capacity = o->capacity;
    p->max_batch = o->max_batch;
    p->batch_wait_ms = o->batch_wait_ms;
    p->metrics = m;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &ca);
    pthread_cond_init(&p->reap, &ca);
    pthread_condattr_destroy(&ca);
    p->workers = calloc((size_t)o->workers, sizeof *p->workers);
    if (!p->workers)
        goto nomem;
    p->nalloc = o->workers;
    for (int i = 0; i < o->workers; i++) {
        struct worker *w = &p->workers[i];
        w->pool = p;
        w->seeds = malloc((size_t)o->max_batch * sizeof *w->seeds);
        w->res = malloc((size_t)o->max_batch * sizeof *w->res);
        if (!w->seeds || !w->res)
            goto nomem;
    }
    int started = 0;
    for (; started < o->workers; started++)
        if (pthread_create(&p->workers[started].thread, NULL, worker_main, &p->workers[started]))
            break;
    if (started == o->workers && !pthread_create(&p->reaper, NULL, reaper_main, p))
        p->reaper_started = true;
    if (started < o->workers || !p->reaper_started) {
        p->nworkers = started;
        pool_free(p);
        return status_fail(STATUS_NOMEM, "could not start %d worker threads", o->workers);
    }
    *out = p;
    return STATUS_OK;
nomem:
    p->nworkers = 0;
    pool_free(p);
    return status_fail(STATUS_NOMEM, "out of memory creating the worker pool");
}

enum status pool_submit(struct pool *p, struct pool_job *job)
{
    ASSERT(job->done && (job->kind != POOL_JOB_SCORE || (job->model && job->n > 0)));
    ASSERT(job->kind != POOL_JOB_CALL || job->call);
    job->status = STATUS_OK;
    job->message[0] = 0;
    job->batch = 0;
    job->next = NULL;
    job->t_queued = clock_now() * 1e3;
    pthread_mutex_lock(&p->lock);
    enum status s = STATUS_OK;
    if (p->stopping || __atomic_load_n(&p->cancel, __ATOMIC_RELAXED))
        s = STATUS_CANCELLED;
    else if (p->depth >= p->capacity)
        s = STATUS_BUSY;
    if (s == STATUS_OK) {
        if (p->tail)
            p->tail->next = job;
        else
            p->head = job;
        p->tail = job;
        p->depth++;
        p->queued_images += job->n;
        pthread_cond_broadcast(&p->wake);
        if (job->deadline > 0)
            pthread_cond_signal(&p->reap);
    }
    pthread_mutex_unlock(&p->lock);
    if (s == STATUS_BUSY && p->metrics)
        metrics_rejected(p->metrics);
    return s;
}

enum status pool_admit(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    bool full = p->depth >= p->capacity;
    pthread_mutex_unlock(&p->lock);
    if (!full)
        return STATUS_OK;
    if (p->metrics)
        metrics_rejected(p->metrics);
    return STATUS_BUSY;
}

void pool_cancel(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->cancel, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_cond_signal(&p->reap);
    pthread_mutex_unlock(&p->lock);
    if (p->reaper_started)
        pthread_join(p->reaper, NULL);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i].thread, NULL);
    /* worker_free is safe on never-started workers (fields zero or malloc'd). */
    for (int i = 0; p->workers && i < p->nalloc; i++)
        worker_free(&p->workers[i]);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->reap);
    pthread_mutex_destroy(&p->lock);
    free(p->workers);
    free(p);
}

int pool_depth(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    int d = p->depth;
    pthread_mutex_unlock(&p->lock);
    return d;
}

int pool_busy(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    int b = p->busy;
    pthread_mutex_unlock(&p->lock);
    return b;
}

int pool_capacity(const struct pool *p)
{
    return p->capacity;
}

int pool_workers(const struct pool *p)
{
    return p->nworkers;
}
