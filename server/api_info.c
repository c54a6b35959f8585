/* api_info: the endpoints that describe the daemon: /healthz (alive), /readyz (models loaded,
 * queue not full, not shutting down), /models (what is loaded and how it was calibrated),
 * /metrics (Prometheus text), and the web console's embedded files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "app.h"
#include "console.h"
#include "cpu.h"
#include "http.h"
#include "json.h"
#include "metrics.h"
#include "models.h"
#include "ops.h"
#include "pool.h"

enum api_result api_healthz(struct app *app, const struct api_route *route,
                            const struct api_request *req, struct api_response *res)
{
    (void)route, (void)req;
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "status", "ok");
    json_kv_string(&w, "version", INSPECTD_VERSION);
    json_kv_number(&w, "uptime_s", (float)(clock_now() - app->t_start)); /* float: short text */
    json_object_end(&w);
    return api_send_json(res, 200, &w);
}

/* Why the daemon is not ready, or NULL when it is. */
static const char *not_ready(struct app *app)
{
    if (atomic_load(&app->shutting_down))
        return "the daemon is shutting down";
    if (!app->models || app->models->nanogan + app->models->ngcn == 0)
        return "no model is loaded";
    if (app->pool && pool_depth(app->pool) >= pool_capacity(app->pool))
        return "the search queue is full";
    return NULL;
}

enum api_result api_readyz(struct app *app, const struct api_route *route,
                           const struct api_request *req, struct api_response *res)
{
    (void)route, (void)req;
    const char *why = not_ready(app);
    if (why) {
        return api_error(res, 503, "not_ready", "%s", why);
    }
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_kv_string(&w, "status", "ready");
    json_kv_int(&w, "models", app->models->nanogan + app->models->ngcn);
    json_kv_int(&w, "queue_depth", app->pool ? pool_depth(app->pool) : 0);
    json_kv_int(&w, "queue_capacity", app->pool ? pool_capacity(app->pool) : 0);
    json_object_end(&w);
    return api_send_json(res, 200, &w);
}

/* "fused" and "parts": which detectors the model has, how each enters the fused score, and
 * what each is (a memory bank's size, the classifier's transforms). */
static void write_parts(struct json_writer *w, const struct anogan *m)
{
    const struct detect *d = m->det;
    json_kv_bool(w, "fused", d && d->fused);
    json_key_put(w, "parts");
    json_array_begin(w);
    for (int p = 0; p < DETECT_NPARTS; p++) {
        if (!detect_has_part(m, (enum detect_part)p))
            continue;
        json_object_begin(w);
        json_kv_string(w, "name", detect_part_name((enum detect_part)p));
        if (d && d->fused && d->weight[p] != 0) {
            json_kv_number(w, "weight", d->weight[p]);
            json_kv_number(w, "mean", d->norm[p].mean);
            json_kv_number(w, "std", d->norm[p].std);
        } else {
            json_kv_number(w, "weight", d && d->fused ? 0 : 1);
        }
        const struct bank *b = p == DETECT_PART_KNN          ? &d->knn
                               : p == DETECT_PART_KNN_PIXELS ? &d->knn_pixels
                               : p == DETECT_PART_KNN_TRANSFORM ? &d->knn_transform
                                                               : NULL;
        if (b) {
            json_kv_int(w, "rows", b->n);
            json_kv_int(w, "features", b->dim);
            json_kv_string(w, "metric", b->metric == BANK_METRIC_COSINE ? "cosine" : "l2");
            json_kv_int(w, "k", b->k);
        }
        if (p == DETECT_PART_TRANSFORM) {
            json_kv_int(w, "transforms", d->geom->cfg.transforms);
            json_kv_int(w, "scored", geom_scored(d->geom));
            json_kv_string(w, "score", d->geom->has_dirichlet ? "dirichlet" : "xent");
        }
        json_object_end(w);
    }
    json_array_end(w);
}

