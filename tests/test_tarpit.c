/* test_tarpit: a held entry is resumed once, no sooner than the delay and in the order held; a
 * full tarpit refuses (and never resumes what it refused); tarpit_free resumes what it holds at
 * once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "clock.h"
#include "tarpit.h"
#include "testutil.h"

#define N 4

static atomic_int order_next;
static int order[N];
static double resumed_at[N];
static atomic_int times_resumed[N];

/* The tarpit's thread writes these, the test reads them: under one lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void resume(void *token)
{
    int i = (int)(intptr_t)token;
    pthread_mutex_lock(&lock);
    resumed_at[i] = clock_now();
    order[atomic_load(&order_next)] = i;
    atomic_fetch_add(&times_resumed[i], 1);
    atomic_fetch_add(&order_next, 1); /* last: wait_resumed then sees complete entries */
    pthread_mutex_unlock(&lock);
}

static void reset(void)
{
    atomic_store(&order_next, 0);
    for (int i = 0; i < N; i++) {
        order[i] = -1;
        resumed_at[i] = 0;
        atomic_store(&times_resumed[i], 0);
    }
}

static void wait_resumed(int n)
{
    double t0 = clock_now();
    while (atomic_load(&order_next) < n && clock_now() - t0 < 10)
        usleep(1000);
}

START_TEST(held_entries_wait_the_delay_in_order)
{
    reset();
    struct tarpit *t = NULL;
    ck_assert_int_eq(tarpit_create(&t, 100, 8), STATUS_OK);
    double held_at[N];
    for (int i = 0; i < N; i++) {
        held_at[i] = clock_now();
        ck_assert_int_eq(tarpit_hold(t, resume, (void *)(intptr_t)i), STATUS_OK);
        usleep(10000);
    }
    ck_assert_int_le(tarpit_depth(t), N);
    wait_resumed(N);
    pthread_mutex_lock(&lock);
    ck_assert_int_eq(atomic_load(&order_next), N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(order[i], i);
        ck_assert_int_eq(atomic_load(&times_resumed[i]), 1);
        ck_assert_double_ge(resumed_at[i] - held_at[i], 0.099);
        ck_assert_double_lt(resumed_at[i] - held_at[i], 5.0);
    }
    pthread_mutex_unlock(&lock);
    ck_assert_int_eq(tarpit_depth(t), 0);
    tarpit_free(t);
}
END_TEST

START_TEST(full_tarpit_refuses_and_free_resumes_at_once)
{
    reset();
    struct tarpit *t = NULL;
    ck_assert_int_eq(tarpit_create(&t, 60000, 2), STATUS_OK);
    ck_assert_int_eq(tarpit_hold(t, resume, (void *)(intptr_t)0), STATUS_OK);
    ck_assert_int_eq(tarpit_hold(t, resume, (void *)(intptr_t)1), STATUS_OK);
    ck_assert_int_eq(tarpit_hold(t, resume, (void *)(intptr_t)2), STATUS_BUSY);
    ck_assert_int_eq(tarpit_depth(t), 2);
    double t0 = clock_now();
    tarpit_free(t); /* a minute early: both resumed now, the refused one never */
    ck_assert_double_lt(clock_now() - t0, 5.0);
    ck_assert_int_eq(atomic_load(&order_next), 2);
    ck_assert_int_eq(atomic_load(&times_resumed[0]), 1);
    ck_assert_int_eq(atomic_load(&times_resumed[1]), 1);
    ck_assert_int_eq(atomic_load(&times_resumed[2]), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tarpit");
    TCase *t = tcase_create("tarpit");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, held_entries_wait_the_delay_in_order);
    tcase_add_test(t, full_tarpit_refuses_and_free_resumes_at_once);
    suite_add_tcase(s, t);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
