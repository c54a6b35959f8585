/* test_pool: the worker pool on a tiny random model: a job's results equal a direct
 * anogan_score of the same images; queued compatible jobs are searched as one batch (and still
 * score as they would alone); incompatible ones are not joined; a job larger than max_batch is
 * split; a full queue refuses at once (pool_admit too, before any work); cancel fails queued
 * work; a job whose deadline passed while queued is dropped unscored (and counted); pool_free
 * drains the queue. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "metrics.h"
#include "pool.h"
#include "testutil.h"

static struct anogan *model;
static size_t isize;

static void setup(void)
{
    struct anogan_config c = anogan_config_seed();
    c.width = 4;
    ck_assert_int_eq(anogan_create(&model, &c, 11), STATUS_OK);
    isize = anogan_image_size(model);
}

static void teardown(void)
{
    anogan_free(model);
}

/* ---- jobs ---- */

static atomic_int finished;

struct test_job {
    struct pool_job pj;
    float *x, *recon;
    uint64_t *seeds;
    struct detect_result *res;
};

static void count_done(struct pool_job *pj)
{
    (void)pj;
    atomic_fetch_add(&finished, 1);
}

static struct test_job *make_job(int n, int iterations, uint64_t seed0)
{
    struct test_job *j = calloc(1, sizeof *j);
    j->x = malloc((size_t)n * isize * sizeof *j->x);
    j->recon = malloc((size_t)n * isize * sizeof *j->recon);
    j->seeds = malloc((size_t)n * sizeof *j->seeds);
    j->res = calloc((size_t)n, sizeof *j->res);
    for (int i = 0; i < n; i++) {
        tu_fill_uniform(j->x + (size_t)i * isize, isize, seed0 + (uint64_t)i, 1.5f);
        j->seeds[i] = seed0 + (uint64_t)i;
    }
    j->pj = (struct pool_job){.kind = POOL_JOB_SCORE, .model = model, .n = n, .x = j->x,
                              .seeds = j->seeds, .res = j->res, .recon = j->recon,
                              .done = count_done};
    j->pj.search = anogan_search_default(model);
    j->pj.search.iterations = iterations;
    return j;
}

static void free_job(struct test_job *j)
{
    free(j->x);
    free(j->recon);
    free(j->seeds);
    free(j->res);
    free(j);
}

/* Scores image i of j alone, directly, and compares with what the pool gave. */
static void expect_alone(const struct test_job *j, int i)
{
    struct anogan_ctx *c = anogan_ctx_create(model, 1);
    ck_assert_ptr_nonnull(c);
    struct anogan_result r;
    float *recon = malloc(isize * sizeof *recon);
    ck_assert_int_eq(anogan_score(c, j->x + (size_t)i * isize, 1, &j->seeds[i], &j->pj.search, &r,
                                  recon, NULL, NULL),
                     STATUS_OK);
    float got = j->res[i].score; /* an AnoGAN-only model: the fused score is the AnoGAN score */
    ck_assert_msg(fabsf(got - r.score) <= 1e-4f * fabsf(r.score) + 1e-5f,
                  "image %d: pool %g, alone %g", i, (double)got, (double)r.score);
    ck_assert(j->res[i].gan.score == got);
    ck_assert_int_eq(j->res[i].gan.iterations, r.iterations);
    ck_assert(tu_max_rel_err(j->recon + (size_t)i * isize, recon, isize, 1e-3) < 1e-3);
    free(recon);
    anogan_ctx_free(c);
}

static void wait_finished(int n)
{
    for (int t = 0; t < 60000 && atomic_load(&finished) < n; t++)
        usleep(1000);
    ck_assert_int_eq(atomic_load(&finished), n);
}

/* A call job that holds its worker until released. */
static atomic_int gate_open, gate_entered;
static void gate_call(struct pool_job *pj)
{
    (void)pj;
    atomic_store(&gate_entered, 1);
    while (!atomic_load(&gate_open))
        usleep(500);
}

static struct pool_job gate;

/* Submits the gate job to p and waits until a worker holds it (the only one, in these tests),
 * so what is submitted next stays queued until atomic_store(&gate_open, 1). */
