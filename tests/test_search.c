/* test_search: anogan_search_resolve, the one place that decides which search a score runs:
 * the defaults of each start, every mode at every layer (command line or server settings, then
 * the request), every field set by either layer alone or by both, the seed, a zeroed layer
 * setting nothing, and the refusal of the encoder start for a model without an encoder. */
#include <string.h>

#include "anogan.h"
#include "testutil.h"

/* The resolver reads only has_encoder and name: no networks needed. */
static struct anogan with_encoder, without_encoder;

static void setup(void)
{
    memset(&with_encoder, 0, sizeof with_encoder);
    memset(&without_encoder, 0, sizeof without_encoder);
    with_encoder.has_encoder = true;
    snprintf(with_encoder.name, sizeof with_encoder.name, "enc");
    snprintf(without_encoder.name, sizeof without_encoder.name, "plain");
}

static struct anogan_search resolve(const struct anogan *m, const struct anogan_search_layer *a,
                                    const struct anogan_search_layer *b, uint64_t *seed)
{
    struct anogan_search s;
    memset(&s, 0xAB, sizeof s);
    ck_assert_int_eq(anogan_search_resolve(&s, seed, m, a, b), STATUS_OK);
    return s;
}

static void assert_search(struct anogan_search s, enum anogan_init init, int iterations, float lr,
                          int patience, float tol)
{
    ck_assert_msg(s.init == init && s.iterations == iterations && s.lr == lr &&
                      s.patience == patience && s.tol == tol,
                  "got %s %d lr %g patience %d tol %g, want %s %d lr %g patience %d tol %g",
                  anogan_init_name(s.init), s.iterations, (double)s.lr, s.patience, (double)s.tol,
                  anogan_init_name(init), iterations, (double)lr, patience, (double)tol);
}

static struct anogan_search_layer mode_layer(enum anogan_mode mode)
{
    return (struct anogan_search_layer){.has_mode = true, .mode = mode};
}

START_TEST(test_defaults_by_start)
{
    uint64_t seed = 99;
    /* auto: the encoder start, no steps, when the model has an encoder; else 100 random steps */
    assert_search(resolve(&with_encoder, NULL, NULL, &seed), ANOGAN_INIT_ENCODER, 0, 0.05f, 0, 0);
    ck_assert(seed == 0);
    assert_search(resolve(&without_encoder, NULL, NULL, NULL), ANOGAN_INIT_RANDOM, 100, 0.05f, 0,
                  0);
    assert_search(resolve(NULL, NULL, NULL, NULL), ANOGAN_INIT_RANDOM, 100, 0.05f, 0, 0);
    /* anogan_search_default is the resolver with no layers */
    assert_search(anogan_search_default(&with_encoder), ANOGAN_INIT_ENCODER, 0, 0.05f, 0, 0);
    assert_search(anogan_search_default(&without_encoder), ANOGAN_INIT_RANDOM, 100, 0.05f, 0, 0);
    assert_search(anogan_search_default(NULL), ANOGAN_INIT_RANDOM, 100, 0.05f, 0, 0);
    /* a zeroed layer sets nothing, whatever its values say */
    struct anogan_search_layer junk = {.mode = ANOGAN_MODE_RANDOM, .iterations = 7, .lr = 3,
                                       .patience = 4, .tol = 0.5f, .seed = 11};
    struct anogan_search_layer zero = {0};
    assert_search(resolve(&with_encoder, &junk, &zero, &seed), ANOGAN_INIT_ENCODER, 0, 0.05f, 0, 0);
    ck_assert(seed == 0);
}
END_TEST

/* Every mode, named by the settings layer, by the request, or by both (the request's wins):
 * the start and its defaults follow the mode that wins. */
