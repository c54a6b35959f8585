/* idx: IDX reader (uint8 only), raw or gzip, and the finder of MNIST-style file pairs.
 *
 * The header is checked before anything is allocated: magic 00 00 08 NN, 1..IDX_MAX_DIMS
 * dimensions, none zero, product within IDX_MAX_BYTES; then the payload must be exactly as long
 * as the header says (a short file is truncated, a long one has trailing bytes: both
 * STATUS_FORMAT). Gzip is inflated with zlib from memory into a buffer that grows only as far as
 * the header allows. */
#include "idx.h"

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "file.h"
#include "idx_decode.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_HEADER_MAX (4 + 4 * IDX_MAX_DIMS)

static const char *nm(const char *name)
{
    return name ? name : "<memory>";
}

/* Reads the header at b (len bytes available, possibly only a prefix of the file) into x (ndim,
 * dims, count, item; data untouched) and returns its length and the payload size it declares. */
static enum status parse_header(struct idx *x, size_t *header_len, size_t *payload, const uint8_t *b,
                                size_t len, const char *name)
{
    if (len < 4)
        return status_fail(STATUS_FORMAT, "%s: %zu bytes, too short for an IDX header", nm(name), len);
    if (b[0] != 0 || b[1] != 0)
        return status_fail(STATUS_FORMAT, "%s: not an IDX file (magic %02x %02x)", nm(name), b[0], b[1]);
    if (b[2] != IDX_TYPE_UBYTE)
        return status_fail(STATUS_UNSUPPORTED, "%s: IDX data type 0x%02x; only unsigned bytes (0x08)",
                           nm(name), b[2]);
    int ndim = b[3];
    if (ndim < 1 || ndim > IDX_MAX_DIMS)
        return status_fail(STATUS_FORMAT, "%s: %d dimensions; 1 to %d supported", nm(name), ndim,
                           IDX_MAX_DIMS);
    size_t hl = 4 + 4 * (size_t)ndim;
    if (len < hl)
        return status_fail(STATUS_FORMAT, "%s: truncated IDX header", nm(name));
    uint64_t total = 1;
    x->ndim = ndim;
    for (int i = 0; i < ndim; i++) {
        const uint8_t *p = b + 4 + 4 * i;
        x->dims[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (x->dims[i] == 0)
            return status_fail(STATUS_FORMAT, "%s: dimension %d is zero", nm(name), i);
        total *= x->dims[i]; /* stays below 2^64: checked against the cap after every factor */
        if (total > IDX_MAX_BYTES)
            return status_fail(STATUS_RANGE, "%s: IDX payload exceeds the limit of %u bytes", nm(name),
                               IDX_MAX_BYTES);
    }
    x->count = x->dims[0];
    x->item = (size_t)(total / x->dims[0]);
    *header_len = hl;
    *payload = (size_t)total;
    return STATUS_OK;
}

enum status idx_parse(struct idx *out, const uint8_t *bytes, size_t len, const char *name)
{
    ASSERT(out && (bytes || len == 0));
    struct idx x = {0};
    size_t hl, payload;
    memset(out, 0, sizeof *out);
    enum status s = parse_header(&x, &hl, &payload, bytes, len, name);
    if (s != STATUS_OK)
        return s;
    if (len - hl != payload)
        return status_fail(STATUS_FORMAT, "%s: IDX header declares %zu data bytes, file has %zu", nm(name),
                           payload, len - hl);
    x.data = malloc(payload);
    if (!x.data)
        return status_fail(STATUS_NOMEM, "%s: out of memory for %zu bytes", nm(name), payload);
    memcpy(x.data, bytes + hl, payload);
    *out = x;
    return STATUS_OK;
}

/* Like idx_parse, but takes over buf (malloc'd, len bytes; freed on failure) and moves the payload
 * to its front instead of copying it. */
static enum status adopt(struct idx *out, uint8_t *buf, size_t len, const char *name)
{
    struct idx x = {0};
    size_t hl, payload;
    enum status s = parse_header(&x, &hl, &payload, buf, len, name);
    if (s == STATUS_OK && len - hl != payload)
        s = status_fail(STATUS_FORMAT, "%s: IDX header declares %zu data bytes, file has %zu", nm(name),
                        payload, len - hl);
    if (s != STATUS_OK) {
        free(buf);
        return s;
    }
    memmove(buf, buf + hl, payload);
    uint8_t *shrunk = realloc(buf, payload);
    x.data = shrunk ? shrunk : buf;
    *out = x;
    return STATUS_OK;
}

/* Inflates the gzip member(s) in `in` into *out (malloc'd, *out_len bytes). The buffer doubles as
 * output arrives, up to what the IDX header declares plus one byte (to notice trailing data). */
static enum status gunzip(uint8_t **out, size_t *out_len, const uint8_t *in, size_t in_len,
                          const char *name)
{
    z_stream zs = {0};
    uint8_t *buf = NULL;
    size_t cap = 0, limit = IDX_HEADER_MAX + (size_t)IDX_MAX_BYTES + 1;
    size_t fed = 0, len = 0;
    bool header_known = false;
    enum status s;
    if (inflateInit2(&zs, 15 + 16) != Z_OK) /* 16: gzip wrapper only */
        return status_fail(STATUS_NOMEM, "%s: cannot start zlib", nm(name));
    for (;;) {
        if (len == cap) {
            if (cap >= limit) {
                s = status_fail(STATUS_FORMAT, "%s: more data than the IDX header declares", nm(name));
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : 65536;
            ncap = ncap < limit ? ncap : limit;
            uint8_t *p = realloc(buf, ncap);
            if (!p) {
                s = status_fail(STATUS_NOMEM, "%s: out of memory inflating", nm(name));
                goto fail;
            }
            buf = p, cap = ncap;
        }
        if (zs.avail_in == 0 && fed < in_len) {
            size_t chunk = in_len - fed < (1u << 30) ? in_len - fed : (1u << 30);
            zs.next_in = (Bytef *)(uintptr_t)(in + fed); /* zlib does not write through next_in */
            zs.avail_in = (uInt)chunk;
            fed += chunk;
        }
        size_t room = cap - len < (1u << 30) ? cap - len : (1u << 30);
        zs.next_out = buf + len;
        zs.avail_out = (uInt)room;
        int rc = inflate(&zs, Z_NO_FLUSH);
        len += room - zs.avail_out;
        if (rc == Z_STREAM_END) {
            size_t left = zs.avail_in + (in_len - fed);
            if (left == 0)
                break;
            const uint8_t *next = in + (in_len - left);
            if (left >= 2 && next[0] == 0x1f && next[1] == 0x8b) { /* another member */
                inflateReset(&zs);
                continue;
            }
            s = status_fail(STATUS_FORMAT, "%s: %zu bytes after the gzip stream", nm(name), left);
            goto fail;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            s = status_fail(STATUS_FORMAT, "%s: corrupt gzip data (%s)", nm(name), zs.msg ? zs.msg : "zlib");
            goto fail;
        }
        if (zs.avail_in == 0 && fed == in_len && zs.avail_out > 0) {
            s = status_fail(STATUS_FORMAT, "%s: truncated gzip stream", nm(name));
            goto fail;
        }
        if (!header_known && len >= 4 && (buf[3] > IDX_MAX_DIMS || len >= 4 + 4 * (size_t)buf[3])) {
            struct idx x;
            size_t hl, payload;
            if ((s = parse_header(&x, &hl, &payload, buf, len, name)) != STATUS_OK)
                goto fail;
            limit = hl + payload + 1;
            header_known = true;
        }
    }
    inflateEnd(&zs);
    *out = buf;
    *out_len = len;
    return STATUS_OK;
fail:
    inflateEnd(&zs);
    free(buf);
    return s;
}

enum status idx_decode(struct idx *out, const uint8_t *bytes, size_t len, const char *name)
{
    ASSERT(out && (bytes || len == 0));
    memset(out, 0, sizeof *out);
    if (len < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b)
        return idx_parse(out, bytes, len, name);
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    enum status s = gunzip(&raw, &raw_len, bytes, len, name);
    return s == STATUS_OK ? adopt(out, raw, raw_len, name) : s;
}

enum status idx_load(struct idx *out, const char *path)
{
    ASSERT(out && path);
    memset(out, 0, sizeof *out);
    uint8_t *buf = NULL;
    size_t size = 0;
    enum status s = file_read_all(&buf, &size, path, (size_t)IDX_MAX_BYTES + IDX_HEADER_MAX);
    if (s)
        return s;
    if (size >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        s = idx_decode(out, buf, size, path);
        free(buf);
        return s;
    }
    return adopt(out, buf, size, path); /* adopted or freed */
}

void idx_free(struct idx *x)
{
    if (!x)
        return;
    free(x->data);
    memset(x, 0, sizeof *x);
}

static bool is_readable_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, R_OK) == 0;
}

