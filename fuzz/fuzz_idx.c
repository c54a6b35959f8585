/* fuzz_idx: libFuzzer target for idx_decode: raw IDX headers and, behind the gzip magic, the
 * bounded inflate. An accepted file holds count * item payload bytes, all readable. */
#include "idx.h"
#include "idx_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct idx x;
    if (idx_decode(&x, data, size, "fuzz") != STATUS_OK) {
        ASSERT(x.data == NULL);
        return 0;
    }
    ASSERT(x.ndim >= 1 && x.ndim <= IDX_MAX_DIMS && x.count == x.dims[0]);
    size_t total = x.count * x.item;
    ASSERT(total >= 1 && total <= IDX_MAX_BYTES);
    volatile unsigned sum = 0;
    for (size_t i = 0; i < total; i++)
        sum += x.data[i];
    (void)sum;
    idx_free(&x);
    return 0;
}
