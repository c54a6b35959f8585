/* test_graph: core/graph.h.
 *  - a small hand-made folder text: Â against a dense D̃^-1/2 (A+I) D̃^-1/2 computed here, X̂ row
 *    sums, the repairs (self loop, duplicate edge in either orientation, isolated and featureless
 *    nodes) with their line numbers;
 *  - every rejection names the file and line; texts are read only up to their length;
 *  - graph_from_arrays builds the same matrices as the text, and rejects bad arrays by name;
 *  - Cora (the golden half, test_graph --golden: SKIP when ../shared is absent): the sizes its
 *    README states, symmetry, row sums;
 *  - the fuzz seeds (fuzz/corpus/fuzz_graph, all accepted) and regressions (fuzz/regress/
 *    fuzz_graph, parsed without a crash), in the fuzz target's format: texts joined by NULs. */
#include "graph.h"
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses texts (NULL = absent) into a graph, copying each into an exact-size heap buffer without
 * a NUL so that a read past the end shows under ASan. */
static enum status parse5(struct graph **g, struct graph_report *rep, const char *feat,
                          const char *edges, const char *train, const char *val, const char *test)
{
    const char *src[5] = {feat, edges, train, val, test};
    char *buf[5] = {0};
    size_t len[5] = {0};
    for (int i = 0; i < 5; i++)
        if (src[i]) {
            len[i] = strlen(src[i]);
            buf[i] = malloc(len[i] ? len[i] : 1);
            ck_assert_ptr_nonnull(buf[i]);
            memcpy(buf[i], src[i], len[i]);
        }
    struct graph_text t = {buf[0], buf[1], buf[2], buf[3], buf[4],
                           len[0], len[1], len[2], len[3], len[4]};
    enum status s = graph_parse(g, rep, &t, "tiny");
    for (int i = 0; i < 5; i++)
        free(buf[i]);
    return s;
}

/* Dense value of CSR m at (i, j), 0 when absent. */
static double csr_at(const struct csr *m, int i, int j)
{
    for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++)
        if (m->col[k] == j)
            return m->val[k];
    return 0;
}

static void check_csr_sorted(const struct csr *m)
{
    ck_assert_int_eq(m->rowptr[0], 0);
    ck_assert_int_eq(m->rowptr[m->nrows], m->nnz);
    for (int i = 0; i < m->nrows; i++)
        for (int64_t k = m->rowptr[i]; k < m->rowptr[i + 1]; k++) {
            ck_assert(m->col[k] >= 0 && m->col[k] < m->ncols);
            if (k > m->rowptr[i])
                ck_assert_int_lt(m->col[k - 1], m->col[k]);
        }
}

