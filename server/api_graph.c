/* api_graph: POST /graph/classify, node classes from a GCN (Kipf & Welling 2017).
 *   {"nodes": [ids], "model"?: name}: nodes of the graph loaded with --graph; every node's
 *     probabilities were computed at start-up (gcn_cache), so this answers on the HTTP thread.
 *   {"graph": {"features": rows, "edges": [[u, v], ...]}, "nodes"?: [ids]}: a graph sent in the
 *     request (inductive use). Rows are dense arrays of numbers or sparse objects {"col": value}.
 *     The graph is built and normalised for itself and the forward pass runs on a pool worker.
 * Limits: --max-graph-nodes, --max-graph-edges and the body cap. */
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "json.h"
#include "models.h"
#include "parse.h"
#include "pool.h"

#define JSON_EXACT_INT (1LL << 53) /* the largest integer every JSON reader holds exactly */

struct graph_job {
    struct pool_job pj; /* first */
    const struct api_request *req;
    struct api_response *res;
    const struct gcn_model *gm;
    int nnodes, nfeatures;
    int64_t *rowptr;
    int32_t *col, *edges;
    float *val;
    int64_t nedges;
    int64_t *nodes;
    size_t nquery;
};

static void graph_job_free(struct graph_job *j)
{
    free(j->rowptr);
    free(j->col);
    free(j->val);
    free(j->edges);
    free(j->nodes);
    free(j);
}

/* The answer for n classified nodes. */
static void answer(struct api_response *res, const char *model, const char *graph,
                   const struct gcn_node_class *out, size_t n, int nclasses)
{
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "model", model);
    json_kv_string(&w, "graph", graph);
    json_kv_int(&w, "classes", nclasses);
    json_key_put(&w, "nodes");
    json_array_begin(&w);
    for (size_t i = 0; i < n; i++) {
        json_object_begin(&w);
        json_kv_int(&w, "id", out[i].node);
        json_kv_int(&w, "class", out[i].cls);
        json_key_put(&w, "probabilities");
        json_array_begin(&w);
        for (int c = 0; c < nclasses; c++)
            json_number_put(&w, out[i].prob[c]);
        json_array_end(&w);
        json_kv_bool(&w, "training", out[i].is_train);
        json_object_end(&w);
    }
    json_array_end(&w);
    json_object_end(&w);
    size_t len;
    char *body = json_writer_finish(&w, &len);
    if (!body) {
        api_error_status(res, STATUS_NOMEM, "no memory for the answer");
        return;
    }
    api_set_body(res, 200, "application/json", body, len);
    api_log(res, "model=%s nodes=%zu", model, n);
}

/* Classifies nodes against a cache; fills res either way. */
static void classify(struct api_response *res, const char *model, const char *graph,
                     const struct gcn_cache *cache, const int64_t *nodes, size_t n)
{
    struct gcn_node_class *out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        api_error_status(res, STATUS_NOMEM, "no memory for the answer");
        return;
    }
    enum status s = gcn_cache_query(out, cache, nodes, n);
    if (s == STATUS_NOT_FOUND)
        api_error(res, 404, "unknown_node", "%s", status_message());
    else if (s)
        api_error_status(res, s, "%s", status_message());
    else
        answer(res, model, graph, out, n, cache->nclasses);
    free(out);
}

/* Node ids from a JSON array (1..max entries of integers). */
static bool parse_nodes(int64_t **out, size_t *n, const struct json *arr, int max,
                        struct api_response *res)
{
    if (!json_is_array(arr) || json_size(arr) == 0 || json_size(arr) > (size_t)max) {
        api_error(res, 422, "invalid_value", "nodes must be an array of 1 to %d node ids", max);
        return false;
    }
    *n = json_size(arr);
    *out = malloc(*n * sizeof **out);
    if (!*out) {
        api_error_status(res, STATUS_NOMEM, "no memory for the node list");
        return false;
    }
    size_t i = 0;
    for (const struct json *e = json_first(arr); e; e = json_next(e), i++) {
        char name[32];
        snprintf(name, sizeof name, "nodes[%zu]", i);
        long long id; /* any integer a JSON number holds exactly; the graph says which exist */
        if (parse_check_int(&id, name, json_number(e), -JSON_EXACT_INT, JSON_EXACT_INT)) {
            api_error(res, 422, "invalid_value", "%s", status_message());
            free(*out);
            *out = NULL;
            return false;
        }
        (*out)[i] = id;
    }
    return true;
}

