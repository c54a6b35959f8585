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

/* ---- graph_text.c: the folder's line formats, parsed from memory -------------------------- */
/* Grows *buf (elements of size elem) to hold at least need elements; 0 if out of memory. */
int graph_grow(void **buf, size_t *cap, size_t need, size_t elem);
/* features.svm: f (N, max column + 1) filled, sorted and row-normalised; labels (N) allocated.
 * where names the folder in messages. Both freed by the callee on failure. */
enum status graph_parse_features(struct csr *f, int32_t **labels, const char *txt, size_t len,
                                 const char *where);
/* edges.tsv: *pairs (npairs, 2), every id checked against n; txt may be NULL (no edges). */
enum status graph_parse_edges(int32_t **pairs, int64_t *npairs, const char *txt, size_t len, int n,
                              const char *where);
/* Line number of the edge line with index k (0-based, blank and comment lines skipped); 0 if
 * k < 0. */
int64_t graph_edge_line(const char *txt, size_t len, int64_t k);
/* One .idx split (file names it in messages): ids in range, labelled, not repeated. txt may be
 * NULL (empty split). */
enum status graph_parse_split(int32_t **ids, int *count, const char *txt, size_t len,
                              const int32_t *labels, int n, const char *where, const char *file);

#endif