/* Â for n nodes and an edge list, densely: the definition, with duplicates and loops removed. */
static void dense_norm_adj(double *a, int n, const int *edges, int ne)
{
    memset(a, 0, (size_t)n * n * sizeof *a);
    for (int i = 0; i < n; i++)
        a[i * n + i] = 1;
    for (int e = 0; e < ne; e++)
        if (edges[2 * e] != edges[2 * e + 1])
            a[edges[2 * e] * n + edges[2 * e + 1]] = a[edges[2 * e + 1] * n + edges[2 * e]] = 1;
    double deg[16];
    for (int i = 0; i < n; i++) {
        deg[i] = 0;
        for (int j = 0; j < n; j++)
            deg[i] += a[i * n + j];
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            a[i * n + j] /= sqrt(deg[i] * deg[j]);
}

static const char *TINY_FEAT = "0 1:2 3:2\n"
                               "1 0:1\n"
                               "-1\n"            /* node 2: no features, unlabelled */
                               "2 3:1.5 1:0.5\n" /* unsorted columns */
                               "1 2:4\n";        /* node 4: isolated */
static const char *TINY_EDGES = "# comment\n"
                                "0\t1\n"
                                "1 2\r\n" /* CRLF, space separated */
                                "3\t3\n"  /* line 4: self loop */
                                "\n"
                                "2\t1\n" /* line 6: duplicate of 1-2 reversed */
                                "0\t3";  /* no final newline */

START_TEST(test_tiny_graph)
{
    struct graph *g = NULL;
    struct graph_report rep;
    ck_assert_int_eq(parse5(&g, &rep, TINY_FEAT, TINY_EDGES, "0\n1\n", "3\n", "4\n"), STATUS_OK);
    ck_assert_int_eq(g->nnodes, 5);
    ck_assert_int_eq(g->nfeatures, 4);
    ck_assert_int_eq(g->nclasses, 3);
    ck_assert_int_eq(g->nedges, 3);
    ck_assert_str_eq(g->name, "tiny");
    ck_assert_int_eq(rep.self_loops, 1);
    ck_assert_int_eq(rep.first_self_loop_line, 4);
    ck_assert_int_eq(rep.duplicate_edges, 1);
    ck_assert_int_eq(rep.first_duplicate_line, 6);
    ck_assert_int_eq(rep.isolated_nodes, 1);
    ck_assert_int_eq(rep.first_isolated_node, 4);
    ck_assert_int_eq(rep.featureless_nodes, 1);
    ck_assert_int_eq(rep.first_featureless_node, 2);
    check_csr_sorted(&g->adj);
    check_csr_sorted(&g->feat);
    const int edges[] = {0, 1, 1, 2, 3, 3, 2, 1, 0, 3};
    double a[25];
    dense_norm_adj(a, 5, edges, 5);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++)
            ck_assert_double_eq_tol(csr_at(&g->adj, i, j), a[i * 5 + j], 1e-6);
    /* X̂: rows divided by their sums; the featureless row stays empty. */
    ck_assert_double_eq_tol(csr_at(&g->feat, 0, 1), 0.5, 1e-7);
    ck_assert_double_eq_tol(csr_at(&g->feat, 3, 1), 0.25, 1e-7);
    ck_assert_double_eq_tol(csr_at(&g->feat, 3, 3), 0.75, 1e-7);
    ck_assert_double_eq_tol(csr_at(&g->feat, 4, 2), 1.0, 1e-7);
    ck_assert_int_eq(g->feat.rowptr[3] - g->feat.rowptr[2], 0);
    ck_assert_int_eq(g->labels[2], -1);
    ck_assert_int_eq(g->ntrain, 2);
    ck_assert_int_eq(g->nval, 1);
    ck_assert_int_eq(g->ntest, 1);
    ck_assert(g->is_train[0] && g->is_train[1] && !g->is_train[3]);
    graph_free(g);
}
END_TEST

START_TEST(test_optional_files)
{
    struct graph *g = NULL;
    ck_assert_int_eq(parse5(&g, NULL, "0 0:1\n1 1:1\n", NULL, NULL, NULL, NULL), STATUS_OK);
    ck_assert_int_eq(g->nedges, 0);
    ck_assert_int_eq(g->adj.nnz, 2); /* the two self loops */
    ck_assert_double_eq_tol(g->adj.val[0], 1.0, 1e-7);
    ck_assert_int_eq(g->ntrain + g->nval + g->ntest, 0);
    graph_free(g);
}
END_TEST

struct bad_case {
    const char *feat, *edges, *train;
    enum status want;
    const char *msg; /* must appear in status_message() */
};

