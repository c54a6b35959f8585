/* pool: a bounded job queue and N worker threads that run latent searches off the HTTP threads.
 *
 * A full queue refuses a job at once (the caller answers 503 + Retry-After) rather than letting
 * requests pile up. Dynamic batching: a worker that takes a scoring job also takes queued jobs for
 * the same model with the same search settings, up to max_batch images but no more than its fair
 * share of the queue when other workers are idle (parallel workers beat one batch), and when
 * every other worker is busy waits up to batch_wait_ms for more; the group is scored as one
 * detect_score call per max_batch images. An image's score does not depend on its batch (see core/anogan.h), so
 * batching changes speed only. Each worker keeps one detect_ctx per model it has used.
 *
 * Besides scoring jobs, the pool runs plain calls (POOL_JOB_CALL) for other heavy work. */
#ifndef INSPECTD_POOL_H
#define INSPECTD_POOL_H

#include <stdint.h>

#include "anogan.h"
#include "detect.h"
#include "status.h"

struct metrics;
struct pool;

enum pool_job_kind {
    POOL_JOB_SCORE, /* detect_score over the job's images */
    POOL_JOB_CALL,  /* job->call(job) on a worker */
};

struct pool_job {
    enum pool_job_kind kind;
    /* POOL_JOB_SCORE inputs; the buffers stay owned by the submitter and must live until done. */
    const struct anogan *model;
    struct anogan_search search;
    int n;                  /* images */
    const float *x;         /* n images, each anogan_image_size(model) floats, preprocessed */
    const uint64_t *seeds;  /* n seeds of the random start */
    /* POOL_JOB_SCORE outputs, into submitter-owned buffers */
    struct detect_result *res; /* n: every part of the model and the fused score */
    float *recon;              /* n images of G(z) in model units, or NULL when not wanted */
    int batch;                 /* images in the largest search call that scored part of this job */
    /* POOL_JOB_CALL */
    void (*call)(struct pool_job *job);
    /* POOL_JOB_SCORE: clock_now() seconds after which the job is not worth scoring any more
     * (0: no deadline). A job still queued then is dropped unscored: expired set, status
     * STATUS_CANCELLED, done called as usual. */
    double deadline;
    bool expired;
    /* Both kinds: the outcome (STATUS_CANCELLED when the pool was cancelled first), its message,
     * and times in milliseconds (queued -> started, started -> finished). */
    enum status status;
    char message[200];
    double wait_ms, run_ms;
    /* Called once on a worker thread when the job is finished; the pool does not touch the job
     * afterwards, so done may free it. */
    void (*done)(struct pool_job *job);
    void *user;
    /* private to the pool */
    struct pool_job *next;
    double t_queued;
};

struct pool_options {
    int workers;       /* threads */
    int capacity;      /* queued jobs at most */
    int max_batch;     /* images per search call */
    int batch_wait_ms; /* wait for compatible jobs when all workers are busy */
};

/* Starts the workers. metrics may be NULL. *out owned by the caller: pool_free. */
enum status pool_create(struct pool **out, const struct pool_options *o, struct metrics *m);
/* Queues a job. STATUS_BUSY when the queue is full, STATUS_CANCELLED when shutting down; the
 * job is not queued then and done is never called. */
enum status pool_submit(struct pool *p, struct pool_job *job);
/* The cheap refusal before any work: STATUS_BUSY (counted as rejected) when the queue is full
 * now, so that a handler refuses before it decodes a body. Under overload refusals are most
 * requests, and decoding each one only to refuse it took the cores from the workers.
 * pool_submit still decides: STATUS_OK here does not reserve a place. */
enum status pool_admit(struct pool *p);
/* Stops running searches between steps and fails queued jobs with STATUS_CANCELLED. */
void pool_cancel(struct pool *p);
/* Finishes queued jobs, joins the workers and frees the pool. */
void pool_free(struct pool *p);

int pool_depth(struct pool *p);    /* jobs waiting */
int pool_busy(struct pool *p);     /* workers holding a job */
int pool_capacity(const struct pool *p);
int pool_workers(const struct pool *p);

#endif
