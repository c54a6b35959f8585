/* score_job: one scoring request on its way through the pool, shared by the two front doors
 * (api_score.c: /score and /score/batch; api_v2.c: the Open Inference Protocol). A handler makes
 * a job, fills j->sr (score_parse or its own parser), sets j->answer and submits it: the images
 * are preprocessed on the HTTP thread, one pool job is queued, and on the worker j->answer writes
 * the response from j->results (and j->x, j->recon for regions and pictures) before the
 * connection is resumed and the job freed. */
#ifndef INSPECTD_SCORE_JOB_H
#define INSPECTD_SCORE_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "pool.h"
#include "score.h"

struct app;

struct score_job {
    struct pool_job pj; /* first: the pool hands back &pj */
    struct app *app;
    const struct api_request *req;
    struct api_response *res;
    struct score_request sr;
    bool batch_api;     /* /score/batch: results as a list */
    int *width, *height;
    float *x, *recon;   /* sr.n preprocessed inputs and their G(z), model units */
    uint64_t *seeds;
    struct detect_result *results;
    char (*result_ids)[37]; /* sr.n fresh UUIDs, one per image's answer */
    double t0;
    /* Writes j->res from a finished job (j->pj.status says whether the search succeeded). */
    void (*answer)(struct score_job *j);
    /* Rewrites an error answer into the front door's error body when it is sent later (a
     * refusal held by the tarpit); NULL: the /score body. */
    void (*error_shape)(struct api_response *res);
    void *user;                    /* the handler's own state, freed with user_free */
    void (*user_free)(void *user);
};

/* A zeroed job with t0 set; NULL on allocation failure. Owned by the caller until submitted. */
struct score_job *score_job_create(void);
void score_job_free(struct score_job *j);

/* Preprocesses j->sr's images and queues the job. Takes j in every case: API_PENDING when
 * queued (j->answer runs later), else API_DONE with res filled (no memory 503, a full queue
 * 503, shutting down 503) and j freed. */
enum api_result score_job_submit(struct score_job *j, struct app *app,
                                 const struct api_request *req, struct api_response *res);

/* Hands each image's verdict to the publishers the daemon has (MQTT, webhooks; publish.h):
 * never blocks. Called by the answers of successful jobs. */
void score_job_publish(const struct score_job *j);

/* The answer for a failed search (j->pj.status != STATUS_OK) in the /score error body. */
void score_job_answer_failure(struct score_job *j);

#endif
