/* json: see json.h. The reader is a thin typed view over cJSON's tree (struct json is a cJSON
 * node); the writer formats into a doubling buffer and tracks commas per nesting level. */
#include "json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

#define NODE(j) ((const cJSON *)(const void *)(j))
#define WRAP(c) ((const struct json *)(const void *)(c))

enum status json_parse(struct json **doc, const char *text, size_t len)
{
    *doc = NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        size_t pos = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
        return status_fail(STATUS_FORMAT, "invalid JSON near byte %zu", pos);
    }
    /* Only whitespace may follow the value. */
    size_t rest = end ? (size_t)(end - text) : len;
    for (; rest < len; rest++) {
        char c = text[rest];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t' && c != 0) {
            cJSON_Delete(root);
            return status_fail(STATUS_FORMAT, "unexpected text after the JSON value at byte %zu",
                               rest);
        }
    }
    *doc = (struct json *)(void *)root;
    return STATUS_OK;
}

void json_free(struct json *doc)
{
    cJSON_Delete((cJSON *)(void *)doc);
}

bool json_is_object(const struct json *j)
{
    return j && cJSON_IsObject(NODE(j));
}
bool json_is_array(const struct json *j)
{
    return j && cJSON_IsArray(NODE(j));
}
bool json_is_number(const struct json *j)
{
    return j && cJSON_IsNumber(NODE(j));
}
bool json_is_string(const struct json *j)
{
    return j && cJSON_IsString(NODE(j));
}
bool json_is_bool(const struct json *j)
{
    return j && cJSON_IsBool(NODE(j));
}
bool json_is_null(const struct json *j)
{
    return j && cJSON_IsNull(NODE(j));
}

const char *json_type_name(const struct json *j)
{
    if (json_is_object(j))
        return "object";
    if (json_is_array(j))
        return "array";
    if (json_is_number(j))
        return "number";
    if (json_is_string(j))
        return "string";
    if (json_is_bool(j))
        return "boolean";
    return "null";
}

const struct json *json_get(const struct json *j, const char *key)
{
    if (!json_is_object(j))
        return NULL;
    return WRAP(cJSON_GetObjectItemCaseSensitive(NODE(j), key));
}

double json_number(const struct json *j)
{
    return json_is_number(j) ? NODE(j)->valuedouble : NAN;
}

const char *json_string(const struct json *j)
{
    return json_is_string(j) ? NODE(j)->valuestring : NULL;
}

bool json_bool(const struct json *j)
{
    return j && cJSON_IsTrue(NODE(j));
}

size_t json_size(const struct json *j)
{
    if (!json_is_array(j) && !json_is_object(j))
        return 0;
    size_t n = 0;
    for (const cJSON *c = NODE(j)->child; c; c = c->next)
        n++;
    return n;
}

const struct json *json_first(const struct json *j)
{
    if (!json_is_array(j) && !json_is_object(j))
        return NULL;
    return WRAP(NODE(j)->child);
}

const struct json *json_next(const struct json *j)
{
    return j ? WRAP(NODE(j)->next) : NULL;
}

const char *json_key(const struct json *j)
{
    return j ? NODE(j)->string : NULL;
}

/* ---- writer ---- */

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

static void quoted(struct json_writer *w, const char *s)
{
    put(w, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, run, (size_t)(s - run));
        run = s + 1;
        char esc[8];
        switch (c) {
        case '"':
            put(w, "\\\"", 2);
            break;
        case '\\':
            put(w, "\\\\", 2);
            break;
        case '\n':
            put(w, "\\n", 2);
            break;
        case '\r':
            put(w, "\\r", 2);
            break;
        case '\t':
            put(w, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(w, esc, 6);
        }
    }
    put(w, run, (size_t)(s - run));
    put(w, "\"", 1);
}

void json_key_put(struct json_writer *w, const char *key)
{
    ASSERT(!w->after_key);
    separate(w);
    quoted(w, key);
    put(w, ":", 1);
    w->after_key = true;
}

void json_string_put(struct json_writer *w, const char *s)
{
    separate(w);
    quoted(w, s ? s : "");
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