/* dir/<prefix><kind>-ubyte, then the same with .gz, into out. */
static bool find_file(char *out, size_t out_len, bool *too_long, const char *dir, const char *prefix,
                      const char *kind)
{
    static const char *const suffixes[] = {"", ".gz"};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(out, out_len, "%s/%s%s-ubyte%s", dir, prefix, kind, suffixes[i]);
        if (n < 0 || (size_t)n >= out_len) {
            *too_long = true;
            continue;
        }
        if (is_readable_file(out))
            return true;
    }
    return false;
}

enum status idx_find_pair(const char *dir, const char *split, char *images, size_t images_len,
                          char *labels, size_t labels_len)
{
    ASSERT(dir && images && labels);
    static const char *const any[] = {"train-", "t10k-", "", NULL};
    static const char *const train[] = {"train-", "", NULL};
    static const char *const test[] = {"t10k-", "", NULL};
    const char *const *prefixes;
    if (!split)
        prefixes = any;
    else if (strcmp(split, "train") == 0)
        prefixes = train;
    else if (strcmp(split, "test") == 0)
        prefixes = test;
    else
        return status_fail(STATUS_RANGE, "split '%s': expected \"train\" or \"test\"", split);
    bool too_long = false;
    for (int i = 0; prefixes[i]; i++)
        if (find_file(images, images_len, &too_long, dir, prefixes[i], "images-idx3") &&
            find_file(labels, labels_len, &too_long, dir, prefixes[i], "labels-idx1"))
            return STATUS_OK;
    if (images_len)
        images[0] = '\0';
    if (labels_len)
        labels[0] = '\0';
    if (too_long)
        return status_fail(STATUS_RANGE, "%s: path too long for the buffer", dir);
    return status_fail(STATUS_NOT_FOUND, "%s: no IDX pair [train-|t10k-]{images-idx3,labels-idx1}-ubyte[.gz]%s%s",
                       dir, split ? " for split " : "", split ? split : "");
}