/* Features (rows) and edges of a request graph into CSR arrays. */
static bool parse_graph(struct graph_job *j, const struct json *g, const struct serve_config *cfg,
                        struct api_response *res)
{
    const struct json *rows = json_get(g, "features"), *edges = json_get(g, "edges");
    if (!json_is_array(rows) || json_size(rows) == 0 ||
        json_size(rows) > (size_t)cfg->max_graph_nodes) {
        api_error(res, 422, "invalid_value", "graph.features must be an array of 1 to %d rows",
                  cfg->max_graph_nodes);
        return false;
    }
    if (edges && (!json_is_array(edges) || json_size(edges) > (size_t)cfg->max_graph_edges)) {
        api_error(res, 422, "invalid_value", "graph.edges must be an array of at most %d pairs",
                  cfg->max_graph_edges);
        return false;
    }
    j->nnodes = (int)json_size(rows);
    size_t nnz = 0;
    for (const struct json *r = json_first(rows); r; r = json_next(r))
        nnz += json_size(r);
    j->rowptr = malloc(((size_t)j->nnodes + 1) * sizeof *j->rowptr);
    j->col = malloc((nnz ? nnz : 1) * sizeof *j->col);
    j->val = malloc((nnz ? nnz : 1) * sizeof *j->val);
    j->nedges = edges ? (int64_t)json_size(edges) : 0;
    j->edges = malloc(((size_t)j->nedges * 2 + 1) * sizeof *j->edges);
    if (!j->rowptr || !j->col || !j->val || !j->edges) {
        api_error_status(res, STATUS_NOMEM, "no memory for the graph");
        return false;
    }
    size_t k = 0;
    int i = 0;
    for (const struct json *r = json_first(rows); r; r = json_next(r), i++) {
        j->rowptr[i] = (int64_t)k;
        if (!json_is_array(r) && !json_is_object(r)) {
            api_error(res, 422, "invalid_value",
                      "graph.features[%d] must be an array of numbers or an object {column: value}",
                      i);
            return false;
        }
        int c = 0;
        for (const struct json *e = json_first(r); e; e = json_next(e), c++) {
            char name[64];
            long long col = c;
            double v;
            snprintf(name, sizeof name, "graph.features[%d] column", i);
            if (json_is_object(r) ? parse_int(&col, name, json_key(e), 0, j->nfeatures - 1)
                                  : parse_check_int(&col, name, c, 0, j->nfeatures - 1)) {
                api_error(res, 422, "invalid_value", "%s", status_message());
                return false;
            }
            snprintf(name, sizeof name, "graph.features[%d][%lld]", i, col);
            if (parse_check_float(&v, name, json_number(e), -FLT_MAX, FLT_MAX)) {
                api_error(res, 422, "invalid_value", "%s", status_message());
                return false;
            }
            if (v != 0) {
                j->col[k] = (int32_t)col;
                j->val[k++] = (float)v;
            }
        }
    }
    j->rowptr[j->nnodes] = (int64_t)k;
    int64_t e = 0;
    for (const struct json *p = json_first(edges); p; p = json_next(p), e++) {
        if (json_size(p) != 2) {
            api_error(res, 422, "invalid_value", "graph.edges[%lld] must be a pair [u, v] of node ids",
                      (long long)e);
            return false;
        }
        const struct json *end = json_first(p);
        for (int side = 0; side < 2; side++, end = json_next(end)) {
            char name[48];
            long long id; /* ids past the graph's nodes are refused when it is built */
            snprintf(name, sizeof name, "graph.edges[%lld][%d]", (long long)e, side);
            if (parse_check_int(&id, name, json_number(end), INT32_MIN, INT32_MAX)) {
                api_error(res, 422, "invalid_value", "%s", status_message());
                return false;
            }
            j->edges[2 * e + side] = (int32_t)id;
        }
    }
    return true;
}