START_TEST(test_rejections)
{
    static const struct bad_case cases[] = {
        {"0 0:1\n1 x:1\n", NULL, NULL, STATUS_FORMAT, "tiny/features.svm:2:"},
        {"0 0:1\n1 1:abc\n", NULL, NULL, STATUS_FORMAT, "features.svm:2: column 1"},
        {"0 0:1\n1 1:nan\n", NULL, NULL, STATUS_FORMAT, "features.svm:2:"},
        {"0 0:1\n1 1:1e39\n", NULL, NULL, STATUS_FORMAT, "features.svm:2:"},
        {"0 0:1\nfoo 1:1\n", NULL, NULL, STATUS_FORMAT, "features.svm:2:"},
        {"0 0:1\n-2 1:1\n", NULL, NULL, STATUS_RANGE, "features.svm:2: label -2"},
        {"0 0:1\n1 -1:1\n", NULL, NULL, STATUS_RANGE, "features.svm:2: column -1"},
        {"0 0:1\n\n1 1:1\n", NULL, NULL, STATUS_FORMAT, "features.svm:2:"},
        {"0 0:1 2:1 0:3\n", NULL, NULL, STATUS_FORMAT, "features.svm:1: column 0 appears twice"},
        {"", NULL, NULL, STATUS_FORMAT, "no nodes"},
        {"0\n1\n", NULL, NULL, STATUS_FORMAT, "no node has any feature"},
        {"0 0:1\n1 1:1\n", "0\t1\n0\t2\n", NULL, STATUS_RANGE, "edges.tsv:2: node 2 out of range"},
        {"0 0:1\n1 1:1\n", "0\t1\n-1\t0\n", NULL, STATUS_RANGE, "edges.tsv:2: node -1"},
        {"0 0:1\n1 1:1\n", "\n0\t1\t1\n", NULL, STATUS_FORMAT, "edges.tsv:2:"},
        {"0 0:1\n1 1:1\n", "0\n", NULL, STATUS_FORMAT, "edges.tsv:1:"},
        {"0 0:1\n1 1:1\n", "99999999999999999999 1\n", NULL, STATUS_FORMAT, "edges.tsv:1:"},
        {"0 0:1\n1 1:1\n", NULL, "0\n5\n", STATUS_RANGE, "train.idx:2: node 5"},
        {"0 0:1\n1 1:1\n", NULL, "0\n0\n", STATUS_FORMAT, "train.idx:2: node 0 listed twice"},
        {"0 0:1\n-1 1:1\n", NULL, "1\n", STATUS_FORMAT, "train.idx:1: node 1 has no label"},
        {"0 0:1\n1 1:1\n", NULL, "0 1\n", STATUS_FORMAT, "train.idx:1:"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct graph *g = (struct graph *)1;
        enum status s = parse5(&g, NULL, cases[i].feat, cases[i].edges, cases[i].train, NULL, NULL);
        ck_assert_msg(s == cases[i].want, "case %zu: status %s, want %s (%s)", i,
                      status_to_string(s), status_to_string(cases[i].want), status_message());
        ck_assert_ptr_null(g);
        ck_assert_msg(strstr(status_message(), cases[i].msg), "case %zu: message '%s' lacks '%s'",
                      i, status_message(), cases[i].msg);
    }
}
END_TEST

START_TEST(test_from_arrays_matches_text)
{
    struct graph *gt = NULL, *ga = NULL;
    struct graph_report rep;
    ck_assert_int_eq(parse5(&gt, NULL, TINY_FEAT, TINY_EDGES, NULL, NULL, NULL), STATUS_OK);
    const int64_t rowptr[6] = {0, 2, 3, 3, 5, 6};
    const int32_t col[6] = {1, 3, 0, 3, 1, 2};
    const float val[6] = {2, 2, 1, 1.5f, 0.5f, 4};
    const int32_t edges[10] = {0, 1, 1, 2, 3, 3, 2, 1, 0, 3};
    ck_assert_int_eq(graph_from_arrays(&ga, &rep, 5, 4, rowptr, col, val, edges, 5, "req"),
                     STATUS_OK);
    ck_assert_int_eq(rep.self_loops, 1);
    ck_assert_int_eq(rep.first_self_loop_line, 3); /* pair index 2, 1-based */
    ck_assert_int_eq(rep.duplicate_edges, 1);
    ck_assert_int_eq(rep.first_duplicate_line, 4);
    ck_assert_int_eq(ga->adj.nnz, gt->adj.nnz);
    ck_assert_int_eq(ga->feat.nnz, gt->feat.nnz);
    for (int i = 0; i <= 5; i++) {
        ck_assert_int_eq(ga->adj.rowptr[i], gt->adj.rowptr[i]);
        ck_assert_int_eq(ga->feat.rowptr[i], gt->feat.rowptr[i]);
    }
    for (int64_t k = 0; k < ga->adj.nnz; k++) {
        ck_assert_int_eq(ga->adj.col[k], gt->adj.col[k]);
        ck_assert_float_eq(ga->adj.val[k], gt->adj.val[k]);
    }
    for (int64_t k = 0; k < ga->feat.nnz; k++) {
        ck_assert_int_eq(ga->feat.col[k], gt->feat.col[k]);
        ck_assert_float_eq(ga->feat.val[k], gt->feat.val[k]);
    }
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(ga->labels[i], -1);
    ck_assert_int_eq(ga->nclasses, 0);
    graph_free(gt);
    graph_free(ga);
}
END_TEST

START_TEST(test_from_arrays_rejections)
{
    struct graph *g = NULL;
    const int64_t rowptr[3] = {0, 1, 2};
    const int32_t col[2] = {0, 4}, dupcol[2] = {1, 1};
    const int64_t duprow[3] = {0, 0, 2};
    const float val[2] = {1, 1}, nanval[2] = {1, NAN};
    const int32_t edges[4] = {0, 1, 1, 2};
    ck_assert_int_eq(graph_from_arrays(&g, NULL, 2, 4, rowptr, col, val, edges, 1, "r"),
                     STATUS_RANGE);
    ck_assert_ptr_nonnull(strstr(status_message(), "node 1: column 4 out of range [0, 4)"));
    ck_assert_int_eq(graph_from_arrays(&g, NULL, 2, 5, rowptr, col, val, edges, 2, "r"),
                     STATUS_RANGE);
    ck_assert_ptr_nonnull(strstr(status_message(), "edge 1: node 2 out of range [0, 2)"));
    ck_assert_int_eq(graph_from_arrays(&g, NULL, 2, 5, rowptr, col, nanval, edges, 1, "r"),
                     STATUS_FORMAT);
    ck_assert_int_eq(graph_from_arrays(&g, NULL, 2, 5, duprow, dupcol, val, edges, 1, "r"),
                     STATUS_FORMAT);
    ck_assert_ptr_nonnull(strstr(status_message(), "node 1: column 1 given twice"));
    ck_assert_int_eq(graph_from_arrays(&g, NULL, 0, 5, rowptr, col, val, edges, 1, "r"),
                     STATUS_RANGE);
    ck_assert_ptr_null(g);
    /* A valid graph with no edges at all. */
    ck_assert_int_eq(graph_from_arrays(&g, NULL, 2, 5, rowptr, col, val, NULL, 0, "r"), STATUS_OK);
    ck_assert_int_eq(g->adj.nnz, 2);
    graph_free(g);
}
END_TEST

START_TEST(test_load_missing)
{
    struct graph *g = NULL;
    ck_assert_int_eq(graph_load(&g, NULL, "/nonexistent/dir"), STATUS_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(status_message(), "/nonexistent/dir/features.svm"));
    ck_assert_ptr_null(g);
}
END_TEST

START_TEST(test_cora)
{
    const char *dir = tu_shared_need("datasets/cora");
    struct graph *g = NULL;
    struct graph_report rep;
    ck_assert_msg(graph_load(&g, &rep, dir) == STATUS_OK, "%s", status_message());
    ck_assert_str_eq(g->name, "cora");
    ck_assert_int_eq(g->nnodes, 2708);
    ck_assert_int_eq(g->nfeatures, 1433);
    ck_assert_int_eq(g->nclasses, 7);
    ck_assert_int_eq(g->nedges, 5278);
    ck_assert_int_eq(g->ntrain, 140);
    ck_assert_int_eq(g->nval, 500);
    ck_assert_int_eq(g->ntest, 1000);
    ck_assert_int_eq(rep.self_loops + rep.duplicate_edges, 0);
    ck_assert_int_eq(g->adj.nnz, 2708 + 2 * 5278);
    check_csr_sorted(&g->adj);
    check_csr_sorted(&g->feat);
    /* Symmetric Â, and every feature row sums to 1 (Cora has no empty rows). */
    for (int i = 0; i < g->nnodes; i += 7)
        for (int64_t k = g->adj.rowptr[i]; k < g->adj.rowptr[i + 1]; k++)
            ck_assert_float_eq(csr_at(&g->adj, g->adj.col[k], i), g->adj.val[k]);
    for (int i = 0; i < g->nnodes; i++) {
        double s = 0;
        for (int64_t k = g->feat.rowptr[i]; k < g->feat.rowptr[i + 1]; k++)
            s += g->feat.val[k];
        ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }
    graph_free(g);
}
END_TEST

/* Parses one file in fuzz_graph's format; returns graph_parse's status. */
static enum status parse_fuzz_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    char *data = malloc(1 << 16);
    ck_assert_ptr_nonnull(data);
    size_t size = fread(data, 1, 1 << 16, f);
    fclose(f);
    char *part[5] = {0};
    size_t len[5] = {0}, start = 0;
    int n = 0;
    for (size_t i = 0; i <= size && n < 5; i++) {
        if (i < size && data[i] != 0)
            continue;
        len[n] = i - start;
        part[n] = malloc(len[n] ? len[n] : 1);
        ck_assert_ptr_nonnull(part[n]);
        memcpy(part[n], data + start, len[n]);
        n++;
        start = i + 1;
    }
    struct graph_text t = {part[0], part[1], part[2], part[3], part[4],
                           len[0],  len[1],  len[2],  len[3],  len[4]};
    struct graph *g = NULL;
    enum status s = graph_parse(&g, NULL, &t, "seed");
    graph_free(g);
    for (int i = 0; i < 5; i++)
        free(part[i]);
    free(data);
    return s;
}

