/* safetensors: read and write the Hugging Face safetensors format.
 *
 * Layout (https://huggingface.co/docs/safetensors): 8-byte little-endian header length N, then N
 * bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {string: string}}, then the raw little-endian tensor bytes. Every offset, shape
 * and size is checked against the file before use: a truncated or hostile file is STATUS_FORMAT
 * with a message, never an out-of-bounds read.
 *
 * Reading converts F32, F16 and BF16 tensors to float32. Writing produces F32 only. */
#ifndef INSPECTD_SAFETENSORS_H
#define INSPECTD_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define SAFETENSORS_MAX_DIMS 8
#define SAFETENSORS_MAX_HEADER (16u << 20) /* 16 MiB of JSON header at most */

struct safetensors_tensor {
    char *name;
    int ndim;
    int64_t shape[SAFETENSORS_MAX_DIMS];
    size_t numel;
    float *data; /* numel floats, converted to F32 */
};

struct safetensors_meta {
    char *key, *value;
};

struct safetensors {
    size_t ntensors;
    struct safetensors_tensor *tensors;
    size_t nmeta;
    struct safetensors_meta *meta;
    char sha256[65]; /* hex SHA-256 of the whole file as read ("" for in-memory builds) */
};

/* Parses a whole file held in memory (bytes, len). On success *out is owned by the caller
 * (safetensors_free). name is used in error messages only. */
enum status safetensors_parse(struct safetensors **out, const uint8_t *bytes, size_t len,
                              const char *name);
/* Reads and parses path; also fills sha256. */
enum status safetensors_load(struct safetensors **out, const char *path);
void safetensors_free(struct safetensors *st);

/* Lookups: NULL when absent. */
const struct safetensors_tensor *safetensors_find(const struct safetensors *st, const char *name);
const char *safetensors_meta_get(const struct safetensors *st, const char *key);

/* Metadata values: absent keeps *v (or dst) as it is; a present number is read by parse.c
 * (parse_float: plain decimal, no spaces, hex, "inf" or "nan"), must fit a float (an int also
 * whole, within +-1e9), else STATUS_FORMAT naming file and key in parse.c's words. */
enum status safetensors_meta_float(const struct safetensors *st, const char *key, float *v,
                                   const char *file);
enum status safetensors_meta_double(const struct safetensors *st, const char *key, double *v,
                                    const char *file);
enum status safetensors_meta_int(const struct safetensors *st, const char *key, int *v,
                                 const char *file);
void safetensors_meta_string(const struct safetensors *st, const char *key, char *dst,
                             size_t len);

/* A builder for writing: add tensors (data is copied) and metadata, then save. */
struct safetensors *safetensors_new(void);
enum status safetensors_add(struct safetensors *st, const char *name, const int64_t *shape,
                            int ndim, const float *data);
enum status safetensors_set_meta(struct safetensors *st, const char *key, const char *value);
/* Writes atomically: to "path.tmp.<pid>" then fsync and rename, so a full disk or a crash never
 * leaves a half-written file under path. Tensors are written in the order they were added. */
enum status safetensors_save(const struct safetensors *st, const char *path);

/* SHA-256 of a buffer as 64 hex characters + NUL (FIPS 180-4). */
void sha256_hex(const uint8_t *data, size_t len, char out[65]);

#endif
