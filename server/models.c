/* models: see models.h. Each file's safetensors header is read once to tell the kinds apart;
 * AnoGAN models are built from that parse, GCNs through gcn_load (its own checks). */
#include "models.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors.h"

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

bool models_default_dir(char *buf, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            const char *rel[] = {"/models", "/../models", "/../share/inspectd/models"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(buf, len, "%s%s", exe, rel[i]);
                if (is_dir(buf))
                    return true;
            }
        }
    }
    snprintf(buf, len, "models");
    return is_dir(buf);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static void base_name(char *dst, size_t len, const char *path)
{
    const char *b = strrchr(path, '/');
    snprintf(dst, len, "%s", b ? b + 1 : path);
    char *dot = strrchr(dst, '.');
    if (dot && dot != dst)
        *dot = 0;
}

static bool is_gcn(const struct safetensors *st)
{
    const char *fmt = safetensors_meta_get(st, "format");
    if (fmt && !strcmp(fmt, "inspectd-gcn"))
        return true;
    return safetensors_find(st, "W0") && safetensors_find(st, "W1");
}

static bool is_anogan(const struct safetensors *st)
{
    for (size_t i = 0; i < st->ntensors; i++)
        if (!strncmp(st->tensors[i].name, "G.", 2))
            return true;
    return false;
}

static enum status add_gcn(struct models *ms, const char *path, FILE *log)
{
    char real[PATH_MAX];
    const char *key = realpath(path, real) ? real : path;
    for (int i = 0; i < ms->ngcn; i++)
        if (!strcmp(ms->gcn[i].path, key))
            return STATUS_OK; /* --gcn names a file of the models folder */
    struct gcn_model *g = realloc(ms->gcn, ((size_t)ms->ngcn + 1) * sizeof *g);
    if (!g)
        return status_fail(STATUS_NOMEM, "out of memory");
    ms->gcn = g;
    struct gcn_model *e = &ms->gcn[ms->ngcn];
    memset(e, 0, sizeof *e);
    enum status s = gcn_load(&e->gcn, path);
    if (s)
        return s;
    snprintf(e->path, sizeof e->path, "%s", key);
    base_name(e->name, sizeof e->name, path);
    ms->ngcn++;
    fprintf(log, "model gcn name=%s file=%s features=%d hidden=%d classes=%d sha256=%s\n", e->name,
            path, e->gcn->nfeatures, e->gcn->nhidden, e->gcn->nclasses, e->gcn->info.sha256);
    return STATUS_OK;
}

static enum status add_anogan(struct models *ms, const struct safetensors *st, const char *path,
                              FILE *log)
{
    struct anogan *m = NULL;
    enum status s = anogan_from_safetensors(&m, st, path);
    if (s)
        return s;
    for (int i = 0; i < ms->nanogan; i++)
        if (!strcmp(ms->anogan[i]->name, m->name)) {
            anogan_free(m);
            return status_fail(STATUS_FORMAT, "%s: model name '%s' is already used by %s", path,
                               ms->anogan[i]->name, ms->anogan_path[i]);
        }
    struct anogan **a = realloc(ms->anogan, ((size_t)ms->nanogan + 1) * sizeof *a);
    if (a)
        ms->anogan = a;
    char(*p)[4096] = a ? realloc(ms->anogan_path, ((size_t)ms->nanogan + 1) * sizeof *p) : NULL;
    if (p)
        ms->anogan_path = p;
    if (!a || !p) {
        anogan_free(m);
        return status_fail(STATUS_NOMEM, "out of memory");
    }
    ms->anogan[ms->nanogan] = m;
    snprintf(ms->anogan_path[ms->nanogan], sizeof *p, "%s", path);
    ms->nanogan++;
    fprintf(log,
            "model anogan name=%s file=%s zdim=%d image=%dx%dx%d encoder=%s threshold=%s sha256=%s\n",
            m->name, path, m->cfg.zdim, m->cfg.channels, m->cfg.image_size, m->cfg.image_size,
            m->has_encoder ? "yes" : "no", m->cal.present ? "calibrated" : "none", m->sha256);
    return STATUS_OK;
}

