/* anogan_search: which search a score runs. The measured defaults of each start live here and
 * only here; anogan_search_resolve lays the command line or server settings, then a request's
 * fields, over them. The daemon's request parser, `inspectd score` and `inspectd eval anogan`
 * all call it, so the same image with the same settings gets the same score through each. The
 * search itself is anogan_score in anogan.c. */
#include <string.h>

#include "anogan.h"

struct anogan_search anogan_search_seed(void)
{
    struct anogan_search s = {.init = ANOGAN_INIT_RANDOM, .iterations = 5000, .lr = 1e-3f,
                              .patience = 0, .tol = 0.0f};
    return s;
}

/* The defaults of each start, measured on the shipped model (docs/benchmarks.md). Random: 100
 * steps at lr 0.05 score AUROC 0.891 on the first 60 held-out digits, against 0.869 for the
 * seed's 5000 steps at lr 1e-3, in 1/56 of the time. Encoder: over all 1505 held-out 2/7/8
 * digits, z0 = E(x) alone scores AUROC 0.928, E(x) + 5 steps 0.929, + 20 steps 0.929 at 20x the
 * cost. On Fashion-MNIST 5 steps add 0.025, but cost ~100 ms at batch 1, twice a line's 50 ms
 * budget. So the encoder start alone is its default; refinement steps are a flag (--iterations)
 * or a request field ("iterations") away, at the random start's lr. */
static struct anogan_search start_defaults(enum anogan_init init)
{
    struct anogan_search s = {.init = init, .iterations = 100, .lr = 5e-2f, .patience = 0,
                              .tol = 0.0f};
    if (init == ANOGAN_INIT_ENCODER)
        s.iterations = 0;
    return s;
}

/* Copies the fields the layer sets. */
static void overlay(struct anogan_search *s, uint64_t *seed, const struct anogan_search_layer *l)
{
    if (!l)
        return;
    if (l->has_iterations)
        s->iterations = l->iterations;
    if (l->has_lr)
        s->lr = l->lr;
    if (l->has_patience)
        s->patience = l->patience;
    if (l->has_tol)
        s->tol = l->tol;
    if (l->has_seed)
        *seed = l->seed;
}

enum status anogan_search_resolve(struct anogan_search *out, uint64_t *seed,
                                  const struct anogan *m,
                                  const struct anogan_search_layer *settings,
                                  const struct anogan_search_layer *request)
{
    enum anogan_mode mode = ANOGAN_MODE_AUTO;
    if (settings && settings->has_mode)
        mode = settings->mode;
    if (request && request->has_mode)
        mode = request->mode;
    bool has_encoder = m && m->has_encoder;
    if (mode == ANOGAN_MODE_ENCODER && !has_encoder)
        return status_fail(STATUS_UNSUPPORTED, "model '%s' has no encoder; use search random",
                           m ? m->name : "(none)");
    enum anogan_init init = mode == ANOGAN_MODE_ENCODER || (mode == ANOGAN_MODE_AUTO && has_encoder)
                                ? ANOGAN_INIT_ENCODER
                                : ANOGAN_INIT_RANDOM;
    struct anogan_search s = start_defaults(init);
    uint64_t sd = 0;
    overlay(&s, &sd, settings);
    overlay(&s, &sd, request);
    *out = s;
    if (seed)
        *seed = sd;
    return STATUS_OK;
}

struct anogan_search anogan_search_default(const struct anogan *m)
{
    struct anogan_search s;
    enum status st = anogan_search_resolve(&s, NULL, m, NULL, NULL);
    ASSERT(st == STATUS_OK); /* "auto" never asks for a missing encoder */
    return s;
}

const char *anogan_init_name(enum anogan_init init)
{
    switch (init) {
    case ANOGAN_INIT_RANDOM: return "random";
    case ANOGAN_INIT_ENCODER: return "encoder";
    case ANOGAN_INIT_GIVEN: return "given";
    }
    return "unknown";
}

const char *anogan_mode_name(enum anogan_mode mode)
{
    switch (mode) {
    case ANOGAN_MODE_RANDOM: return "random";
    case ANOGAN_MODE_ENCODER: return "encoder";
    case ANOGAN_MODE_AUTO: break;
    }
    return "auto";
}

int anogan_mode_parse(const char *name)
{
    for (int m = ANOGAN_MODE_AUTO; m <= ANOGAN_MODE_ENCODER; m++)
        if (!strcmp(name, anogan_mode_name((enum anogan_mode)m)))
            return m;
    return -1;
}
