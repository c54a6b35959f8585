/* json_write: see json_write.h. The writer formats into a doubling buffer and tracks commas per
 * nesting level; string escaping is written once (escape) and feeds both the buffer and a FILE. */
#include "json_write.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "status.h"

void json_writer_init(struct json_writer *w)
{
    memset(w, 0, sizeof *w);
    w->first[0] = true;
}

static bool reserve(struct json_writer *w, size_t extra)
{
    if (w->failed)
        return false;
    if (w->len + extra + 1 <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->len + extra + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->failed = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

static void put(struct json_writer *w, const char *s, size_t n)
{
    if (!reserve(w, n))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = 0;
}

/* The comma before a value (not after a key). */
static void separate(struct json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = false;
}

static void open_(struct json_writer *w, char c)
{
    separate(w);
    put(w, &c, 1);
    ASSERT(w->depth + 1 < JSON_WRITER_DEPTH);
    w->first[++w->depth] = true;
}

static void close_(struct json_writer *w, char c)
{
    ASSERT(w->depth > 0 && !w->after_key);
    w->depth--;
    put(w, &c, 1);
}

void json_object_begin(struct json_writer *w)
{
    open_(w, '{');
}
void json_object_end(struct json_writer *w)
{
    close_(w, '}');
}
void json_array_begin(struct json_writer *w)
{
    open_(w, '[');
}
void json_array_end(struct json_writer *w)
{
    close_(w, ']');
}

/* s as a string literal, in runs of bytes that need no escape, handed to out(ctx, bytes, n). */
static void escape(const char *s, void (*out)(void *ctx, const char *p, size_t n), void *ctx)
{
    out(ctx, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out(ctx, run, (size_t)(s - run));
        run = s + 1;
        char esc[8];
        switch (c) {
        case '"': out(ctx, "\\\"", 2); break;
        case '\\': out(ctx, "\\\\", 2); break;
        case '\n': out(ctx, "\\n", 2); break;
        case '\r': out(ctx, "\\r", 2); break;
        case '\t': out(ctx, "\\t", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            out(ctx, esc, 6);
        }
    }
    out(ctx, run, (size_t)(s - run));
    out(ctx, "\"", 1);
}

static void to_writer(void *ctx, const char *p, size_t n)
{
    put(ctx, p, n);
}

static void to_file(void *ctx, const char *p, size_t n)
{
    fwrite(p, 1, n, ctx);
}

void json_fput_string(FILE *f, const char *s)
{
    escape(s ? s : "", to_file, f);
}

void json_key_put(struct json_writer *w, const char *key)
{
    ASSERT(!w->after_key);
    separate(w);
    escape(key, to_writer, w);
    put(w, ":", 1);
    w->after_key = true;
}

void json_string_put(struct json_writer *w, const char *s)
{
    separate(w);
    escape(s ? s : "", to_writer, w);
}

void json_number_put(struct json_writer *w, double v)
{
    separate(w);
    if (!isfinite(v)) {
        put(w, "null", 4);
        return;
    }
    /* The shortest text that reads back as the same float when v is a float (0.1f prints as
     * 0.1, not 0.100000001); 17 digits for other doubles. */
    char b[40];
    int n = 0;
    if ((double)(float)v == v) {
        for (int p = 6; p <= 9; p++) {
            n = snprintf(b, sizeof b, "%.*g", p, v);
            if (strtof(b, NULL) == (float)v)
                break;
        }
    } else {
        n = snprintf(b, sizeof b, "%.17g", v);
    }
    put(w, b, (size_t)n);
}

void json_fixed_put(struct json_writer *w, double v, int decimals)
{
    ASSERT(decimals >= 0 && decimals <= 17);
    separate(w);
    if (!isfinite(v)) {
        put(w, "null", 4);
        return;
    }
    char b[64]; /* past 1e15, %f would print noise digits: the shortest exact form instead */
    int n = fabs(v) < 1e15 ? snprintf(b, sizeof b, "%.*f", decimals, v)
                           : snprintf(b, sizeof b, "%.17g", v);
    put(w, b, (size_t)n);
}

void json_int_put(struct json_writer *w, long long v)
{
    separate(w);
    char b[32];
    int n = snprintf(b, sizeof b, "%lld", v);
    put(w, b, (size_t)n);
}

void json_bool_put(struct json_writer *w, bool v)
{
    separate(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void json_null_put(struct json_writer *w)
{
    separate(w);
    put(w, "null", 4);
}

void json_base64_put(struct json_writer *w, const uint8_t *bytes, size_t len)
{
    separate(w);
    size_t n = base64_encoded_len(len);
    if (!reserve(w, n + 2))
        return;
    w->buf[w->len++] = '"';
    base64_encode(w->buf + w->len, bytes, len);
    w->len += n;
    w->buf[w->len++] = '"';
    w->buf[w->len] = 0;
}

void json_raw_put(struct json_writer *w, const char *text, size_t len)
{
    separate(w);
    put(w, text, len);
}

void json_kv_string(struct json_writer *w, const char *key, const char *s)
{
    json_key_put(w, key);
    json_string_put(w, s);
}
void json_kv_number(struct json_writer *w, const char *key, double v)
{
    json_key_put(w, key);
    json_number_put(w, v);
}
void json_kv_fixed(struct json_writer *w, const char *key, double v, int decimals)
{
    json_key_put(w, key);
    json_fixed_put(w, v, decimals);
}
void json_kv_int(struct json_writer *w, const char *key, long long v)
{
    json_key_put(w, key);
    json_int_put(w, v);
}
void json_kv_bool(struct json_writer *w, const char *key, bool v)
{
    json_key_put(w, key);
    json_bool_put(w, v);
}

char *json_writer_finish(struct json_writer *w, size_t *len)
{
    if (!w->failed && !w->buf)
        reserve(w, 0);
    if (w->failed) {
        json_writer_discard(w);
        *len = 0;
        return NULL;
    }
    char *out = w->buf;
    *len = w->len;
    w->buf = NULL;
    w->len = w->cap = 0;
    return out;
}

void json_writer_discard(struct json_writer *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

bool json_writer_print(struct json_writer *w, FILE *f)
{
    size_t len;
    char *text = json_writer_finish(w, &len);
    if (!text)
        return false;
    fwrite(text, 1, len, f);
    fputc('\n', f);
    free(text);
    return true;
}
