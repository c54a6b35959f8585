/* dataset: selection (range, classes, limit), IDX pairs, splits; PNG folders are in
 * dataset_png.c. See dataset.h. */
#include "dataset.h"
#include "dataset_impl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "idx.h"
#include "image.h"
#include "parse.h"
#include "rng.h"

/* ---- ranges and class lists ------------------------------------------------------------- */

static enum status parse_bound(double *v, bool *pct, const char *s, size_t len, const char *text)
{
    char buf[64];
    if (len >= sizeof buf)
        return status_fail(STATUS_RANGE, "range '%s': bound too long", text);
    memcpy(buf, s, len);
    buf[len] = 0;
    *pct = len > 0 && buf[len - 1] == '%';
    if (*pct)
        buf[len - 1] = 0;
    /* parse.c reads the number; the refusal names the whole range, which is what was typed */
    double d;
    if (parse_float(&d, "range bound", buf, 0, *pct ? 100 : 1e15))
        return status_fail(STATUS_RANGE, "range '%s': '%s' is not a count or percentage", text,
                           buf);
    *v = d;
    return STATUS_OK;
}

enum status dataset_parse_range(struct dataset_range *r, const char *text)
{
    memset(r, 0, sizeof *r);
    const char *colon = strchr(text, ':');
    if (!colon)
        return status_fail(STATUS_RANGE, "range '%s': expected A:B (e.g. 0:5000 or 50%%:)", text);
    size_t la = (size_t)(colon - text), lb = strlen(colon + 1);
    enum status st = STATUS_OK;
    r->begin = 0;
    r->end = -1;
    if (la && (st = parse_bound(&r->begin, &r->begin_pct, text, la, text)))
        return st;
    if (lb && (st = parse_bound(&r->end, &r->end_pct, colon + 1, lb, text)))
        return st;
    r->set = true;
    return STATUS_OK;
}

static size_t resolve_bound(double v, bool pct, size_t total)
{
    if (pct)
        return (size_t)floor(v / 100.0 * (double)total + 1e-9);
    return v > (double)total ? total : (size_t)v;
}

/* Items [*begin, *end) of total selected by r. */
static enum status resolve_range(size_t *begin, size_t *end, const struct dataset_range *r,
                                 size_t total, const char *path)
{
    *begin = 0;
    *end = total;
    if (!r->set)
        return STATUS_OK;
    *begin = resolve_bound(r->begin, r->begin_pct, total);
    if (r->end >= 0)
        *end = resolve_bound(r->end, r->end_pct, total);
    if (*begin >= *end)
        return status_fail(STATUS_RANGE, "%s: range selects no item (%zu:%zu of %zu)", path,
                           *begin, *end, total);
    return STATUS_OK;
}

int dataset_class_id(const struct dataset *ds, const char *name)
{
    for (int i = 0; i < ds->nclasses; i++)
        if (ds->class_names[i] && !strcmp(ds->class_names[i], name))
            return i;
    return -1;
}

/* keep[c] = 1 for each class named in the comma list; all classes when list is NULL/empty. */
static enum status parse_class_filter(bool *keep, const struct dataset *ds, const char *list,
                                      const char *path)
{
    if (!list || !list[0]) {
        for (int i = 0; i < ds->nclasses; i++)
            keep[i] = true;
        return STATUS_OK;
    }
    if (!ds->labelled)
        return status_fail(STATUS_NOT_FOUND, "%s: classes '%s' asked of unlabelled images", path,
                           list);
    const char *p = list;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t len = q ? (size_t)(q - p) : strlen(p);
        char name[128];
        if (len == 0 || len >= sizeof name)
            return status_fail(STATUS_RANGE, "classes '%s': empty or overlong name", list);
        memcpy(name, p, len);
        name[len] = 0;
        int id = dataset_class_id(ds, name);
        if (id < 0) {
            char known[512] = "";
            for (int i = 0; i < ds->nclasses && strlen(known) < sizeof known - 40; i++)
                if (ds->class_names[i])
                    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                             known[0] ? "," : "", ds->class_names[i]);
            return status_fail(STATUS_NOT_FOUND, "%s: no class '%s' (classes: %s)", path, name,
                               known);
        }
        keep[id] = true;
        p = q ? q + 1 : p + len;
    }
    return STATUS_OK;
}