static enum status load_dir(struct models *ms, const char *dir, FILE *log)
{
    DIR *d = opendir(dir);
    if (!d)
        return status_fail(STATUS_IO, "models folder %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0;
    enum status s = STATUS_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".safetensors"))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof *nn);
        char *copy = nn ? strdup(e->d_name) : NULL;
        if (nn)
            names = nn;
        if (!copy) {
            s = status_fail(STATUS_NOMEM, "out of memory");
            break;
        }
        names[n++] = copy;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && s == STATUS_OK; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct safetensors *st = NULL;
        s = safetensors_load(&st, path);
        if (s)
            break;
        if (is_gcn(st))
            s = add_gcn(ms, path, log);
        else if (is_anogan(st))
            s = add_anogan(ms, st, path, log);
        else
            s = status_fail(STATUS_FORMAT,
                            "%s: neither an AnoGAN model (tensors G.*) nor a GCN (tensors W0, W1)",
                            path);
        safetensors_free(st);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return s;
}

enum status models_load(struct models *ms, const struct serve_config *cfg, FILE *log)
{
    memset(ms, 0, sizeof *ms);
    enum status s = STATUS_OK;
    if (cfg->gcn_file[0] && (s = add_gcn(ms, cfg->gcn_file, log)))
        goto fail;
    if (cfg->models_dir[0]) {
        snprintf(ms->dir, sizeof ms->dir, "%s", cfg->models_dir);
    } else if (!models_default_dir(ms->dir, sizeof ms->dir)) {
        fprintf(log, "warning: no models folder (tried models/ beside the binary and ./models); "
                     "use --models DIR\n");
        ms->dir[0] = 0;
    }
    if (ms->dir[0] && (s = load_dir(ms, ms->dir, log)))
        goto fail;
    if (cfg->graph_dir[0]) {
        if ((s = graph_load(&ms->graph, &ms->graph_report, cfg->graph_dir)))
            goto fail;
        fprintf(log, "graph name=%s nodes=%d features=%d classes=%d edges=%lld\n", ms->graph->name,
                ms->graph->nnodes, ms->graph->nfeatures, ms->graph->nclasses,
                (long long)ms->graph->nedges);
        for (int i = 0; i < ms->ngcn; i++) {
            struct gcn_model *g = &ms->gcn[i];
            if (ms->graph->nfeatures > g->gcn->nfeatures) {
                if (i == 0 && cfg->gcn_file[0]) {
                    s = status_fail(STATUS_SHAPE, "%s expects %d features, graph %s has %d",
                                    cfg->gcn_file, g->gcn->nfeatures, cfg->graph_dir,
                                    ms->graph->nfeatures);
                    goto fail;
                }
                fprintf(log, "warning: gcn %s does not fit graph %s (features %d < %d)\n", g->name,
                        ms->graph->name, g->gcn->nfeatures, ms->graph->nfeatures);
                continue;
            }
            if ((s = gcn_cache_create(&g->cache, g->gcn, ms->graph)))
                goto fail;
        }
    }
    return STATUS_OK;
fail:
    models_free(ms);
    return s;
}

void models_free(struct models *ms)
{
    for (int i = 0; i < ms->nanogan; i++)
        anogan_free(ms->anogan[i]);
    free(ms->anogan);
    free(ms->anogan_path);
    for (int i = 0; i < ms->ngcn; i++) {
        gcn_cache_free(ms->gcn[i].cache);
        gcn_free(ms->gcn[i].gcn);
    }
    free(ms->gcn);
    graph_free(ms->graph);
    memset(ms, 0, sizeof *ms);
}

const struct anogan *models_anogan(const struct models *ms, const char *name)
{
    if (!ms->nanogan)
        return NULL;
    if (!name || !name[0])
        return ms->anogan[0];
    for (int i = 0; i < ms->nanogan; i++)
        if (!strcmp(ms->anogan[i]->name, name))
            return ms->anogan[i];
    return NULL;
}

const struct gcn_model *models_gcn(const struct models *ms, const char *name)
{
    if (!ms->ngcn)
        return NULL;
    if (!name || !name[0])
        return &ms->gcn[0];
    for (int i = 0; i < ms->ngcn; i++)
        if (!strcmp(ms->gcn[i].name, name))
            return &ms->gcn[i];
    return NULL;
}
