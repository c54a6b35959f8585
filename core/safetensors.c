/* safetensors: reader (bounds-checked, F32/F16/BF16 to float32) and atomic F32 writer.
 *
 * The reader trusts nothing in the file: the header length is checked against the file and
 * SAFETENSORS_MAX_HEADER, the header must be one JSON object followed only by padding spaces, every
 * tensor needs a supported dtype, a shape of non-negative integers whose product does not
 * overflow, and data_offsets inside the data section whose span is exactly numel * dtype size.
 * Like the reference implementation (huggingface/safetensors), tensors must tile the data section
 * with no overlaps and no holes, and names must be unique. Errors name the file and the tensor.
 *
 * The writer is in safetensors_write.c. This is the only file of core/ that includes cJSON. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "file.h"
#include "parse.h"
#include "sha256.h"

#define JSON_MAX_INT 9007199254740992.0 /* 2^53: integers above this are not exact in a double */

enum dtype { DTYPE_F32, DTYPE_F16, DTYPE_BF16 };

/* Where one tensor's bytes lie, for the duplicate and tiling checks. name points into the JSON. */
struct span {
    const char *name;
    size_t begin, end;
};

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    float f;
    if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in float */
        f = ldexpf((float)mant, -24);
        return sign ? -f : f;
    }
    if (exp == 31)
        bits = sign | 0x7f800000u | mant << 13; /* inf or NaN (payload kept) */
    else
        bits = sign | (exp - 15 + 127) << 23 | mant << 13;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* dst: n floats; src: n little-endian elements of type dt. */
static void convert(float *dst, const uint8_t *src, size_t n, enum dtype dt)
{
    switch (dt) {
    case DTYPE_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(dst, src, n * sizeof(float));
#else
        for (size_t i = 0; i < n; i++) {
            uint32_t b = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 |
                         (uint32_t)src[4 * i + 2] << 16 | (uint32_t)src[4 * i + 3] << 24;
            memcpy(&dst[i], &b, sizeof b);
        }
#endif
        break;
    case DTYPE_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        break;
    case DTYPE_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = bf16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        break;
    }
}

/* A JSON number that is an integer in [0, max]; 0 if it is anything else. */
static bool json_uint(const cJSON *v, double max, uint64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= max) || d != floor(d))
        return false;
    *out = (uint64_t)d;
    return true;
}

/* Checks one header entry (e, named e->string) and fills t (name, ndim, shape, numel), its dtype
 * and its byte span. t->data is left NULL. */
