/* fuzz_png: libFuzzer target for the PNG decoder (our checks in front of stb_image, and stb
 * itself, compiled into core with the sanitizers). Caps are small so each input stays fast. A
 * decoded image must survive grey conversion, a resize, and an encode/decode round trip
 * unchanged. Build with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (scripts/fuzz.sh does) so chunk
 * CRCs do not stop the fuzzer at the door. */
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define FUZZ_MAX_SIDE 512
#define FUZZ_MAX_PIXELS (1u << 18)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct image img;
    if (image_decode_png(&img, data, size, FUZZ_MAX_SIDE, FUZZ_MAX_PIXELS) != STATUS_OK) {
        ASSERT(img.pixels == NULL);
        return 0;
    }
    ASSERT(img.width >= 1 && img.width <= FUZZ_MAX_SIDE && img.height >= 1 && img.height <= FUZZ_MAX_SIDE);
    ASSERT(img.channels >= 1 && img.channels <= 4);
    size_t n = (size_t)img.width * (size_t)img.height;
    float *grey = malloc(n * sizeof *grey);
    float small[8 * 8];
    if (grey) {
        image_to_grey(grey, &img);
        for (size_t i = 0; i < n; i++)
            ASSERT(grey[i] >= 0.0f && grey[i] <= 1.0f);
        image_resize_bicubic(small, 8, 8, grey, img.width, img.height);
        free(grey);
    }
    uint8_t *png;
    size_t len;
    if (image_encode_png(&png, &len, &img) == STATUS_OK) {
        struct image back;
        ASSERT(image_decode_png(&back, png, len, FUZZ_MAX_SIDE, FUZZ_MAX_PIXELS) == STATUS_OK);
        ASSERT(back.width == img.width && back.height == img.height && back.channels == img.channels);
        ASSERT(memcmp(back.pixels, img.pixels, n * (size_t)img.channels) == 0);
        image_free(&back);
        free(png);
    }
    image_free(&img);
    return 0;
}
