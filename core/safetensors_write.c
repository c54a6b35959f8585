/* safetensors_write: the builder (safetensors_new, _add, _set_meta) and the atomic F32 writer.
 *
 * The header JSON comes from the program's one JSON writer (json_write.h: names and metadata
 * escaped per RFC 8259): "__metadata__" first, then the tensors in the order they were added with
 * contiguous data_offsets, padded with spaces to a multiple of 8 bytes as the reference writer
 * does. Names and metadata must be valid UTF-8 so that every JSON reader accepts the file. */
#include "safetensors.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "json_write.h"

/* Well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF). */
static bool utf8_valid(const char *str)
{
    const unsigned char *p = (const unsigned char *)str;
    while (*p) {
        int more;
        if (*p < 0x80)
            more = 0;
        else if (*p >= 0xc2 && *p <= 0xdf)
            more = 1;
        else if ((*p & 0xf0) == 0xe0)
            more = 2;
        else if (*p >= 0xf0 && *p <= 0xf4)
            more = 3;
        else
            return false;
        if ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] >= 0xa0) ||
            (*p == 0xf0 && p[1] < 0x90) || (*p == 0xf4 && p[1] >= 0x90))
            return false;
        for (int i = 1; i <= more; i++)
            if ((p[i] & 0xc0) != 0x80)
                return false;
        p += 1 + more;
    }
    return true;
}

struct safetensors *safetensors_new(void)
{
    return calloc(1, sizeof(struct safetensors)); /* sha256 stays "" */
}

enum status safetensors_add(struct safetensors *st, const char *name, const int64_t *shape,
                            int ndim, const float *data)
{
    ASSERT(st && name && (ndim == 0 || shape));
    if (ndim < 0 || ndim > SAFETENSORS_MAX_DIMS)
        return status_fail(STATUS_RANGE, "tensor '%s': %d dimensions, at most %d supported", name, ndim,
                           SAFETENSORS_MAX_DIMS);
    if (strcmp(name, "__metadata__") == 0 || !utf8_valid(name))
        return status_fail(STATUS_RANGE, "tensor name '%s' is reserved or not UTF-8", name);
    if (safetensors_find(st, name))
        return status_fail(STATUS_RANGE, "tensor '%s' added twice", name);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return status_fail(STATUS_RANGE, "tensor '%s': negative dimension", name);
        if (shape[i] != 0 && numel > SIZE_MAX / sizeof(float) / (uint64_t)shape[i])
            return status_fail(STATUS_RANGE, "tensor '%s': too many elements", name);
        numel *= (size_t)shape[i];
    }
    ASSERT(data || numel == 0);

    struct safetensors_tensor t = {.ndim = ndim, .numel = numel};
    if (ndim)
        memcpy(t.shape, shape, (size_t)ndim * sizeof *shape);
    t.name = strdup(name);
    t.data = malloc(numel ? numel * sizeof(float) : 1);
    struct safetensors_tensor *grown = realloc(st->tensors, (st->ntensors + 1) * sizeof *grown);
    if (!t.name || !t.data || !grown) {
        free(t.name);
        free(t.data);
        if (grown)
            st->tensors = grown;
        return status_fail(STATUS_NOMEM, "tensor '%s': out of memory", name);
    }
    if (numel)
        memcpy(t.data, data, numel * sizeof(float));
    st->tensors = grown;
    st->tensors[st->ntensors++] = t;
    return STATUS_OK;
}

enum status safetensors_set_meta(struct safetensors *st, const char *key, const char *value)
{
    ASSERT(st && key && value);
    if (!utf8_valid(key) || !utf8_valid(value))
        return status_fail(STATUS_RANGE, "metadata '%s': key or value is not UTF-8", key);
    char *v = strdup(value);
    if (!v)
        return status_fail(STATUS_NOMEM, "metadata '%s': out of memory", key);
    for (size_t i = 0; i < st->nmeta; i++)
        if (strcmp(st->meta[i].key, key) == 0) {
            free(st->meta[i].value);
            st->meta[i].value = v;
            return STATUS_OK;
        }
    char *k = strdup(key);
    struct safetensors_meta *grown = realloc(st->meta, (st->nmeta + 1) * sizeof *grown);
    if (!k || !grown) {
        free(k);
        free(v);
        if (grown)
            st->meta = grown;
        return status_fail(STATUS_NOMEM, "metadata '%s': out of memory", key);
    }
    st->meta = grown;
    st->meta[st->nmeta++] = (struct safetensors_meta){.key = k, .value = v};
    return STATUS_OK;
}