/* On a worker: build, normalise and run the GCN on the request graph, then answer. */
static void run_inductive(struct pool_job *pj)
{
    struct graph_job *j = (struct graph_job *)pj;
    struct graph *g = NULL;
    struct gcn_cache *cache = NULL;
    enum status s = graph_from_arrays(&g, NULL, j->nnodes, j->nfeatures, j->rowptr, j->col, j->val,
                                      j->edges, j->nedges, "request");
    if (!s)
        s = gcn_cache_create(&cache, j->gm->gcn, g);
    graph_free(g);
    if (s) { /* a graph that does not hold together is the request's: 422 */
        api_error_status(j->res, s, "graph: %s", status_message());
        return;
    }
    if (!j->nodes) { /* no list: every node of the request graph */
        j->nquery = (size_t)j->nnodes;
        j->nodes = malloc(j->nquery * sizeof *j->nodes);
        for (size_t i = 0; j->nodes && i < j->nquery; i++)
            j->nodes[i] = (int64_t)i;
    }
    if (j->nodes)
        classify(j->res, j->gm->name, "request", cache, j->nodes, j->nquery);
    else
        api_error_status(j->res, STATUS_NOMEM, "no memory for the node list");
    gcn_cache_free(cache);
}

static void on_done(struct pool_job *pj)
{
    struct graph_job *j = (struct graph_job *)pj;
    if (pj->status != STATUS_OK) /* cancelled at shutdown before it ran */
        api_error_status(j->res, pj->status, "%s", pj->message);
    const struct api_request *req = j->req;
    graph_job_free(j);
    req->resume(req->resume_token);
}

enum api_result api_graph_classify(struct app *app, const struct api_route *route,
                                   const struct api_request *req, struct api_response *res)
{
    (void)route;
    if (!api_content_type_is(req, "application/json"))
        return api_error(res, 415, "unsupported_media_type", "Content-Type must be application/json");
    struct json *doc = NULL;
    enum status ps = json_parse(&doc, (const char *)req->body, req->body_len);
    if (ps == STATUS_NOMEM)
        return api_error_status(res, ps, "%s", status_message());
    if (ps)
        return api_error(res, 400, "bad_json", "%s", status_message());
    enum api_result ret = API_DONE;
    struct graph_job *j = NULL;
    const struct json *model = json_get(doc, "model"), *graph = json_get(doc, "graph");
    const struct json *nodes = json_get(doc, "nodes");
    const char *name = json_string(model);
    if (!json_is_object(doc)) {
        api_error(res, 400, "bad_json", "the body must be a JSON object");
        goto done;
    }
    if (model && !json_is_null(model) && !name) {
        api_error(res, 422, "invalid_value", "model must be a string");
        goto done;
    }
    const struct gcn_model *gm = models_gcn(app->models, name);
    if (!gm) {
        if (name && name[0])
            api_error(res, 404, "unknown_model", "no GCN model named '%.64s' (see GET /models)", name);
        else
            api_error(res, 503, "not_ready", "no GCN model is loaded");
        goto done;
    }
    if (!graph) {
        int64_t *ids = NULL;
        size_t n = 0;
        if (!gm->cache) {
            api_error(res, 422, "invalid_value",
                      "GCN %s has no graph loaded (start with --graph DIR), so send one: "
                      "{\"graph\": {\"features\": ..., \"edges\": ...}}",
                      gm->name);
            goto done;
        }
        if (!nodes) {
            api_error(res, 422, "invalid_value", "missing \"nodes\": [ids]");
            goto done;
        }
        if (parse_nodes(&ids, &n, nodes, app->cfg->max_graph_nodes, res))
            classify(res, gm->name, app->models->graph->name, gm->cache, ids, n);
        free(ids);
        goto done;
    }
    if (!json_is_object(graph)) {
        api_error(res, 422, "invalid_value", "graph must be an object {\"features\", \"edges\"}");
        goto done;
    }
    j = calloc(1, sizeof *j);
    if (!j) {
        api_error_status(res, STATUS_NOMEM, "no memory for the graph");
        goto done;
    }
    j->gm = gm;
    j->nfeatures = gm->gcn->nfeatures;
    if (!parse_graph(j, graph, app->cfg, res) ||
        (nodes && !parse_nodes(&j->nodes, &j->nquery, nodes, app->cfg->max_graph_nodes, res)))
        goto done;
    j->req = req;
    j->res = res;
    j->pj = (struct pool_job){.kind = POOL_JOB_CALL, .call = run_inductive, .done = on_done};
    enum status s = atomic_load(&app->shutting_down) ? STATUS_CANCELLED
                                                     : pool_submit(app->pool, &j->pj);
    if (s == STATUS_OK) {
        j = NULL; /* the worker owns it now */
        ret = API_PENDING;
        goto done;
    }
    if (s == STATUS_BUSY)
        api_error_status(res, s, "the work queue is full; retry shortly");
    else
        api_error_status(res, s, "the daemon is shutting down");
done:
    if (j)
        graph_job_free(j);
    json_free(doc);
    return ret;
}