static void hold_worker(struct pool *p)
{
    atomic_store(&gate_open, 0);
    atomic_store(&gate_entered, 0);
    gate = (struct pool_job){.kind = POOL_JOB_CALL, .call = gate_call, .done = count_done};
    ck_assert_int_eq(pool_submit(p, &gate), STATUS_OK);
    for (int t = 0; t < 10000 && !atomic_load(&gate_entered); t++)
        usleep(1000);
    ck_assert(atomic_load(&gate_entered));
}

/* A pool with these options and metrics m (may be NULL), the finished count set to 0. */
static struct pool *start_pool(struct pool_options o, struct metrics *m)
{
    atomic_store(&finished, 0);
    struct pool *p = NULL;
    ck_assert_int_eq(pool_create(&p, &o, m), STATUS_OK);
    return p;
}

/* One job of n images through a pool with options o: it succeeds in batches of want_batch, and
 * every image scores as it would alone. */
static void expect_job_scored_as_alone(struct pool_options o, int n, int iterations, uint64_t seed0,
                                       int want_batch)
{
    struct pool *p = start_pool(o, NULL);
    struct test_job *j = make_job(n, iterations, seed0);
    ck_assert_int_eq(pool_submit(p, &j->pj), STATUS_OK);
    wait_finished(1);
    ck_assert_int_eq(j->pj.status, STATUS_OK);
    ck_assert_int_eq(j->pj.batch, want_batch);
    for (int i = 0; i < n; i++)
        expect_alone(j, i);
    pool_free(p);
    free_job(j);
}

/* ---- tests ---- */

START_TEST(single_job_matches_direct_score)
{
    struct pool_options o = {.workers = 2, .capacity = 4, .max_batch = 4};
    expect_job_scored_as_alone(o, 3, 4, 100, 3);
}
END_TEST

START_TEST(queued_jobs_are_batched)
{
    struct pool_options o = {.workers = 1, .capacity = 16, .max_batch = 8, .batch_wait_ms = 0};
    struct pool *p = start_pool(o, NULL);
    hold_worker(p);
    /* While the only worker is held: four compatible jobs and one with other settings. */
    struct test_job *j[5];
    for (int i = 0; i < 5; i++) {
        j[i] = make_job(1, i == 2 ? 5 : 3, 200 + 10 * (uint64_t)i);
        ck_assert_int_eq(pool_submit(p, &j[i]->pj), STATUS_OK);
    }
    ck_assert_int_eq(pool_depth(p), 5);
    atomic_store(&gate_open, 1);
    wait_finished(6);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(j[i]->pj.status, STATUS_OK);
        ck_assert_int_eq(j[i]->pj.batch, i == 2 ? 1 : 4);
        expect_alone(j[i], 0);
        free_job(j[i]);
    }
    pool_free(p);
}
END_TEST

START_TEST(large_job_is_split)
{
    struct pool_options o = {.workers = 1, .capacity = 4, .max_batch = 2};
    expect_job_scored_as_alone(o, 5, 2, 300, 2);
}
END_TEST

START_TEST(full_queue_refuses)
{
    struct pool_options o = {.workers = 1, .capacity = 2, .max_batch = 1};
    struct pool *p = start_pool(o, NULL);
    hold_worker(p);
    struct test_job *a = make_job(1, 1, 1), *b = make_job(1, 1, 2), *c = make_job(1, 1, 3);
    ck_assert_int_eq(pool_admit(p), STATUS_OK);
    ck_assert_int_eq(pool_submit(p, &a->pj), STATUS_OK);
    ck_assert_int_eq(pool_submit(p, &b->pj), STATUS_OK);
    ck_assert_int_eq(pool_admit(p), STATUS_BUSY); /* the early refusal sees the full queue */
    ck_assert_int_eq(pool_submit(p, &c->pj), STATUS_BUSY);
    ck_assert_int_eq(pool_depth(p), 2);
    ck_assert_int_eq(pool_busy(p), 1);
    atomic_store(&gate_open, 1);
    wait_finished(3); /* c was never queued: its done is not called */
    ck_assert_int_eq(pool_depth(p), 0);
    pool_free(p);
    free_job(a);
    free_job(b);
    free_job(c);
}
END_TEST

