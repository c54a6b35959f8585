/* fuzz_safetensors: libFuzzer target for safetensors_parse (header length, the JSON header,
 * dtypes, shapes, offsets, tiling, metadata). An accepted file must be self-consistent: shapes
 * multiply to numel, numel floats are readable, names are found again by lookup. */
#include <string.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct safetensors *st = NULL;
    if (safetensors_parse(&st, data, size, "fuzz") != STATUS_OK) {
        ASSERT(st == NULL);
        return 0;
    }
    size_t bytes = 0;
    volatile float sink = 0;
    for (size_t i = 0; i < st->ntensors; i++) {
        const struct safetensors_tensor *t = &st->tensors[i];
        ASSERT(t->ndim >= 0 && t->ndim <= SAFETENSORS_MAX_DIMS);
        size_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            ASSERT(t->shape[d] >= 0);
            numel *= (size_t)t->shape[d];
        }
        ASSERT(numel == t->numel);
        for (size_t k = 0; k < t->numel; k++)
            sink += t->data[k];
        bytes += 2 * t->numel; /* at least two bytes per element in the file */
        ASSERT(safetensors_find(st, t->name) != NULL);
    }
    ASSERT(bytes <= size);
    for (size_t i = 0; i < st->nmeta; i++)
        ASSERT(safetensors_meta_get(st, st->meta[i].key) != NULL);
    ASSERT(strlen(st->sha256) == 64);
    (void)sink;
    safetensors_free(st);
    return 0;
}