static void write_anogan(struct json_writer *w, const struct anogan *m, bool is_default)
{
    const struct anogan_config *c = &m->cfg;
    struct anogan_search s = anogan_search_default(m);
    json_object_begin(w);
    json_kv_string(w, "name", m->name);
    json_kv_string(w, "kind", "anogan");
    json_kv_bool(w, "default", is_default);
    json_kv_string(w, "sha256", m->sha256);
    json_kv_string(w, "trained", m->trained);
    json_kv_bool(w, "has_encoder", m->has_encoder);
    json_key_put(w, "architecture");
    json_object_begin(w);
    json_kv_string(w, "type", "dcgan");
    json_kv_int(w, "zdim", c->zdim);
    json_kv_int(w, "width", c->width);
    json_kv_int(w, "image_size", c->image_size);
    json_kv_int(w, "channels", c->channels);
    json_kv_bool(w, "encoder", m->has_encoder);
    json_kv_number(w, "lambda", c->lambda);
    json_object_end(w);
    json_key_put(w, "preprocessing");
    json_object_begin(w);
    json_kv_string(w, "colour", c->channels == 1 ? "grey (BT.601 luma, alpha over black)" : "as stored");
    json_kv_string(w, "resize", "bicubic");
    json_kv_int(w, "size", c->image_size);
    json_kv_number(w, "mean", c->mean);
    json_kv_number(w, "std", c->std);
    json_object_end(w);
    write_parts(w, m);
    json_key_put(w, "threshold");
    if (m->cal.present)
        json_number_put(w, m->cal.threshold);
    else
        json_null_put(w);
    json_key_put(w, "calibration");
    if (m->cal.present) {
        const struct anogan_calibration *cal = &m->cal;
        json_object_begin(w);
        json_kv_number(w, "threshold", cal->threshold);
        json_kv_string(w, "score", cal->score);
        json_kv_number(w, "percentile", cal->percentile);
        json_kv_int(w, "count", cal->count);
        json_kv_number(w, "mean", cal->mean);
        json_kv_number(w, "std", cal->std);
        json_kv_number(w, "p50", cal->p50);
        json_kv_number(w, "p90", cal->p90);
        json_kv_number(w, "p99", cal->p99);
        json_kv_number(w, "max", cal->max);
        json_kv_number(w, "band_low", cal->band_low);
        json_kv_number(w, "band_high", cal->band_high);
        json_kv_string(w, "search", cal->search);
        json_kv_int(w, "iterations", cal->iterations);
        json_kv_string(w, "data", cal->data);
        json_object_end(w);
    } else {
        json_null_put(w);
    }
    json_key_put(w, "default_search");
    json_object_begin(w);
    json_kv_string(w, "search", anogan_init_name(s.init));
    json_kv_int(w, "iterations", s.iterations);
    json_kv_number(w, "lr", s.lr);
    json_kv_int(w, "patience", s.patience);
    json_kv_number(w, "tol", s.tol);
    json_object_end(w);
    json_object_end(w);
}

static void write_gcn(struct json_writer *w, const struct gcn_model *g, const struct graph *graph,
                      bool is_default)
{
    json_object_begin(w);
    json_kv_string(w, "name", g->name);
    json_kv_string(w, "kind", "gcn");
    json_kv_bool(w, "default", is_default);
    json_kv_string(w, "sha256", g->gcn->info.sha256);
    json_kv_string(w, "dataset", g->gcn->info.dataset);
    json_kv_int(w, "features", g->gcn->nfeatures);
    json_kv_int(w, "hidden", g->gcn->nhidden);
    json_kv_int(w, "classes", g->gcn->nclasses);
    json_kv_number(w, "test_accuracy", g->gcn->info.test_accuracy);
    json_kv_int(w, "epochs", g->gcn->info.epochs);
    json_kv_string(w, "trained", g->gcn->info.trained_by);
    json_key_put(w, "graph");
    if (g->cache && graph) {
        json_object_begin(w);
        json_kv_string(w, "name", graph->name);
        json_kv_int(w, "nodes", graph->nnodes);
        json_kv_int(w, "edges", graph->nedges);
        json_kv_int(w, "features", graph->nfeatures);
        json_kv_int(w, "train_nodes", graph->ntrain);
        json_object_end(w);
    } else {
        json_null_put(w);
    }
    json_object_end(w);
}

enum api_result api_models(struct app *app, const struct api_route *route,
                           const struct api_request *req, struct api_response *res)
{
    (void)route, (void)req;
    const struct models *ms = app->models;
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    json_key_put(&w, "default");
    if (ms->nanogan)
        json_string_put(&w, ms->anogan[0]->name);
    else
        json_null_put(&w);
    json_key_put(&w, "models");
    json_array_begin(&w);
    for (int i = 0; i < ms->nanogan; i++)
        write_anogan(&w, ms->anogan[i], i == 0);
    for (int i = 0; i < ms->ngcn; i++)
        write_gcn(&w, &ms->gcn[i], ms->graph, i == 0);
    json_array_end(&w);
    json_object_end(&w);
    return api_send_json(res, 200, &w);
}

enum api_result api_metrics(struct app *app, const struct api_route *route,
                            const struct api_request *req, struct api_response *res)
{
    (void)route, (void)req;
    struct metrics_gauges g = {
        .queue_depth = app->pool ? pool_depth(app->pool) : 0,
        .queue_capacity = app->pool ? pool_capacity(app->pool) : 0,
        .workers = app->pool ? pool_workers(app->pool) : 0,
        .workers_busy = app->pool ? pool_busy(app->pool) : 0,
        .in_flight = app->http ? http_in_flight(app->http) : 0,
        .models_anogan = app->models ? app->models->nanogan : 0,
        .models_gcn = app->models ? app->models->ngcn : 0,
        .ready = not_ready(app) == NULL,
        .uptime_s = clock_now() - app->t_start,
        .blas_kernels = ops_blas_core(),
        .small_kernels = cpu_isa_name(cpu_isa()),
        .precision = ops_precision_name(ops_get_precision()),
    };
    size_t len;
    char *text = metrics_render(app->metrics, &g, &len);
    if (!text) {
        return api_error_status(res, STATUS_NOMEM, "no memory for the metrics");
    }
    api_set_body(res, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    return API_DONE;
}

enum api_result api_asset(struct app *app, const struct api_route *route,
                          const struct api_request *req, struct api_response *res)
{
    (void)app, (void)req;
    const struct console_asset *a = route->arg;
    res->status = 200;
    res->content_type = a->content_type;
    res->body = (uint8_t *)a->data;
    res->body_len = a->size;
    res->body_owned = false;
    api_add_header(res, "Cache-Control", "no-cache");
    return API_DONE;
}