START_TEST(cancel_fails_queued_work)
{
    struct pool_options o = {.workers = 1, .capacity = 4, .max_batch = 4};
    struct pool *p = start_pool(o, NULL);
    hold_worker(p);
    struct test_job *a = make_job(2, 1000, 5);
    ck_assert_int_eq(pool_submit(p, &a->pj), STATUS_OK);
    pool_cancel(p);
    atomic_store(&gate_open, 1);
    wait_finished(2);
    ck_assert_int_eq(a->pj.status, STATUS_CANCELLED);
    ck_assert(a->pj.message[0]);
    struct test_job *b = make_job(1, 1, 6);
    ck_assert_int_eq(pool_submit(p, &b->pj), STATUS_CANCELLED);
    pool_free(p);
    free_job(a);
    free_job(b);
}
END_TEST

START_TEST(expired_jobs_are_dropped)
{
    struct metrics *m = metrics_create(NULL, 0);
    ck_assert_ptr_nonnull(m);
    struct pool_options o = {.workers = 1, .capacity = 4, .max_batch = 4};
    struct pool *p = start_pool(o, m);
    hold_worker(p);
    /* queued behind the gate: one whose deadline passes while it waits, one with time left,
     * one without a deadline; the first is dropped unscored, the others score as alone */
    struct test_job *late = make_job(1, 2, 7), *ok = make_job(1, 2, 8), *none = make_job(1, 2, 9);
    late->pj.deadline = clock_now() + 0.02;
    ok->pj.deadline = clock_now() + 600;
    ck_assert_int_eq(pool_submit(p, &late->pj), STATUS_OK);
    ck_assert_int_eq(pool_submit(p, &ok->pj), STATUS_OK);
    ck_assert_int_eq(pool_submit(p, &none->pj), STATUS_OK);
    wait_finished(1); /* the reaper answers it at its deadline, the worker still held */
    ck_assert(late->pj.expired);
    atomic_store(&gate_open, 1);
    wait_finished(4);
    ck_assert(late->pj.expired);
    ck_assert_int_eq(late->pj.status, STATUS_CANCELLED);
    ck_assert_msg(strstr(late->pj.message, "deadline"), "%s", late->pj.message);
    ck_assert(!ok->pj.expired && ok->pj.status == STATUS_OK);
    ck_assert(!none->pj.expired && none->pj.status == STATUS_OK);
    expect_alone(ok, 0);
    expect_alone(none, 0);
    ck_assert_int_eq(metrics_expired_count(m), 1);
    ck_assert_int_eq(metrics_images_scored(m), 2);
    pool_free(p);
    metrics_free(m);
    free_job(late);
    free_job(ok);
    free_job(none);
}
END_TEST

START_TEST(free_drains_the_queue)
{
    struct pool_options o = {.workers = 1, .capacity = 8, .max_batch = 1};
    struct pool *p = start_pool(o, NULL);
    struct test_job *j[4];
    for (int i = 0; i < 4; i++) {
        j[i] = make_job(1, 2, 40 + (uint64_t)i);
        ck_assert_int_eq(pool_submit(p, &j[i]->pj), STATUS_OK);
    }
    pool_free(p); /* returns only when every queued job is done */
    ck_assert_int_eq(atomic_load(&finished), 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(j[i]->pj.status, STATUS_OK);
        free_job(j[i]);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pool");
    TCase *t = tcase_create("pool");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 120);
    tcase_add_test(t, single_job_matches_direct_score);
    tcase_add_test(t, queued_jobs_are_batched);
    tcase_add_test(t, large_job_is_split);
    tcase_add_test(t, full_queue_refuses);
    tcase_add_test(t, cancel_fails_queued_work);
    tcase_add_test(t, expired_jobs_are_dropped);
    tcase_add_test(t, free_drains_the_queue);
    suite_add_tcase(s, t);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
