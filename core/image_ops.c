/* image_ops: pixel arithmetic on decoded images: grey conversion, PyTorch-exact bicubic resize
 * and the heat-map colour map. No allocation except the heat map's output image. */
#include <math.h>

#include "image.h"

void image_to_grey(float *out, const struct image *img)
{
    ASSERT(out && img && img->pixels && img->channels >= 1 && img->channels <= 4);
    size_t n = (size_t)img->width * (size_t)img->height;
    const uint8_t *p = img->pixels;
    switch (img->channels) {
    case 1: /* v / 255 in float, as torchvision's ToTensor does */
        for (size_t i = 0; i < n; i++)
            out[i] = (float)p[i] / 255.0f;
        break;
    case 2: /* grey over black: grey * alpha */
        for (size_t i = 0; i < n; i++)
            out[i] = (float)p[2 * i] / 255.0f * ((float)p[2 * i + 1] / 255.0f);
        break;
    case 3:
    case 4: {
        /* ITU-R BT.601 luma; with alpha, composited onto black */
        int c = img->channels;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *q = p + (size_t)c * i;
            float y = (0.299f * q[0] + 0.587f * q[1] + 0.114f * q[2]) / 255.0f;
            out[i] = c == 4 ? y * ((float)q[3] / 255.0f) : y;
        }
        break;
    }
    }
}

/* Cubic convolution weights for the 4 taps around a source coordinate with fractional part t,
 * a = -0.75, written as PyTorch writes them (aten/src/ATen/native/UpSample.h,
 * get_cubic_upsample_coefficients) so that float rounding matches. */
static void cubic_weights(float w[4], float t)
{
    const float a = -0.75f;
    float x = t + 1.0f; /* |x| in [1,2]: ((a x - 5a) x + 8a) x - 4a */
    w[0] = ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
    x = t; /* |x| in [0,1]: ((a + 2) x - (a + 3)) x^2 + 1 */
    w[1] = ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
    x = 1.0f - t;
    w[2] = ((a + 2.0f) * x - (a + 3.0f)) * x * x + 1.0f;
    x = (1.0f - t) + 1.0f;
    w[3] = ((a * x - 5.0f * a) * x + 8.0f * a) * x - 4.0f * a;
}

/* Source index of output dst and its 4 clamped tap indices (align_corners=False:
 * src = (dst + 0.5) * in/out - 0.5, not clamped at 0 for cubic). As in PyTorch's
 * area_pixel_compute_source_index, the scale is a float and the rest is done in double. */
static void cubic_taps(int idx[4], float w[4], int dst, int in, int out)
{
    float scale = (float)in / (float)out;
    float src = (float)(scale * ((double)dst + 0.5) - 0.5);
    float f = floorf(src);
    int i0 = (int)f;
    cubic_weights(w, src - f);
    for (int k = 0; k < 4; k++) {
        int i = i0 - 1 + k;
        idx[k] = i < 0 ? 0 : i > in - 1 ? in - 1 : i;
    }
}

void image_resize_bicubic(float *out, int out_w, int out_h, const float *inp, int in_w, int in_h)
{
    /* out is (out_h, out_w), inp is (in_h, in_w) */
    ASSERT(out && inp && out_w > 0 && out_h > 0 && in_w > 0 && in_h > 0);
    for (int oy = 0; oy < out_h; oy++) {
        int yi[4];
        float wy[4];
        cubic_taps(yi, wy, oy, in_h, out_h);
        for (int ox = 0; ox < out_w; ox++) {
            int xi[4];
            float wx[4];
            cubic_taps(xi, wx, ox, in_w, out_w);
            /* Rows first, each row's taps in order, summed as PyTorch's 4x4 kernel does. */
            float acc = 0.0f;
            for (int j = 0; j < 4; j++) {
                const float *row = inp + (size_t)yi[j] * (size_t)in_w;
                float r = row[xi[0]] * wx[0];
                r += row[xi[1]] * wx[1];
                r += row[xi[2]] * wx[2];
                r += row[xi[3]] * wx[3];
                acc = j == 0 ? r * wy[0] : acc + r * wy[j];
            }
            out[(size_t)oy * (size_t)out_w + (size_t)ox] = acc;
        }
    }
}

/* Ten evenly spaced stops of matplotlib's "inferno" (black through purple and orange to pale
 * yellow): perceptually ordered and readable when printed in grey. */
static const uint8_t heat_stops[10][3] = {
    {0, 0, 4},      {27, 12, 65},  {74, 12, 107}, {120, 28, 109}, {165, 44, 96},
    {207, 68, 70},  {237, 105, 37}, {251, 155, 6}, {247, 209, 61}, {252, 255, 164},
};

enum status image_heatmap(struct image *img, const float *values, int width, int height, float vmax)
{
    ASSERT(img && values);
    enum status s = image_alloc(img, width, height, 3);
    if (s != STATUS_OK)
        return s;
    /* values / vmax clamped to [0, 1]; NaN, or a vmax that is not positive, maps to the bottom */
    float inv = vmax > 0 && isfinite(vmax) ? 1.0f / vmax : 0.0f;
    size_t n = (size_t)width * (size_t)height;
    for (size_t i = 0; i < n; i++) {
        float v = values[i] * inv;
        v = v > 0 ? (v < 1 ? v : 1) : 0; /* NaN fails v > 0 */
        float pos = v * 9.0f;
        int k = (int)pos;
        if (k > 8)
            k = 8;
        float t = pos - (float)k;
        for (int c = 0; c < 3; c++) {
            float x = (float)heat_stops[k][c] + t * ((float)heat_stops[k + 1][c] - (float)heat_stops[k][c]);
            img->pixels[3 * i + (size_t)c] = (uint8_t)lrintf(x);
        }
    }
    return STATUS_OK;
}
