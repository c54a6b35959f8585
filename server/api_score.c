/* api_score: POST /score and POST /score/batch. The handler parses on the HTTP thread
 * (score_parse), hands the job to score_job (preprocess, queue) and returns API_PENDING; the
 * job's answer runs on the worker, writes the JSON answer (with PNGs when asked) and the
 * connection is resumed. A full queue is answered 503 + Retry-After at once. score_job's
 * functions live here too: the one path from a parsed request to the pool and back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "metrics.h"
#include "models.h"
#include "mqtt.h"
#include "pool.h"
#include "score.h"
#include "parse.h"
#include "score_job.h"
#include "tarpit.h"
#include "webhook.h"

struct score_job *score_job_create(void)
{
    struct score_job *j = calloc(1, sizeof *j);
    if (j)
        j->t0 = clock_now();
    return j;
}

void score_job_free(struct score_job *j)
{
    if (!j)
        return;
    if (j->user_free)
        j->user_free(j->user);
    score_request_free(&j->sr);
    free(j->width);
    free(j->height);
    free(j->x);
    free(j->recon);
    free(j->seeds);
    free(j->results);
    free(j->result_ids);
    free(j);
}

void score_job_publish(const struct score_job *j)
{
    struct app *app = j->app;
    if (!app->mqtt && !app->webhook)
        return;
    size_t isize = anogan_image_size(j->sr.model);
    for (int i = 0; i < j->sr.n; i++) {
        char *msg = NULL;
        size_t len = 0;
        if (score_verdict_message(&msg, &len, &j->sr, &j->results[i], j->result_ids[i],
                                  j->x + (size_t)i * isize, j->recon + (size_t)i * isize,
                                  j->width[i], j->height[i]) != STATUS_OK) {
            /* no memory: counted as dropped by each publisher */
            if (app->metrics && app->mqtt)
                metrics_published(app->metrics, "mqtt", true);
            if (app->metrics && app->webhook)
                metrics_published(app->metrics, "webhook", true);
            continue;
        }
        mqtt_publish(app->mqtt, j->sr.station, msg, len);
        webhook_post(app->webhook, msg, len);
        free(msg);
    }
}

void score_job_answer_failure(struct score_job *j)
{
    const struct pool_job *pj = &j->pj;
    if (pj->expired)
        api_error(j->res, 504, "deadline_exceeded", "deadline_ms %d: %s", j->sr.deadline_ms,
                  pj->message);
    else if (api_http_status(pj->status, NULL) == 500)
        api_error(j->res, 500, "internal", "search failed: %s", pj->message);
    else /* no memory, shutting down, a search the model cannot run */
        api_error_status(j->res, pj->status, "%s", pj->message);
}

/* The /score answer for a finished job, into j->res. */
static void answer(struct score_job *j)
{
    struct api_response *res = j->res;
    const struct pool_job *pj = &j->pj;
    const struct anogan *m = j->sr.model;
    if (pj->status != STATUS_OK) {
        score_job_answer_failure(j);
        return;
    }
    bool batch_api = j->batch_api;
    size_t isize = anogan_image_size(m);
    double elapsed = (clock_now() - j->t0) * 1e3;
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "model", m->name);
    json_kv_string(&w, "search", anogan_init_name(j->sr.search.init));
    json_kv_int(&w, "max_iterations", j->sr.search.iterations);
    json_kv_number(&w, "lr", j->sr.search.lr);
    json_kv_int(&w, "patience", j->sr.search.patience);
    json_key_put(&w, "seed"); /* a string too when above 2^53, where JSON numbers lose digits */
    if (j->sr.seed <= (1ull << 53))
        json_int_put(&w, (long long)j->sr.seed);
    else {
        char s[24];
        snprintf(s, sizeof s, "%llu", (unsigned long long)j->sr.seed);
        json_string_put(&w, s);
    }
    json_kv_int(&w, "batch", pj->batch);
    json_kv_number(&w, "queue_ms", (float)pj->wait_ms); /* float: short text */
    bool ok = true;
    if (batch_api) {
        json_kv_int(&w, "count", j->sr.n);
        json_key_put(&w, "results");
        json_array_begin(&w);
        for (int i = 0; i < j->sr.n && ok; i++) {
            json_object_begin(&w);
            json_kv_int(&w, "index", i);
            ok = score_answer_image(&w, &j->sr, &j->results[i], j->result_ids[i],
                                    j->x + (size_t)i * isize, j->recon + (size_t)i * isize,
                                    j->width[i], j->height[i]);
            json_object_end(&w);
        }
        json_array_end(&w);
    } else {
        ok = score_answer_image(&w, &j->sr, &j->results[0], j->result_ids[0], j->x, j->recon,
                                j->width[0], j->height[0]);
    }
    json_kv_number(&w, "elapsed_ms", (float)((clock_now() - j->t0) * 1e3));
    json_object_end(&w);
    size_t len;
    char *body = ok ? json_writer_finish(&w, &len) : NULL;
    if (!ok)
        json_writer_discard(&w);
    if (!body) {
        api_error_status(res, STATUS_NOMEM, "no memory to build the answer: %s", status_message());
        return;
    }
    api_set_body(res, 200, "application/json", body, len);
    score_job_publish(j);
    api_log(res, "model=%s images=%d batch=%d iterations=%d queue_ms=%.1f search_ms=%.1f",
            m->name, j->sr.n, pj->batch, j->results[0].gan.iterations, pj->wait_ms, elapsed - pj->wait_ms);
}