/* The header JSON, padded with spaces to a multiple of 8: *out malloc'd (caller frees). */
static enum status build_header(char **out, size_t *len, const struct safetensors *st,
                                const char *path)
{
    struct json_writer w;
    json_writer_init(&w);
    json_object_begin(&w);
    if (st->nmeta) {
        json_key_put(&w, "__metadata__");
        json_object_begin(&w);
        for (size_t i = 0; i < st->nmeta; i++)
            json_kv_string(&w, st->meta[i].key, st->meta[i].value);
        json_object_end(&w);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < st->ntensors; i++) {
        const struct safetensors_tensor *t = &st->tensors[i];
        json_key_put(&w, t->name);
        json_object_begin(&w);
        json_kv_string(&w, "dtype", "F32");
        json_key_put(&w, "shape");
        json_array_begin(&w);
        for (int d = 0; d < t->ndim; d++)
            json_int_put(&w, t->shape[d]);
        json_array_end(&w);
        json_key_put(&w, "data_offsets");
        json_array_begin(&w);
        json_int_put(&w, (long long)offset);
        offset += (uint64_t)t->numel * sizeof(float);
        json_int_put(&w, (long long)offset);
        json_array_end(&w);
        json_object_end(&w);
    }
    json_object_end(&w);
    size_t n;
    char *text = json_writer_finish(&w, &n);
    size_t padded = (n + 7) / 8 * 8;
    char *grown = text ? realloc(text, padded + 1) : NULL;
    if (!grown) {
        free(text);
        return status_fail(STATUS_NOMEM, "%s: out of memory for the header", path);
    }
    memset(grown + n, ' ', padded - n);
    grown[padded] = 0;
    *out = grown;
    *len = padded;
    if (padded > SAFETENSORS_MAX_HEADER)
        return status_fail(STATUS_RANGE, "%s: header of %zu bytes exceeds the limit", path, padded);
    return STATUS_OK;
}

static bool write_floats(FILE *f, const float *x, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return fwrite(x, sizeof *x, n, f) == n;
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, &x[i], sizeof v);
        uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
        if (fwrite(le, 1, 4, f) != 4)
            return false;
    }
    return true;
#endif
}

enum status safetensors_save(const struct safetensors *st, const char *path)
{
    ASSERT(st && path);
    char *h = NULL;
    size_t hlen = 0;
    char *tmp = NULL;
    FILE *f = NULL;
    bool created = false;
    enum status s = build_header(&h, &hlen, st, path);
    if (s != STATUS_OK)
        goto fail;
    size_t tmp_len = strlen(path) + 32;
    tmp = malloc(tmp_len);
    if (!tmp) {
        s = status_fail(STATUS_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    snprintf(tmp, tmp_len, "%s.tmp.%ld", path, (long)getpid());
    f = fopen(tmp, "wb");
    if (!f) {
        s = status_fail(STATUS_IO, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    created = true;
    uint8_t len_le[8];
    for (int i = 0; i < 8; i++)
        len_le[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
    bool ok = fwrite(len_le, 1, 8, f) == 8 && fwrite(h, 1, hlen, f) == hlen;
    for (size_t i = 0; ok && i < st->ntensors; i++)
        ok = write_floats(f, st->tensors[i].data, st->tensors[i].numel);
    if (!ok || fflush(f) != 0 || fsync(fileno(f)) != 0) {
        s = status_fail(STATUS_IO, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    int rc = fclose(f);
    f = NULL;
    if (rc != 0) {
        s = status_fail(STATUS_IO, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        s = status_fail(STATUS_IO, "%s: rename: %s", path, strerror(errno));
        goto fail;
    }
    created = false;
    s = STATUS_OK;
fail:
    if (f)
        fclose(f);
    if (created)
        unlink(tmp);
    free(tmp);
    free(h);
    return s;
}