START_TEST(test_modes_at_every_layer)
{
    struct {
        const struct anogan *m;
        enum anogan_mode mode;
        enum anogan_init init;
        int iterations;
    } cases[] = {
        {&with_encoder, ANOGAN_MODE_AUTO, ANOGAN_INIT_ENCODER, 0},
        {&with_encoder, ANOGAN_MODE_ENCODER, ANOGAN_INIT_ENCODER, 0},
        /* the bug of issue 19: random on an encoder model kept the encoder's 0 steps */
        {&with_encoder, ANOGAN_MODE_RANDOM, ANOGAN_INIT_RANDOM, 100},
        {&without_encoder, ANOGAN_MODE_AUTO, ANOGAN_INIT_RANDOM, 100},
        {&without_encoder, ANOGAN_MODE_RANDOM, ANOGAN_INIT_RANDOM, 100},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct anogan_search_layer l = mode_layer(cases[i].mode);
        /* the settings layer alone, the request alone */
        assert_search(resolve(cases[i].m, &l, NULL, NULL), cases[i].init, cases[i].iterations,
                      0.05f, 0, 0);
        assert_search(resolve(cases[i].m, NULL, &l, NULL), cases[i].init, cases[i].iterations,
                      0.05f, 0, 0);
        /* the request's mode beats every other mode of the settings */
        for (int other = ANOGAN_MODE_AUTO; other <= ANOGAN_MODE_ENCODER; other++) {
            if (other == ANOGAN_MODE_ENCODER && !cases[i].m->has_encoder)
                continue;
            struct anogan_search_layer s = mode_layer((enum anogan_mode)other);
            assert_search(resolve(cases[i].m, &s, &l, NULL), cases[i].init, cases[i].iterations,
                          0.05f, 0, 0);
        }
        /* a request without a mode keeps the settings' */
        struct anogan_search_layer fields_only = {.has_lr = true, .lr = 0.01f};
        assert_search(resolve(cases[i].m, &l, &fields_only, NULL), cases[i].init,
                      cases[i].iterations, 0.01f, 0, 0);
    }
}
END_TEST

/* Each field: set by the settings alone, by the request alone, by both (the request's wins), and
 * laid over either start's defaults. */
START_TEST(test_fields_at_every_layer)
{
    struct anogan_search_layer s = {.has_iterations = true, .iterations = 7, .has_lr = true,
                                    .lr = 0.2f, .has_patience = true, .patience = 5,
                                    .has_tol = true, .tol = 0.01f, .has_seed = true, .seed = 42};
    struct anogan_search_layer r = {.has_iterations = true, .iterations = 3, .has_lr = true,
                                    .lr = 0.3f, .has_patience = true, .patience = 2,
                                    .has_tol = true, .tol = 0.02f, .has_seed = true, .seed = 9};
    uint64_t seed = 1;
    assert_search(resolve(&with_encoder, &s, NULL, &seed), ANOGAN_INIT_ENCODER, 7, 0.2f, 5, 0.01f);
    ck_assert(seed == 42);
    assert_search(resolve(&with_encoder, NULL, &r, &seed), ANOGAN_INIT_ENCODER, 3, 0.3f, 2, 0.02f);
    ck_assert(seed == 9);
    assert_search(resolve(&with_encoder, &s, &r, &seed), ANOGAN_INIT_ENCODER, 3, 0.3f, 2, 0.02f);
    ck_assert(seed == 9);
    assert_search(resolve(&without_encoder, &s, &r, &seed), ANOGAN_INIT_RANDOM, 3, 0.3f, 2, 0.02f);

    /* one field at a time from the request over the settings: the rest stays the settings' */
    const char *names[] = {"iterations", "lr", "patience", "tol", "seed"};
    for (int f = 0; f < 5; f++) {
        struct anogan_search_layer one = {0};
        one.has_iterations = f == 0, one.iterations = 3;
        one.has_lr = f == 1, one.lr = 0.3f;
        one.has_patience = f == 2, one.patience = 2;
        one.has_tol = f == 3, one.tol = 0.02f;
        one.has_seed = f == 4, one.seed = 9;
        struct anogan_search got = resolve(&without_encoder, &s, &one, &seed);
        ck_assert_msg(got.iterations == (f == 0 ? 3 : 7), "%s: iterations", names[f]);
        ck_assert_msg(got.lr == (f == 1 ? 0.3f : 0.2f), "%s: lr", names[f]);
        ck_assert_msg(got.patience == (f == 2 ? 2 : 5), "%s: patience", names[f]);
        ck_assert_msg(got.tol == (f == 3 ? 0.02f : 0.01f), "%s: tol", names[f]);
        ck_assert_msg(seed == (f == 4 ? 9u : 42u), "%s: seed", names[f]);
        /* and the same field alone over the defaults of each start */
        got = resolve(&with_encoder, NULL, &one, NULL);
        assert_search(got, ANOGAN_INIT_ENCODER, f == 0 ? 3 : 0, f == 1 ? 0.3f : 0.05f,
                      f == 2 ? 2 : 0, f == 3 ? 0.02f : 0);
        got = resolve(&without_encoder, &one, NULL, NULL);
        assert_search(got, ANOGAN_INIT_RANDOM, f == 0 ? 3 : 100, f == 1 ? 0.3f : 0.05f,
                      f == 2 ? 2 : 0, f == 3 ? 0.02f : 0);
    }
    /* steps set by the settings hold for whichever start the request then picks */
    struct anogan_search_layer steps = {.has_iterations = true, .iterations = 20};
    struct anogan_search_layer enc = mode_layer(ANOGAN_MODE_ENCODER);
    struct anogan_search_layer rnd = mode_layer(ANOGAN_MODE_RANDOM);
    assert_search(resolve(&with_encoder, &steps, &enc, NULL), ANOGAN_INIT_ENCODER, 20, 0.05f, 0, 0);
    assert_search(resolve(&with_encoder, &steps, &rnd, NULL), ANOGAN_INIT_RANDOM, 20, 0.05f, 0, 0);
    /* a zero is a value, not "unset" */
    struct anogan_search_layer none = {.has_iterations = true, .iterations = 0};
    assert_search(resolve(&without_encoder, &none, NULL, NULL), ANOGAN_INIT_RANDOM, 0, 0.05f, 0, 0);
}
END_TEST

