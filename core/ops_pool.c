/* ops_pool: the threads of the kernels. ops_set_threads(n) decides how many threads one kernel
 * call may use; the extra n-1 are persistent (started on first need, parked on a condition
 * variable between calls), so a layer that takes a fraction of a millisecond still gains from a
 * second core. OpenBLAS itself is held at one thread: the kernels split their work above it (by
 * images of the batch, or by channels), which also spreads im2col/col2im over the threads and
 * keeps two thread pools from competing for the cores. Pool threads block every signal. */
#include "ops.h"
#include "ops_impl.h"

#include "status.h"

#include <cblas.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>

enum { POOL_MAX = 64, POOL_STACK = 1 << 20 };

static pthread_mutex_t call_lock = PTHREAD_MUTEX_INITIALIZER; /* one parallel call at a time */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;      /* guards everything below */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER, done = PTHREAD_COND_INITIALIZER;
static int threads_wanted;     /* 0 until ops_set_threads: then the CPU count applies */
static int busy;               /* callers inside ops_busy_begin/end (atomic, not under lock) */
static int started;            /* pool threads running, ids 1 .. started */
static unsigned long generation;
static int active, remaining;  /* threads in this call (caller included), workers not done */
static int parts;              /* shares of this call's work; thread i runs i, i + active, ... */
static void (*job_fn)(void *, int, int);
static void *job_ctx;

static void blas_single_thread_once(void)
{
    openblas_set_num_threads(1);
}

static void blas_single_thread(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, blas_single_thread_once);
}

void ops_set_threads(int n)
{
    blas_single_thread();
    pthread_mutex_lock(&lock);
    threads_wanted = n < 1 ? 1 : n > POOL_MAX ? POOL_MAX : n;
    pthread_mutex_unlock(&lock);
}

int ops_get_threads(void)
{
    blas_single_thread();
    pthread_mutex_lock(&lock);
    int n = threads_wanted;
    pthread_mutex_unlock(&lock);
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : cpus > POOL_MAX ? POOL_MAX : (int)cpus;
    }
    return n;
}

void ops_busy_begin(void)
{
    __atomic_add_fetch(&busy, 1, __ATOMIC_RELAXED);
}

void ops_busy_end(void)
{
    __atomic_sub_fetch(&busy, 1, __ATOMIC_RELAXED);
}

void ops_split(int *begin, int *end, int count, int t, int n, int unit)
{
    long units = (count + unit - 1) / unit;
    long b = units * t / n * unit, e = t + 1 == n ? count : units * (t + 1) / n * unit;
    *begin = (int)(b < count ? b : count);
    *end = (int)(e < count ? e : count);
}

static void *worker(void *arg)
{
    const int id = (int)(intptr_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (generation == seen)
            pthread_cond_wait(&wake, &lock);
        seen = generation;
        if (id >= active)
            continue; /* not needed for this call */
        void (*fn)(void *, int, int) = job_fn;
        void *ctx = job_ctx;
        int n = parts, stride = active;
        pthread_mutex_unlock(&lock);
        for (int t = id; t < n; t += stride)
            fn(ctx, t, n);
        pthread_mutex_lock(&lock);
        if (--remaining == 0)
            pthread_cond_signal(&done);
    }
    return NULL;
}

/* Starts pool threads up to `want` (called with lock held); returns how many are running. */
static int grow(int want)
{
    pthread_attr_t attr;
    if (started >= want || pthread_attr_init(&attr) != 0)
        return started;
    pthread_attr_setstacksize(&attr, POOL_STACK); /* the small-N kernel packs on the stack */
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited by the new threads */
    while (started < want) {
        pthread_t tid;
        if (pthread_create(&tid, &attr, worker, (void *)(intptr_t)(started + 1)) != 0)
            break; /* run with what we have */
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return started;
}

/* Threads this call may run on: the configured count less one per other busy caller. */
static int runners(int n)
{
    int others = __atomic_load_n(&busy, __ATOMIC_RELAXED) - 1, r = ops_get_threads();
    if (others > 0)
        r = r > others ? r - others : 1;
    return r < n ? r : n;
}

void ops_parallel(int n, void (*fn)(void *ctx, int t, int n), void *ctx)
{
    int r = n > 1 ? runners(n) : 1;
    if (r <= 1) { /* the same n shares, one after the other: the same sums as on n threads */
        for (int t = 0; t < n; t++)
            fn(ctx, t, n);
        return;
    }
    pthread_mutex_lock(&call_lock);
    pthread_mutex_lock(&lock);
    int have = grow(r - 1);
    if (r > have + 1)
        r = have + 1;
    job_fn = fn;
    job_ctx = ctx;
    active = r;
    parts = n;
    remaining = r - 1;
    generation++;
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);

    for (int t = 0; t < n; t += r)
        fn(ctx, t, n);

    pthread_mutex_lock(&lock);
    while (remaining > 0)
        pthread_cond_wait(&done, &lock);
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&call_lock);
}
