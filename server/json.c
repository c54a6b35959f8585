/* json: see json.h. The reader is a thin typed view over cJSON's tree (struct json is a cJSON
 * node). */
#include "json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NODE(j) ((const cJSON *)(const void *)(j))
#define WRAP(c) ((const struct json *)(const void *)(c))

/* cJSON answers NULL for bad JSON and for a failed allocation alike; its allocator, set here
 * before main (no thread is running yet, and every cJSON user of the process then shares it,
 * core/safetensors.c included), notes a failure for this thread so json_parse can tell the two
 * apart: 503 out_of_memory, not 400 bad_json. */
static _Thread_local bool parse_out_of_memory;

static void *json_malloc(size_t n)
{
    void *p = malloc(n);
    parse_out_of_memory |= !p;
    return p;
}

__attribute__((constructor)) static void json_hooks(void)
{
    cJSON_Hooks hooks = {json_malloc, free};
    cJSON_InitHooks(&hooks);
}

enum status json_parse(struct json **doc, const char *text, size_t len)
{
    *doc = NULL;
    const char *end = NULL;
    parse_out_of_memory = false;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root && parse_out_of_memory)
        return status_fail(STATUS_NOMEM, "no memory to parse %zu bytes of JSON", len);
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