static void on_done(struct pool_job *pj)
{
    struct score_job *j = (struct score_job *)pj;
    j->answer(j);
    const struct api_request *req = j->req;
    score_job_free(j);
    req->resume(req->resume_token);
}

/* 503 for a full queue, held by the tarpit when there is one (tarpit.h says why); shape (NULL:
 * the /score error body) rewrites a held answer into the front door's own error body. */
static enum api_result busy(struct app *app, const struct api_request *req,
                            struct api_response *res, void (*shape)(struct api_response *res))
{
    api_error_status(res, STATUS_BUSY, "the search queue is full (%d waiting); retry shortly",
                     pool_capacity(app->pool));
    if (app->tarpit && req->resume &&
        tarpit_hold(app->tarpit, req->resume, req->resume_token) == STATUS_OK) {
        if (shape)
            shape(res);
        return API_PENDING;
    }
    return API_DONE;
}

enum api_result score_job_submit(struct score_job *j, struct app *app,
                                 const struct api_request *req, struct api_response *res)
{
    const struct anogan *m = j->sr.model;
    int n = j->sr.n;
    size_t isize = anogan_image_size(m);
    const char *dh = j->sr.deadline_ms ? NULL : api_header(req, "X-Deadline-Ms");
    if (dh) {
        long long ms;
        if (parse_int(&ms, "X-Deadline-Ms", dh, 1, SCORE_MAX_DEADLINE_MS)) {
            api_error(res, 422, "invalid_value", "%s", status_message());
            score_job_free(j);
            return API_DONE;
        }
        j->sr.deadline_ms = (int)ms;
    }
    j->width = malloc((size_t)n * sizeof *j->width);
    j->height = malloc((size_t)n * sizeof *j->height);
    j->x = malloc((size_t)n * isize * sizeof *j->x);
    j->seeds = malloc((size_t)n * sizeof *j->seeds);
    j->results = calloc((size_t)n, sizeof *j->results);
    j->recon = malloc((size_t)n * isize * sizeof *j->recon); /* for the regions, always */
    j->result_ids = malloc((size_t)n * sizeof *j->result_ids);
    if (!j->width || !j->height || !j->x || !j->seeds || !j->results || !j->recon ||
        !j->result_ids) {
        score_job_free(j);
        return api_error_status(res, STATUS_NOMEM, "no memory for the request");
    }
    for (int i = 0; i < n; i++) {
        const struct image *img = &j->sr.images[i];
        j->width[i] = img->width;
        j->height[i] = img->height;
        enum status s = anogan_preprocess(m, img, j->x + (size_t)i * isize);
        if (s != STATUS_OK) {
            api_error_status(res, s, "%s", status_message());
            score_job_free(j);
            return API_DONE;
        }
        j->seeds[i] = j->sr.seed; /* each image scores as it would alone */
        score_result_id(j->result_ids[i]);
    }
    /* The decoded pixels are no longer needed; only their sizes are. */
    for (int i = 0; i < n; i++)
        image_free(&j->sr.images[i]);

    j->app = app;
    j->req = req;
    j->res = res;
    j->pj = (struct pool_job){
        .kind = POOL_JOB_SCORE,
        .model = m,
        .search = j->sr.search,
        .n = n,
        .x = j->x,
        .seeds = j->seeds,
        .res = j->results,
        .recon = j->recon,
        .deadline = j->sr.deadline_ms ? j->t0 + j->sr.deadline_ms / 1e3 : 0,
        .done = on_done,
    };
    /* After SIGTERM nothing new is queued (cmd_serve waits for what is in flight, then stops). */
    enum status s =
        atomic_load(&app->shutting_down) ? STATUS_CANCELLED : pool_submit(app->pool, &j->pj);
    if (s == STATUS_OK)
        return API_PENDING;
    void (*shape)(struct api_response *) = j->error_shape;
    score_job_free(j);
    if (s == STATUS_BUSY)
        return busy(app, req, res, shape);
    return api_error_status(res, s, "the daemon is shutting down");
}

static enum api_result score_common(struct app *app, const struct api_request *req,
                                    struct api_response *res, bool batch)
{
    if (pool_admit(app->pool) == STATUS_BUSY)
        return busy(app, req, res, NULL); /* before the body is decoded: refusals stay cheap */
    struct score_job *j = score_job_create();
    if (!j)
        return api_error_status(res, STATUS_NOMEM, "no memory for the request");
    struct api_fail f;
    if (!score_parse(&j->sr, &f, app->cfg, app->models, req, batch)) {
        score_job_free(j);
        return api_error(res, f.status, f.code, "%s", f.message);
    }
    j->answer = answer;
    j->batch_api = batch;
    return score_job_submit(j, app, req, res);
}

enum api_result api_score(struct app *app, const struct api_route *route,
                          const struct api_request *req, struct api_response *res)
{
    (void)route;
    return score_common(app, req, res, false);
}

enum api_result api_score_batch(struct app *app, const struct api_route *route,
                                const struct api_request *req, struct api_response *res)
{
    (void)route;
    return score_common(app, req, res, true);
}
