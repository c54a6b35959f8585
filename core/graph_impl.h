/* graph_impl: what graph.c (parsing) and graph_build.c (matrices) share; not a public API. */
#ifndef INSPECTD_GRAPH_IMPL_H
#define INSPECTD_GRAPH_IMPL_H

#include "graph.h"

/* What building the adjacency dropped or noticed. Indexes are pair indexes (0-based), -1 if none. */
struct graph_build_info {
    int64_t nedges; /* undirected edges kept */
    int64_t self_loops, first_self_loop;
    int64_t duplicates, first_duplicate; /* pairs repeating an earlier pair (either orientation) */
    int isolated, first_isolated;        /* nodes with no edge but their self loop */
};

/* adj (n, n) = D̃^-1/2 (A + I) D̃^-1/2 from npairs undirected pairs (npairs, 2), every id already
 * checked to lie in [0, n). Self loops and duplicates are dropped and counted. adj is allocated
 * here (csr_release). */
enum status graph_build_adjacency(struct csr *adj, struct graph_build_info *info, int n,
                                  const int32_t *pairs, int64_t npairs);

/* Sorts each row of f by column and row-normalises it. A column repeated within a row is
 * STATUS_FORMAT with no message set: *first_repeat_row and *repeat_col say where, for the
 * caller's message. */
enum status graph_finish_features(struct csr *f, int *first_repeat_row, int32_t *repeat_col);

#endif
