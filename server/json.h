/* json: reading request bodies and writing responses.
 *
 * Reading wraps cJSON (this is the only server file that includes it) behind a small read-only
 * view: typed getters that return NULL/false for absent or mistyped values, so handlers can
 * answer precise errors. Writing is a streaming writer into one growable buffer (no tree), with
 * strings escaped per RFC 8259 and base64 written straight into the output. */
#ifndef INSPECTD_JSON_H
#define INSPECTD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* ---- reading ---- */

struct json; /* a node of a parsed document; the document is its root node */

/* Parses len bytes of text. STATUS_FORMAT (with the byte offset in the message) on bad JSON,
 * STATUS_NOMEM on allocation failure. *doc owned by the caller: json_free. */
enum status json_parse(struct json **doc, const char *text, size_t len);
void json_free(struct json *doc);

bool json_is_object(const struct json *j);
bool json_is_array(const struct json *j);
bool json_is_number(const struct json *j);
bool json_is_string(const struct json *j);
bool json_is_bool(const struct json *j);
bool json_is_null(const struct json *j);
/* "object", "array", "number", "string", "boolean", "null" (for messages). */
const char *json_type_name(const struct json *j);

/* Member of an object by exact key; NULL if absent or j is not an object. */
const struct json *json_get(const struct json *j, const char *key);
double json_number(const struct json *j); /* NaN unless a number */
const char *json_string(const struct json *j); /* NULL unless a string */
bool json_bool(const struct json *j);          /* false unless true */
/* Arrays and objects: element count, and iteration (first child, next sibling; NULL at end). */
size_t json_size(const struct json *j);
const struct json *json_first(const struct json *j);
const struct json *json_next(const struct json *j);
/* Key of an object member (NULL for array elements). */
const char *json_key(const struct json *j);

/* ---- writing ---- */

#define JSON_WRITER_DEPTH 32

struct json_writer {
    char *buf;
    size_t len, cap;
    bool failed; /* an allocation failed; json_writer_finish returns NULL */
    int depth;
    bool first[JSON_WRITER_DEPTH]; /* no element written yet at this depth */
    bool after_key;
};

void json_writer_init(struct json_writer *w);
void json_object_begin(struct json_writer *w);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w);
void json_array_end(struct json_writer *w);
void json_key_put(struct json_writer *w, const char *key);
void json_string_put(struct json_writer *w, const char *s);
/* Non-finite numbers are written as null (JSON has no NaN). A float-valued double is written
 * with the fewest digits that read back as the same float. */
void json_number_put(struct json_writer *w, double v);
void json_int_put(struct json_writer *w, long long v);
void json_bool_put(struct json_writer *w, bool v);
void json_null_put(struct json_writer *w);
/* A string holding the standard base64 (RFC 4648, padded) of len bytes. */
void json_base64_put(struct json_writer *w, const uint8_t *bytes, size_t len);
/* Appends already-formatted JSON text verbatim (must be a valid value). */
void json_raw_put(struct json_writer *w, const char *text, size_t len);

/* key + value shorthands */
void json_kv_string(struct json_writer *w, const char *key, const char *s);
void json_kv_number(struct json_writer *w, const char *key, double v);
void json_kv_int(struct json_writer *w, const char *key, long long v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);

/* Ends writing: the NUL-terminated text (malloc'd, caller frees) and its length, or NULL if an
 * allocation failed (the buffer is freed either way). */
char *json_writer_finish(struct json_writer *w, size_t *len);
/* Discards the buffer. */
void json_writer_discard(struct json_writer *w);

#endif
