/* dataset_png: folders of PNG images (unlabelled, or one subfolder per class); see dataset.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dataset_impl.h"
#include "image.h"

struct entry {
    char *path;
    int label;
};

static bool has_png_ext(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".png");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir that are PNG files (want_dirs false) or subdirectories (true). */
static enum status list_dir(char ***names, size_t *n, const char *dir, bool want_dirs)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return status_fail(STATUS_IO, "%s: %s", dir, strerror(errno));
    size_t cap = 0;
    enum status st = STATUS_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char full[4096];
        if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full)
            continue;
        bool ok = want_dirs ? dataset_is_dir(full) : (has_png_ext(e->d_name) && !dataset_is_dir(full));
        if (!ok)
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **t = realloc(*names, cap * sizeof *t);
            if (!t) {
                st = status_fail(STATUS_NOMEM, "out of memory listing %s", dir);
                break;
            }
            *names = t;
        }
        if (!((*names)[*n] = strdup(e->d_name))) {
            st = status_fail(STATUS_NOMEM, "out of memory listing %s", dir);
            break;
        }
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*names, *n, sizeof **names, cmp_str);
    return st;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static enum status add_entries(struct entry **ents, size_t *n, size_t *cap, const char *dir,
                               char **files, size_t nfiles, int label)
{
    for (size_t i = 0; i < nfiles; i++) {
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 256;
            struct entry *t = realloc(*ents, *cap * sizeof *t);
            if (!t)
                return status_fail(STATUS_NOMEM, "out of memory listing %s", dir);
            *ents = t;
        }
        size_t len = strlen(dir) + strlen(files[i]) + 2;
        char *p = malloc(len);
        if (!p)
            return status_fail(STATUS_NOMEM, "out of memory listing %s", dir);
        snprintf(p, len, "%s/%s", dir, files[i]);
        (*ents)[(*n)++] = (struct entry){p, label};
    }
    return STATUS_OK;
}

enum status dataset_load_pngs(struct dataset *ds, const struct dataset_options *opt,
                             const struct anogan *m)
{
    struct entry *ents = NULL;
    size_t nents = 0, cap = 0, nfiles = 0, nsub = 0, *sel = NULL;
    char **files = NULL, **subs = NULL;
    int *lab = NULL;
    enum status st = list_dir(&files, &nfiles, opt->path, false);
    if (st || (st = list_dir(&subs, &nsub, opt->path, true)))
        goto fail;
    if ((st = add_entries(&ents, &nents, &cap, opt->path, files, nfiles, -1)))
        goto fail;
    for (size_t s = 0; s < nsub; s++) {
        char sub[4096], **sf = NULL;
        size_t nsf = 0;
        snprintf(sub, sizeof sub, "%s/%s", opt->path, subs[s]);
        if ((st = list_dir(&sf, &nsf, sub, false)))
            goto fail;
        if (nsf && ds->nclasses == DATASET_MAX_CLASSES) {
            free_names(sf, nsf);
            st = status_fail(STATUS_RANGE, "%s: more than %d class folders", opt->path,
                             DATASET_MAX_CLASSES);
            goto fail;
        }
        if (nsf) {
            ds->class_names[ds->nclasses] = strdup(subs[s]);
            st = ds->class_names[ds->nclasses]
                     ? add_entries(&ents, &nents, &cap, sub, sf, nsf, ds->nclasses)
                     : status_fail(STATUS_NOMEM, "out of memory");
            ds->nclasses++;
        }
        free_names(sf, nsf);
        if (st)
            goto fail;
    }
    if (nents == 0) {
        st = status_fail(STATUS_NOT_FOUND, "%s: no IDX pair and no PNG images (looked for *.png "
                                           "and class subfolders of PNGs)", opt->path);
        goto fail;
    }
    ds->labelled = nfiles == 0;
    lab = malloc(nents * sizeof *lab);
    if (!lab) {
        st = status_fail(STATUS_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < nents; i++)
        lab[i] = ents[i].label;
    size_t n;
    if ((st = dataset_select(&sel, &n, ds, lab, nents, opt)))
        goto fail;
    if ((st = dataset_alloc_images(ds, n, m, true)))
        goto fail;
    for (size_t k = 0; k < n; k++) {
        const struct entry *e = &ents[sel[k]];
        struct image img = {0};
        if ((st = image_load_png(&img, e->path, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS))) {
            char why[256];
            snprintf(why, sizeof why, "%s", status_message());
            st = status_fail(st, "%s: unreadable image: %s", e->path, why);
            ds->count = k;
            goto fail;
        }
        dataset_note_size(ds, img.width, img.height);
        st = anogan_preprocess(m, &img, ds->x + k * ds->image_floats);
        image_free(&img);
        if (st) {
            ds->count = k;
            goto fail;
        }
        ds->labels[k] = e->label;
        ds->source[k] = sel[k];
        ds->names[k] = e->path;
        ents[sel[k]].path = NULL; /* ownership moves to ds */
    }
    dataset_describe(ds, opt, opt->path);
fail:
    for (size_t i = 0; i < nents; i++)
        free(ents[i].path);
    free(ents);
    free(sel);
    free(lab);
    free_names(files, nfiles);
    free_names(subs, nsub);
    return st;
}