/* Chooses which of total source items to load: range, class filter, limit. sel receives the
 * indices (malloc'd). labels may be NULL (unlabelled). */
enum status dataset_select(size_t **sel, size_t *nsel, const struct dataset *ds,
                                const int *labels, size_t total,
                                const struct dataset_options *opt)
{
    bool keep[DATASET_MAX_CLASSES] = {false};
    size_t begin, end;
    enum status st = resolve_range(&begin, &end, &opt->range, total, opt->path);
    if (st)
        return st;
    if ((st = parse_class_filter(keep, ds, opt->classes, opt->path)))
        return st;
    bool filter = opt->classes && opt->classes[0];
    *sel = malloc((end - begin) * sizeof **sel);
    if (!*sel)
        return status_fail(STATUS_NOMEM, "%s: out of memory", opt->path);
    size_t n = 0;
    for (size_t i = begin; i < end && (!opt->limit || n < opt->limit); i++)
        if (!filter || (labels && labels[i] >= 0 && keep[labels[i]]))
            (*sel)[n++] = i;
    *nsel = n;
    if (n == 0) {
        free(*sel);
        *sel = NULL;
        return status_fail(STATUS_RANGE, "%s: no image left after selecting range %zu:%zu%s%s",
                           opt->path, begin, end, filter ? " and classes " : "",
                           filter ? opt->classes : "");
    }
    return STATUS_OK;
}

enum status dataset_alloc_images(struct dataset *ds, size_t n, const struct anogan *m, bool names)
{
    ds->count = n;
    ds->image_floats = anogan_image_size(m);
    ds->x = malloc(n * ds->image_floats * sizeof *ds->x);
    ds->labels = malloc(n * sizeof *ds->labels);
    ds->source = malloc(n * sizeof *ds->source);
    ds->names = names ? calloc(n, sizeof *ds->names) : NULL;
    if (!ds->x || !ds->labels || !ds->source || (names && !ds->names))
        return status_fail(STATUS_NOMEM, "out of memory for %zu images", n);
    ds->min_w = ds->min_h = 1 << 30;
    return STATUS_OK;
}

void dataset_note_size(struct dataset *ds, int w, int h)
{
    if (w < ds->min_w) ds->min_w = w;
    if (h < ds->min_h) ds->min_h = h;
    if (w > ds->max_w) ds->max_w = w;
    if (h > ds->max_h) ds->max_h = h;
}

void dataset_describe(struct dataset *ds, const struct dataset_options *opt, const char *what)
{
    char range[64] = "";
    if (opt->range.set) {
        char b[24] = "", e[24] = "";
        snprintf(b, sizeof b, "%g%s", opt->range.begin, opt->range.begin_pct ? "%" : "");
        if (opt->range.end >= 0)
            snprintf(e, sizeof e, "%g%s", opt->range.end, opt->range.end_pct ? "%" : "");
        snprintf(range, sizeof range, " range %s:%s", b, e);
    }
    char limit[32] = "";
    if (opt->limit)
        snprintf(limit, sizeof limit, " limit %zu", opt->limit);
    snprintf(ds->description, sizeof ds->description, "%s%s%s%s%s", what, range,
             opt->classes && opt->classes[0] ? " classes " : "",
             opt->classes && opt->classes[0] ? opt->classes : "", limit);
}

/* ---- IDX ---------------------------------------------------------------------------------- */