START_TEST(test_encoder_without_encoder)
{
    struct anogan_search s = anogan_search_seed();
    struct anogan_search_layer enc = mode_layer(ANOGAN_MODE_ENCODER);
    struct anogan_search_layer aut = mode_layer(ANOGAN_MODE_AUTO);
    ck_assert_int_eq(anogan_search_resolve(&s, NULL, &without_encoder, &enc, NULL),
                     STATUS_UNSUPPORTED);
    ck_assert_msg(strstr(status_message(), "'plain' has no encoder"), "%s", status_message());
    ck_assert_int_eq(anogan_search_resolve(&s, NULL, &without_encoder, NULL, &enc),
                     STATUS_UNSUPPORTED);
    ck_assert_int_eq(anogan_search_resolve(&s, NULL, NULL, NULL, &enc), STATUS_UNSUPPORTED);
    /* the request's auto overrides the settings' encoder: a random start */
    assert_search(resolve(&without_encoder, &enc, &aut, NULL), ANOGAN_INIT_RANDOM, 100, 0.05f, 0,
                  0);
}
END_TEST

START_TEST(test_mode_names)
{
    /* ANOGAN_MODE_CHOICES lists the names in enum order: option tables store the index */
    const char *p = ANOGAN_MODE_CHOICES;
    for (int m = ANOGAN_MODE_AUTO; m <= ANOGAN_MODE_ENCODER; m++) {
        const char *name = anogan_mode_name((enum anogan_mode)m);
        ck_assert(!strncmp(p, name, strlen(name)));
        p += strlen(name) + (p[strlen(name)] == '|');
        ck_assert_int_eq(anogan_mode_parse(name), m);
    }
    ck_assert(!*p);
    ck_assert_int_eq(anogan_mode_parse("given"), -1);
    ck_assert_int_eq(anogan_mode_parse(""), -1);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("resolve");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_defaults_by_start);
    tcase_add_test(tc, test_modes_at_every_layer);
    tcase_add_test(tc, test_fields_at_every_layer);
    tcase_add_test(tc, test_encoder_without_encoder);
    tcase_add_test(tc, test_mode_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    return tu_main(suite(), argc, argv);
}