static enum status parse_entry(struct safetensors_tensor *t, enum dtype *dt, struct span *sp,
                               const cJSON *e, size_t data_len, const char *file)
{
    const char *tn = e->string;
    if (!cJSON_IsObject(e))
        return status_fail(STATUS_FORMAT, "%s: tensor '%s' is not a JSON object", file, tn);

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dtype))
        return status_fail(STATUS_FORMAT, "%s: tensor '%s' has no string 'dtype'", file, tn);
    size_t esize;
    if (strcmp(dtype->valuestring, "F32") == 0)
        *dt = DTYPE_F32, esize = 4;
    else if (strcmp(dtype->valuestring, "F16") == 0)
        *dt = DTYPE_F16, esize = 2;
    else if (strcmp(dtype->valuestring, "BF16") == 0)
        *dt = DTYPE_BF16, esize = 2;
    else
        return status_fail(STATUS_UNSUPPORTED,
                           "%s: tensor '%s' has dtype %.32s; only F32, F16 and BF16 are supported",
                           file, tn, dtype->valuestring);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    if (!cJSON_IsArray(shape))
        return status_fail(STATUS_FORMAT, "%s: tensor '%s' has no 'shape' array", file, tn);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > SAFETENSORS_MAX_DIMS)
        return status_fail(STATUS_UNSUPPORTED, "%s: tensor '%s' has %d dimensions, at most %d supported",
                           file, tn, ndim, SAFETENSORS_MAX_DIMS);
    size_t numel = 1;
    int i = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape) {
        uint64_t v;
        if (!json_uint(d, JSON_MAX_INT, &v))
            return status_fail(STATUS_FORMAT, "%s: tensor '%s': dimension %d is not a non-negative integer",
                               file, tn, i);
        if (v != 0 && numel > SIZE_MAX / v)
            return status_fail(STATUS_FORMAT, "%s: tensor '%s': element count overflows", file, tn);
        numel *= (size_t)v;
        t->shape[i++] = (int64_t)v;
    }
    t->ndim = ndim;
    t->numel = numel;
    if (numel > SIZE_MAX / esize)
        return status_fail(STATUS_FORMAT, "%s: tensor '%s': byte count overflows", file, tn);

    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return status_fail(STATUS_FORMAT, "%s: tensor '%s' has no 'data_offsets' pair", file, tn);
    if (!json_uint(offs->child, (double)data_len, &begin) ||
        !json_uint(offs->child->next, (double)data_len, &end) || begin > data_len || end > data_len)
        return status_fail(STATUS_FORMAT,
                           "%s: tensor '%s': data_offsets are not integers within the %zu-byte data section",
                           file, tn, data_len);
    if (begin > end)
        return status_fail(STATUS_FORMAT, "%s: tensor '%s': data_offsets end before they begin", file, tn);
    if (end - begin != numel * esize)
        return status_fail(STATUS_FORMAT, "%s: tensor '%s' spans %llu bytes but its shape and dtype need %zu",
                           file, tn, (unsigned long long)(end - begin), numel * esize);
    sp->name = tn;
    sp->begin = (size_t)begin;
    sp->end = (size_t)end;
    t->name = strdup(tn);
    if (!t->name)
        return status_fail(STATUS_NOMEM, "%s: out of memory", file);
    return STATUS_OK;
}

static int cmp_span_name(const void *a, const void *b)
{
    return strcmp(((const struct span *)a)->name, ((const struct span *)b)->name);
}

static int cmp_span_offset(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_meta_key(const void *a, const void *b)
{
    return strcmp(((const struct safetensors_meta *)a)->key, ((const struct safetensors_meta *)b)->key);
}

/* Unique names, and spans that tile [0, data_len) exactly (checked on a sorted copy of in). */
static enum status check_layout(const struct span *in, size_t n, size_t data_len, const char *file)
{
    struct span *sp = malloc((n ? n : 1) * sizeof *sp);
    if (!sp)
        return status_fail(STATUS_NOMEM, "%s: out of memory", file);
    memcpy(sp, in, n * sizeof *sp);
    enum status s = STATUS_OK;
    qsort(sp, n, sizeof *sp, cmp_span_name);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sp[i - 1].name, sp[i].name) == 0) {
            s = status_fail(STATUS_FORMAT, "%s: tensor '%s' appears twice", file, sp[i].name);
            goto done;
        }
    qsort(sp, n, sizeof *sp, cmp_span_offset);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (sp[i].begin < at) {
            s = status_fail(STATUS_FORMAT, "%s: tensors '%s' and '%s' overlap", file, sp[i - 1].name,
                            sp[i].name);
            goto done;
        }
        if (sp[i].begin > at) {
            s = status_fail(STATUS_FORMAT, "%s: data bytes %zu..%zu belong to no tensor (before '%s')",
                            file, at, sp[i].begin, sp[i].name);
            goto done;
        }
        at = sp[i].end;
    }
    if (at != data_len)
        s = status_fail(STATUS_FORMAT, "%s: %zu bytes after the last tensor belong to no tensor", file,
                        data_len - at);
done:
    free(sp);
    return s;
}