bool dataset_is_dir(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Labels file beside an images file: "images-idx3" -> "labels-idx1" in the name. */
static bool labels_beside(char *out, size_t len, const char *images)
{
    const char *base = strrchr(images, '/');
    base = base ? base + 1 : images;
    const char *hit = strstr(base, "images-idx3");
    if (!hit || strlen(images) >= len)
        return false;
    strcpy(out, images);
    memcpy(out + (hit - images), "labels-idx1", 11);
    return is_file(out);
}

static enum status load_idx(struct dataset *ds, const struct dataset_options *opt,
                            const struct anogan *m, const char *images, const char *labels)
{
    struct idx xi = {0}, yi = {0};
    size_t *sel = NULL;
    enum status st = idx_load(&xi, images);
    if (st)
        goto fail;
    int h, w, c;
    if (xi.ndim == 3) {
        h = (int)xi.dims[1], w = (int)xi.dims[2], c = 1;
    } else if (xi.ndim == 4 && xi.dims[3] >= 1 && xi.dims[3] <= 4) {
        h = (int)xi.dims[1], w = (int)xi.dims[2], c = (int)xi.dims[3];
    } else {
        st = status_fail(STATUS_SHAPE, "%s: IDX images must be (N, H, W) or (N, H, W, C), got "
                                       "%d dimensions", images, xi.ndim);
        goto fail;
    }
    if (labels) {
        if ((st = idx_load(&yi, labels)))
            goto fail;
        if (yi.ndim != 1 || yi.count != xi.count) {
            st = status_fail(STATUS_FORMAT, "%s: %zu labels (%d-d) do not match %zu images in %s",
                             labels, yi.count, yi.ndim, xi.count, images);
            goto fail;
        }
        int maxl = 0;
        for (size_t i = 0; i < yi.count; i++)
            maxl = yi.data[i] > maxl ? yi.data[i] : maxl;
        ds->nclasses = maxl + 1;
        for (int i = 0; i < ds->nclasses; i++) {
            char name[16]; /* an int in decimal, whatever the compiler assumes of its range */
            snprintf(name, sizeof name, "%d", i);
            if (!(ds->class_names[i] = strdup(name))) {
                st = status_fail(STATUS_NOMEM, "out of memory");
                goto fail;
            }
        }
        ds->labelled = true;
    }
    int *lab = NULL;
    if (labels) {
        lab = malloc(xi.count * sizeof *lab);
        if (!lab) {
            st = status_fail(STATUS_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < xi.count; i++)
            lab[i] = yi.data[i];
    }
    size_t n;
    st = dataset_select(&sel, &n, ds, lab, xi.count, opt);
    free(lab);
    if (st)
        goto fail;
    if ((st = dataset_alloc_images(ds, n, m, false)))
        goto fail;
    for (size_t k = 0; k < n; k++) {
        size_t i = sel[k];
        struct image img = {w, h, c, xi.data + i * xi.item};
        if ((st = anogan_preprocess(m, &img, ds->x + k * ds->image_floats)))
            goto fail;
        ds->labels[k] = labels ? yi.data[i] : -1;
        ds->source[k] = i;
    }
    dataset_note_size(ds, w, h);
    dataset_describe(ds, opt, images);
fail:
    free(sel);
    idx_free(&xi);
    idx_free(&yi);
    return st;
}

/* ---- public ------------------------------------------------------------------------------- */

enum status dataset_load(struct dataset *out, const struct dataset_options *opt,
                         const struct anogan *m)
{
    memset(out, 0, sizeof *out);
    enum status st;
    char images[4096], labels[4096];
    if (!opt->path || !opt->path[0])
        return status_fail(STATUS_NOT_FOUND, "no data path given");
    if (dataset_is_dir(opt->path)) {
        if (idx_find_pair(opt->path, opt->split, images, sizeof images, labels, sizeof labels) ==
            STATUS_OK)
            st = load_idx(out, opt, m, images, labels);
        else if (opt->split && opt->split[0])
            st = status_fail(STATUS_NOT_FOUND, "%s: no IDX pair for split '%s'", opt->path,
                             opt->split);
        else
            st = dataset_load_pngs(out, opt, m);
    } else if (is_file(opt->path)) {
        bool have = labels_beside(labels, sizeof labels, opt->path);
        st = load_idx(out, opt, m, opt->path, have ? labels : NULL);
    } else {
        st = status_fail(STATUS_NOT_FOUND, "%s: no such file or folder", opt->path);
    }
    if (st)
        dataset_free(out);
    return st;
}

void dataset_free(struct dataset *ds)
{
    if (ds->names)
        for (size_t i = 0; i < ds->count; i++)
            free(ds->names[i]);
    free(ds->names);
    free(ds->x);
    free(ds->labels);
    free(ds->source);
    for (int i = 0; i < ds->nclasses; i++)
        free(ds->class_names[i]);
    memset(ds, 0, sizeof *ds);
}

enum status dataset_take(struct dataset *out, const struct dataset *in, const size_t *which,
                         size_t n)
{
    memset(out, 0, sizeof *out);
    out->count = n;
    out->image_floats = in->image_floats;
    out->x = malloc((n ? n : 1) * in->image_floats * sizeof *out->x);
    out->labels = malloc((n ? n : 1) * sizeof *out->labels);
    out->source = malloc((n ? n : 1) * sizeof *out->source);
    out->names = in->names ? calloc(n ? n : 1, sizeof *out->names) : NULL;
    if (!out->x || !out->labels || !out->source || (in->names && !out->names))
        goto nomem;
    for (size_t k = 0; k < n; k++) {
        size_t i = which[k];
        ASSERT(i < in->count);
        memcpy(out->x + k * in->image_floats, in->x + i * in->image_floats,
               in->image_floats * sizeof *out->x);
        out->labels[k] = in->labels[i];
        out->source[k] = in->source[i];
        if (in->names && !(out->names[k] = strdup(in->names[i])))
            goto nomem;
    }
    out->nclasses = in->nclasses;
    for (int i = 0; i < in->nclasses; i++)
        if (in->class_names[i] && !(out->class_names[i] = strdup(in->class_names[i])))
            goto nomem;
    out->labelled = in->labelled;
    out->min_w = in->min_w, out->min_h = in->min_h, out->max_w = in->max_w,
    out->max_h = in->max_h;
    memcpy(out->description, in->description, sizeof out->description);
    return STATUS_OK;
nomem:
    dataset_free(out);
    return status_fail(STATUS_NOMEM, "out of memory copying %zu images", n);
}

enum status dataset_split(struct dataset *train, struct dataset *holdout,
                          const struct dataset *in, double fraction, uint64_t seed)
{
    ASSERT(fraction >= 0 && fraction < 1);
    memset(train, 0, sizeof *train);
    memset(holdout, 0, sizeof *holdout);
    size_t nh = (size_t)llround(fraction * (double)in->count);
    if (fraction > 0 && nh == 0)
        nh = 1;
    if (nh >= in->count)
        return status_fail(STATUS_RANGE, "holdout of %g leaves no training image of %zu",
                           fraction, in->count);
    int *perm = malloc(in->count * sizeof *perm);
    bool *held = calloc(in->count, sizeof *held);
    size_t *which = malloc(in->count * sizeof *which);
    enum status st = STATUS_OK;
    if (!perm || !held || !which) {
        st = status_fail(STATUS_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < in->count; i++)
        perm[i] = (int)i;
    struct rng r;
    rng_seed(&r, seed ^ 0x686f6c646f7574ull); /* "holdout": a stream apart from training's */
    rng_shuffle(&r, perm, in->count);
    for (size_t i = 0; i < nh; i++)
        held[perm[i]] = true;
    size_t k = 0;
    for (size_t i = 0; i < in->count; i++)
        if (held[i])
            which[k++] = i;
    if ((st = dataset_take(holdout, in, which, nh)))
        goto done;
    k = 0;
    for (size_t i = 0; i < in->count; i++)
        if (!held[i])
            which[k++] = i;
    if ((st = dataset_take(train, in, which, k)))
        dataset_free(holdout);
done:
    free(perm);
    free(held);
    free(which);
    return st;
}