/* Runs parse_fuzz_file on every file of fuzz/<dir>; returns how many there were. */
static int replay(const char *dir, int must_accept)
{
    char root[1024], path[2048];
    tu_source_path(root, sizeof root, dir);
    DIR *d = opendir(root);
    int count = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", root, e->d_name);
        enum status s = parse_fuzz_file(path);
        if (must_accept)
            ck_assert_msg(s == STATUS_OK, "%s: %s", path, status_message());
        count++;
    }
    closedir(d);
    return count;
}

START_TEST(test_fuzz_seeds)
{
    int seeds = replay("fuzz/corpus/fuzz_graph", 1);
    int regress = replay("fuzz/regress/fuzz_graph", 0);
    printf("fuzz_graph: %d seeds accepted, %d regressions replayed\n", seeds, regress);
    ck_assert_int_gt(seeds, 0);
}
END_TEST

int main(int argc, char **argv)
{
    Suite *s = suite_create("graph");
    TCase *t = tcase_create("parse");
    tcase_add_test(t, test_tiny_graph);
    tcase_add_test(t, test_optional_files);
    tcase_add_test(t, test_rejections);
    tcase_add_test(t, test_from_arrays_matches_text);
    tcase_add_test(t, test_from_arrays_rejections);
    tcase_add_test(t, test_load_missing);
    tcase_add_test(t, test_fuzz_seeds);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("cora");
    tu_needs_shared(c, "datasets/cora/features.svm", "datasets/cora/edges.tsv", NULL);
    tcase_add_test(c, test_cora);
    suite_add_tcase(s, c);
    return tu_main(s, argc, argv);
}
