/* rng: a small deterministic random number generator (xoshiro256**, Blackman & Vigna 2018,
 * seeded through splitmix64) with uniform and normal draws. Each stream is independent of every
 * other use, so a seeded request always gets the same numbers. Not for cryptography. */
#ifndef INSPECTD_RNG_H
#define INSPECTD_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1). */
double rng_uniform(struct rng *r);
/* Standard normal (Box-Muller). */
float rng_normal(struct rng *r);
/* Fills x[n] with N(mean, std^2). */
void rng_fill_normal(struct rng *r, float *x, size_t n, float mean, float std);
/* Fills x[n] uniform in [lo, hi). */
void rng_fill_uniform(struct rng *r, float *x, size_t n, float lo, float hi);
/* Uniform integer in [0, n), n > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);
/* Fisher-Yates shuffle of idx[n]. */
void rng_shuffle(struct rng *r, int *idx, size_t n);

#endif
