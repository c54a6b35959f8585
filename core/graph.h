/* graph: the attributed graphs a GCN runs on, and the plain-text graph folder format.
 *
 * A folder (see shared/datasets/cora/README.md) holds
 *   features.svm   one line per node, in id order: "<label> <col>:<val> ...", 0-based columns,
 *                  label -1 = unknown; a node with no pairs has no features (its row stays zero)
 *   edges.tsv      "u<TAB>v" per line (any blank separator), undirected, 0-based node ids
 *   train.idx, val.idx, test.idx   one node id per line (each optional)
 * Blank lines and lines starting with '#' are skipped in edges.tsv and the .idx files.
 *
 * What is an error and what is repaired (errors name the file and line, through status_fail):
 *   error:    an unparsable line, a node id or column out of range, a non-finite value, a column
 *             twice on one line, an id twice in one split, a split node without a label
 *   repaired: self loops in edges.tsv (dropped: A + I adds every self loop once), duplicate edges
 *             (u v twice, or u v and v u: kept once), isolated nodes and nodes without features
 *             (valid: an isolated node sees only itself). Each repair is counted in
 *             struct graph_report, with the first line where it happened, so callers can warn.
 *
 * In memory a graph holds the two sparse matrices the GCN multiplies by, already normalised
 * (Kipf & Welling 2017, eq. 2 and section 5.1):
 *   adj  Â = D̃^-1/2 (A + I) D̃^-1/2, (N, N), symmetric, every row holds its diagonal entry
 *   feat X̂ = X with each row divided by its sum (rows summing to zero are left as they are),
 *        (N, F)
 * Both are CSR with sorted column indices and no repeated columns. A graph is immutable after
 * construction, so several threads may read one at a time. */
#ifndef INSPECTD_GRAPH_H
#define INSPECTD_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define GRAPH_MAX_NODES (1 << 30)    /* node ids and columns must fit an int32 */
#define GRAPH_MAX_FEATURES (1 << 24) /* columns in features.svm */

/* Compressed sparse rows: the entries of row i are col[rowptr[i] .. rowptr[i+1]) and the same
 * range of val. Columns are sorted within a row. */
struct csr {
    int nrows, ncols;
    int64_t nnz;
    int64_t *rowptr; /* (nrows + 1) */
    int32_t *col;    /* (nnz) */
    float *val;      /* (nnz) */
};

struct graph {
    char *name;      /* dataset name (the folder's base name, or as given); owned */
    int nnodes;      /* N */
    int nfeatures;   /* F */
    int nclasses;    /* 1 + the largest label (0 when no node is labelled) */
    int64_t nedges;  /* undirected edges kept, self loops not counted */
    struct csr adj;  /* Â (N, N), normalised, with self loops */
    struct csr feat; /* X̂ (N, F), row-normalised */
    int32_t *labels; /* (N) class of each node, -1 = unknown */
    uint8_t *is_train; /* (N) 1 for nodes in the training split */
    int32_t *train, *val, *test; /* node ids of each split, in file order */
    int ntrain, nval, ntest;
};

/* What the loader repaired or noticed; all zero for a clean graph. Line numbers are 1-based,
 * 0 when there was no such case. */
struct graph_report {
    int64_t self_loops, duplicate_edges;
    int64_t first_self_loop_line, first_duplicate_line;
    int isolated_nodes, featureless_nodes;
    int first_isolated_node, first_featureless_node; /* -1 if none */
};

/* The text of a graph folder held in memory. features is required; the others may be NULL
 * (no edges, empty split). Texts need not be NUL-terminated; lengths are in bytes. */
struct graph_text {
    const char *features, *edges, *train, *val, *test;
    size_t features_len, edges_len, train_len, val_len, test_len;
};

/* Parses the texts of a graph folder. name is the dataset name stored in the graph and used in
 * error messages ("NAME/edges.tsv:12: ..."). On success *out is owned by the caller (graph_free);
 * report (may be NULL) receives what was repaired. On failure *out is NULL. */
enum status graph_parse(struct graph **out, struct graph_report *report,
                        const struct graph_text *text, const char *name);

/* Reads DIR/features.svm, DIR/edges.tsv and DIR/{train,val,test}.idx (the .idx files and
 * edges.tsv may be absent) and parses them as graph_parse does. The name is DIR's base name. */
enum status graph_load(struct graph **out, struct graph_report *report, const char *dir);

/* Builds a graph from arrays, for graphs sent in a request (inductive use). Nothing is taken
 * over: the arrays are copied.
 *   nnodes     N >= 1
 *   nfeatures  F: the feature width the model expects; every column must be < F
 *   feat_rowptr (N + 1), feat_col, feat_val (feat_rowptr[N]): node i's features are the
 *              (column, value) pairs feat_rowptr[i] .. feat_rowptr[i+1], in any column order
 *   edges      (nedges, 2) node id pairs, undirected; self loops and duplicates are dropped and
 *              counted in report as graph_parse does (line numbers are then pair indexes + 1)
 * Labels are all unknown and the splits empty. Errors (STATUS_RANGE / STATUS_FORMAT) name the
 * offending node, pair or column, e.g. "edge 3: node 12 out of range [0, 10)". */
enum status graph_from_arrays(struct graph **out, struct graph_report *report, int nnodes,
                              int nfeatures, const int64_t *feat_rowptr, const int32_t *feat_col,
                              const float *feat_val, const int32_t *edges, int64_t nedges,
                              const char *name);

/* Frees g and everything it owns; NULL is fine. */
void graph_free(struct graph *g);

/* ---- CSR helpers (used by the GCN and by tests) -------------------------------------------- */
/* Allocates the three arrays of m for (nrows, ncols, nnz); values uninitialised. */
enum status csr_alloc(struct csr *m, int nrows, int ncols, int64_t nnz);
void csr_release(struct csr *m);

#endif
