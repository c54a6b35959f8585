/* json: reading request bodies, and (through core/json_write.h) writing responses.
 *
 * Reading wraps cJSON (this is the only server file that includes it) behind a small read-only
 * view: typed getters that return NULL/false for absent or mistyped values, so handlers can
 * answer precise errors. Writing is core's streaming writer (json_write.h), the one the command
 * line and the safetensors writer use too; this header includes it so handlers need one
 * include. */
#ifndef INSPECTD_JSON_H
#define INSPECTD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_write.h"
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

/* ---- writing: core/json_write.h, the writer every layer uses ---- */

#endif
