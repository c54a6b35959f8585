/* plot: histogram and ROC charts into RGB images, with a tiny bitmap font; see plot.h. */
#include "plot.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 5x7 glyphs, one byte per row, bit 4 the leftmost pixel. Drawn for this file. */
struct glyph {
    char c;
    uint8_t rows[7];
};

static const struct glyph font[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}}, {'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
    {'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}}, {'D', {0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C}},
    {'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}}, {'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
    {'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}}, {'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
    {'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}}, {'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
    {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}}, {'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
    {'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
    {'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
    {'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}}, {'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
    {'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}}, {'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
    {'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}}, {'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
    {'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}}, {'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
    {'Y', {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}}, {'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}}, {'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
    {':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}}, {'=', {0x00, 0x00, 0x1F, 0x00, 0x1F, 0x00, 0x00}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'/', {0x01, 0x01, 0x02, 0x04, 0x08, 0x10, 0x10}}, {'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
    {',', {0x00, 0x00, 0x00, 0x00, 0x0C, 0x04, 0x08}}, {'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
    {'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}}, {'>', {0x08, 0x04, 0x02, 0x01, 0x02, 0x04, 0x08}},
};

static const uint8_t BLACK[3] = {0, 0, 0}, GREY[3] = {160, 160, 160}, LIGHT[3] = {225, 225, 225},
                     BLUE[3] = {40, 100, 200}, ORANGE[3] = {235, 120, 30}, RED[3] = {200, 30, 30};

static void put(struct image *img, int x, int y, const uint8_t rgb[3])
{
    if (x < 0 || y < 0 || x >= img->width || y >= img->height)
        return;
    memcpy(img->pixels + ((size_t)y * (size_t)img->width + (size_t)x) * 3, rgb, 3);
}

static void fill(struct image *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            put(img, x, y, rgb);
}

/* Bresenham's line, `thick` pixels square brush, every `dash`-th run skipped when dash > 0. */
static void line(struct image *img, int x0, int y0, int x1, int y1, const uint8_t rgb[3],
                 int thick, int dash)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy, k = 0;
    for (;;) {
        if (dash <= 0 || (k / dash) % 2 == 0)
            fill(img, x0 - thick / 2, y0 - thick / 2, x0 + (thick - 1) / 2, y0 + (thick - 1) / 2,
                 rgb);
        k++;
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

int plot_text(struct image *img, int x, int y, const char *text, const uint8_t rgb[3], int scale)
{
    int x0 = x;
    for (const char *p = text; *p; p++) {
        char c = (char)toupper((unsigned char)*p);
        const struct glyph *g = NULL;
        for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
            if (font[i].c == c)
                g = &font[i];
        if (g)
            for (int r = 0; r < 7; r++)
                for (int col = 0; col < 5; col++)
                    if (g->rows[r] & (0x10 >> col))
                        fill(img, x + col * scale, y + r * scale, x + (col + 1) * scale - 1,
                             y + (r + 1) * scale - 1, rgb);
        x += 6 * scale;
    }
    return x - x0;
}

static int text_width(const char *text, int scale)
{
    return (int)strlen(text) * 6 * scale;
}

/* The frame both charts share: white canvas, title, plot area [L, R] x [T, Bm]. */
enum { W = 720, H = 530, L = 80, R = 690, T = 66, BM = 460, S = 2 };

static enum status canvas(struct image *img, const char *title)
{
    enum status s = image_alloc(img, W, H, 3);
    if (s)
        return s;
    memset(img->pixels, 255, (size_t)W * H * 3);
    plot_text(img, (W - text_width(title, S)) / 2, 6, title, BLACK, S);
    return STATUS_OK;
}

static void axes(struct image *img, const char *xlabel, const char *ylabel)
{
    line(img, L, BM, R, BM, BLACK, 2, 0);
    line(img, L, T, L, BM, BLACK, 2, 0);
    plot_text(img, (L + R - text_width(xlabel, S)) / 2, BM + 44, xlabel, BLACK, S);
    plot_text(img, 8, T - 30, ylabel, BLACK, S);
}

/* Short tick labels: 3360 rather than 3.36e+03. */
static void tick_label(char *buf, size_t len, double v)
{
    double a = fabs(v);
    if (a >= 1e6 || (a > 0 && a < 1e-3))
        snprintf(buf, len, "%.2g", v);
    else if (a >= 100)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.3g", v);
}

/* A tick at fraction f of an axis, labelled with v. */
static void xtick(struct image *img, double f, double v)
{
    int x = L + (int)lround(f * (R - L));
    char buf[32];
    tick_label(buf, sizeof buf, v);
    line(img, x, BM, x, BM + 6, BLACK, 2, 0);
    plot_text(img, x - text_width(buf, S) / 2, BM + 14, buf, BLACK, S);
}

static void ytick(struct image *img, double f, double v)
{
    int y = BM - (int)lround(f * (BM - T));
    char buf[32];
    tick_label(buf, sizeof buf, v);
    line(img, L - 6, y, L, y, BLACK, 2, 0);
    line(img, L + 2, y, R, y, LIGHT, 1, 0);
    plot_text(img, L - 10 - text_width(buf, S), y - 7, buf, BLACK, S);
}

enum status plot_histogram(struct image *img, const float *scores, const int *labels, size_t n,
                           float threshold, const char *title)
{
    enum { NBINS = 40 };
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (isfinite(scores[i])) {
            lo = scores[i] < lo ? scores[i] : lo;
            hi = scores[i] > hi ? scores[i] : hi;
        }
    if (isfinite(threshold)) {
        lo = threshold < lo ? threshold : lo;
        hi = threshold > hi ? threshold : hi;
    }
    if (!(hi > lo)) { /* no finite score, or all equal */
        lo = isfinite(lo) ? lo - 1 : 0;
        hi = lo + 2;
    }
    size_t count[2][NBINS] = {{0}}, total[2] = {0, 0}, top = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(scores[i]))
            continue;
        int k = (int)((scores[i] - lo) / (hi - lo) * NBINS);
        k = k < 0 ? 0 : k >= NBINS ? NBINS - 1 : k;
        int c = labels[i] != 0;
        count[c][k]++;
        total[c]++;
        top = count[c][k] > top ? count[c][k] : top;
    }
    top = (top + 3) / 4 * 4; /* whole counts at every tick */
    enum status s = canvas(img, title);
    if (s)
        return s;
    for (int t = 0; t <= 4; t++)
        ytick(img, t / 4.0, (double)top * t / 4.0);
    for (int t = 0; t <= 4; t++)
        xtick(img, t / 4.0, lo + (hi - lo) * t / 4.0);
    double bw = (double)(R - L) / NBINS;
    for (int k = 0; k < NBINS; k++)
        for (int c = 0; c < 2; c++) {
            if (!count[c][k])
                continue;
            int x0 = L + 2 + (int)(k * bw + c * bw / 2), x1 = L + (int)(k * bw + (c + 1) * bw / 2);
            int y0 = BM - (int)lround((double)count[c][k] / (double)top * (BM - T));
            fill(img, x0, y0, x1, BM - 2, c ? ORANGE : BLUE);
        }
    if (isfinite(threshold)) {
        int x = L + (int)lround((threshold - lo) / (hi - lo) * (R - L));
        line(img, x, T, x, BM, RED, 2, 6);
        int w = text_width("THRESHOLD", S);
        plot_text(img, x + 6 + w > R ? x - 6 - w : x + 6, T + 4, "THRESHOLD", RED, S);
    }
    axes(img, "SCORE", "COUNT");
    /* legend in the band between the title and the plot, right-aligned */
    char a[48], b[48];
    snprintf(a, sizeof a, "NORMAL (%zu)", total[0]);
    snprintf(b, sizeof b, "ANOMALOUS (%zu)", total[1]);
    int x = R - text_width(a, S) - text_width(b, S) - 60;
    fill(img, x, T - 30, x + 13, T - 17, BLUE);
    x += 20 + plot_text(img, x + 20, T - 30, a, BLACK, S);
    fill(img, x + 10, T - 30, x + 23, T - 17, ORANGE);
    plot_text(img, x + 30, T - 30, b, BLACK, S);
    return STATUS_OK;
}

enum status plot_roc(struct image *img, const double *fpr, const double *tpr, size_t npoints,
                     double op_fpr, double op_tpr, const char *title)
{
    enum status s = canvas(img, title);
    if (s)
        return s;
    for (int t = 0; t <= 5; t++) {
        xtick(img, t / 5.0, t / 5.0);
        ytick(img, t / 5.0, t / 5.0);
    }
    line(img, L, BM, R, T, GREY, 1, 5);
#define PX(f) (L + (int)lround((f) * (R - L)))
#define PY(t) (BM - (int)lround((t) * (BM - T)))
    for (size_t i = 1; i < npoints; i++)
        line(img, PX(fpr[i - 1]), PY(tpr[i - 1]), PX(fpr[i]), PY(tpr[i]), BLUE, 3, 0);
    if (isfinite(op_fpr) && isfinite(op_tpr)) {
        fill(img, PX(op_fpr) - 5, PY(op_tpr) - 5, PX(op_fpr) + 5, PY(op_tpr) + 5, RED);
        int lx = PX(op_fpr) + 10 + text_width("THRESHOLD", S) > R ? PX(op_fpr) - 10 -
                 text_width("THRESHOLD", S) : PX(op_fpr) + 10;
        plot_text(img, lx, PY(op_tpr) - 22, "THRESHOLD", RED, S);
    }
#undef PX
#undef PY
    axes(img, "FALSE POSITIVE RATE", "TRUE POSITIVE RATE");
    return STATUS_OK;
}