/* "__metadata__": an object of strings (null is accepted as empty, as the reference does). */
static enum status parse_meta(struct safetensors *st, const cJSON *m, const char *file)
{
    if (cJSON_IsNull(m))
        return STATUS_OK;
    if (!cJSON_IsObject(m))
        return status_fail(STATUS_FORMAT, "%s: __metadata__ is not a JSON object", file);
    size_t n = (size_t)cJSON_GetArraySize(m);
    if (n == 0)
        return STATUS_OK;
    st->meta = calloc(n, sizeof *st->meta);
    if (!st->meta)
        return status_fail(STATUS_NOMEM, "%s: out of memory", file);
    const cJSON *v;
    cJSON_ArrayForEach(v, m) {
        if (!cJSON_IsString(v))
            return status_fail(STATUS_FORMAT, "%s: __metadata__ value of '%s' is not a string", file,
                               v->string);
        struct safetensors_meta *e = &st->meta[st->nmeta];
        e->key = strdup(v->string);
        e->value = strdup(v->valuestring);
        st->nmeta++;
        if (!e->key || !e->value)
            return status_fail(STATUS_NOMEM, "%s: out of memory", file);
    }
    /* Checked on a sorted copy so the caller keeps the file's order. */
    struct safetensors_meta *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return status_fail(STATUS_NOMEM, "%s: out of memory", file);
    memcpy(sorted, st->meta, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_meta_key);
    enum status s = STATUS_OK;
    for (size_t i = 1; i < n && s == STATUS_OK; i++)
        if (strcmp(sorted[i - 1].key, sorted[i].key) == 0)
            s = status_fail(STATUS_FORMAT, "%s: __metadata__ key '%s' appears twice", file, sorted[i].key);
    free(sorted);
    return s;
}

enum status safetensors_parse(struct safetensors **out, const uint8_t *bytes, size_t len,
                              const char *name)
{
    ASSERT(out && (bytes || len == 0));
    const char *file = name ? name : "<memory>";
    struct safetensors *st = NULL;
    struct span *spans = NULL;
    enum dtype *dtypes = NULL;
    cJSON *root = NULL;
    enum status s;
    *out = NULL;

    if (len < 8) {
        s = status_fail(STATUS_FORMAT, "%s: %zu bytes, too short for a safetensors header", file, len);
        goto fail;
    }
    uint64_t hlen = load_le64(bytes);
    if (hlen > SAFETENSORS_MAX_HEADER) {
        s = status_fail(STATUS_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", file,
                        (unsigned long long)hlen, SAFETENSORS_MAX_HEADER);
        goto fail;
    }
    if (hlen < 2 || hlen > len - 8) {
        s = status_fail(STATUS_FORMAT, "%s: header length %llu does not fit a file of %zu bytes", file,
                        (unsigned long long)hlen, len);
        goto fail;
    }
    const char *hdr = (const char *)bytes + 8, *parse_end = NULL;
    const uint8_t *data = bytes + 8 + hlen;
    size_t data_len = len - 8 - (size_t)hlen;

    root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &parse_end, 0);
    if (!root) {
        s = status_fail(STATUS_FORMAT, "%s: header is not valid JSON (near byte %td)", file,
                        parse_end ? parse_end - hdr : (ptrdiff_t)0);
        goto fail;
    }
    for (const char *p = parse_end; p < hdr + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            s = status_fail(STATUS_FORMAT, "%s: bytes after the header JSON (at byte %td)", file, p - hdr);
            goto fail;
        }
    if (!cJSON_IsObject(root)) {
        s = status_fail(STATUS_FORMAT, "%s: header is not a JSON object", file);
        goto fail;
    }

    size_t n = 0, nmeta_keys = 0;
    const cJSON *e, *meta = NULL;
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "__metadata__") == 0)
            meta = e, nmeta_keys++;
        else
            n++;
    }
    if (nmeta_keys > 1) {
        s = status_fail(STATUS_FORMAT, "%s: __metadata__ appears twice", file);
        goto fail;
    }
    st = calloc(1, sizeof *st);
    spans = calloc(n ? n : 1, sizeof *spans);
    dtypes = calloc(n ? n : 1, sizeof *dtypes);
    if (!st || !spans || !dtypes || (n && !(st->tensors = calloc(n, sizeof *st->tensors)))) {
        s = status_fail(STATUS_NOMEM, "%s: out of memory for %zu tensors", file, n);
        goto fail;
    }
    cJSON_ArrayForEach(e, root) {
        if (e == meta)
            continue;
        size_t i = st->ntensors++;
        if ((s = parse_entry(&st->tensors[i], &dtypes[i], &spans[i], e, data_len, file)) != STATUS_OK)
            goto fail;
    }
    if ((s = check_layout(spans, n, data_len, file)) != STATUS_OK)
        goto fail;
    if (meta && (s = parse_meta(st, meta, file)) != STATUS_OK)
        goto fail;

    /* Every span is valid now: convert. */
    for (size_t i = 0; i < n; i++) {
        struct safetensors_tensor *t = &st->tensors[i];
        t->data = malloc(t->numel ? t->numel * sizeof(float) : 1);
        if (!t->data) {
            s = status_fail(STATUS_NOMEM, "%s: out of memory for tensor '%s'", file, t->name);
            goto fail;
        }
        convert(t->data, data + spans[i].begin, t->numel, dtypes[i]);
    }
    sha256_hex(bytes, len, st->sha256);
    *out = st;
    st = NULL;
    s = STATUS_OK;
