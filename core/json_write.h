/* json_write: the one JSON writer of the program, for every layer: the daemon's answers
 * (server/), the command line's result lines (cli/), the safetensors header (core/). A streaming
 * writer into one growable buffer (no tree): commas are tracked per nesting level, strings are
 * escaped per RFC 8259 (quote, backslash and control characters; other bytes pass through, so
 * UTF-8 in is UTF-8 out), base64 is written straight into the output, and an allocation failure
 * is sticky, reported once by json_writer_finish. Reading JSON is elsewhere (cJSON behind
 * server/json.c and core/safetensors.c). */
#ifndef INSPECTD_JSON_WRITE_H
#define INSPECTD_JSON_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
/* v with exactly `decimals` digits after the point ("%.*f"), null when not finite: for figures
 * people read (accuracies, seconds) that should line up. */
void json_fixed_put(struct json_writer *w, double v, int decimals);
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
void json_kv_fixed(struct json_writer *w, const char *key, double v, int decimals);
void json_kv_int(struct json_writer *w, const char *key, long long v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);

/* Ends writing: the NUL-terminated text (malloc'd, caller frees) and its length, or NULL if an
 * allocation failed (the buffer is freed either way). */
char *json_writer_finish(struct json_writer *w, size_t *len);
/* Discards the buffer. */
void json_writer_discard(struct json_writer *w);
/* Ends writing and prints the text and a newline to f. False (nothing printed) if an allocation
 * failed. */
bool json_writer_print(struct json_writer *w, FILE *f);

/* s as a JSON string literal (quoted and escaped as above) straight to f, for output printed
 * piece by piece. */
void json_fput_string(FILE *f, const char *s);

#endif