fail:
    cJSON_Delete(root);
    free(spans);
    free(dtypes);
    safetensors_free(st);
    return s;
}

enum status safetensors_load(struct safetensors **out, const char *path)
{
    ASSERT(out && path);
    *out = NULL;
    uint8_t *buf = NULL;
    size_t size = 0;
    enum status s = file_read_all(&buf, &size, path, SIZE_MAX - 1);
    if (s)
        return s;
    s = safetensors_parse(out, buf, size, path);
    free(buf);
    return s;
}

void safetensors_free(struct safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->ntensors; i++) {
        free(st->tensors[i].name);
        free(st->tensors[i].data);
    }
    for (size_t i = 0; i < st->nmeta; i++) {
        free(st->meta[i].key);
        free(st->meta[i].value);
    }
    free(st->tensors);
    free(st->meta);
    free(st);
}

const struct safetensors_tensor *safetensors_find(const struct safetensors *st, const char *name)
{
    for (size_t i = 0; st && i < st->ntensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

const char *safetensors_meta_get(const struct safetensors *st, const char *key)
{
    for (size_t i = 0; st && i < st->nmeta; i++)
        if (strcmp(st->meta[i].key, key) == 0)
            return st->meta[i].value;
    return NULL;
}

/* A metadata number refused by parse.c: its words, with the file in front, as STATUS_FORMAT (a
 * malformed file, not a bad request). */
static enum status meta_refused(const char *file)
{
    char why[256];
    snprintf(why, sizeof why, "%s", status_message());
    return status_fail(STATUS_FORMAT, "%s: %s", file, why);
}

/* Metadata `key` as a number in [lo, hi] into *v (left alone when absent); *whole: it must be an
 * integer too. */
static enum status meta_number(double *v, const struct safetensors *st, const char *key,
                               const char *file, double lo, double hi, bool whole)
{
    const char *s = safetensors_meta_get(st, key);
    if (!s)
        return STATUS_OK;
    char name[160];
    snprintf(name, sizeof name, "metadata %s", key);
    double d;
    long long n;
    if (parse_float(&d, name, s, lo, hi) ||
        (whole && parse_check_int(&n, name, d, (long long)lo, (long long)hi)))
        return meta_refused(file);
    *v = d;
    return STATUS_OK;
}

enum status safetensors_meta_double(const struct safetensors *st, const char *key, double *v,
                                    const char *file)
{
    return meta_number(v, st, key, file, -FLT_MAX, FLT_MAX, false);
}

enum status safetensors_meta_float(const struct safetensors *st, const char *key, float *v,
                                   const char *file)
{
    double d = *v;
    enum status s = safetensors_meta_double(st, key, &d, file);
    *v = (float)d;
    return s;
}

enum status safetensors_meta_int(const struct safetensors *st, const char *key, int *v,
                                 const char *file)
{
    /* a number that is whole ("20", and "20.0" as Python may write it), within +-1e9 */
    double d = *v;
    enum status s = meta_number(&d, st, key, file, -1e9, 1e9, true);
    *v = (int)d;
    return s;
}

void safetensors_meta_string(const struct safetensors *st, const char *key, char *dst, size_t len)
{
    const char *s = safetensors_meta_get(st, key);
    if (s)
        snprintf(dst, len, "%s", s);
}
