/* xform: flips, reflected shifts and quarter turns of a square plane (see xform.h). */
#include "xform.h"

#include <stdio.h>

#include "status.h"

bool xform_set(struct xform *out, int K, int side)
{
    int n = 0;
    if (K == 4 || K == 8) {
        for (int f = 0; f < K / 4; f++)
            for (int r = 0; r < 4; r++)
                out[n++] = (struct xform){.flip = f, .rot = r};
        return true;
    }
    if (K == 72) {
        /* the 8 unshifted flips and turns first (a classifier may score with those alone) */
        int sh = side / 4, shifts[3] = {0, -sh, sh};
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++)
                for (int f = 0; f < 2; f++)
                    for (int r = 0; r < 4; r++)
                        out[n++] = (struct xform){.flip = f, .dx = shifts[x], .dy = shifts[y],
                                                  .rot = r};
        return true;
    }
    return false;
}

/* PyTorch's 'reflect' padding: the border pixel is the mirror, not repeated (-1 -> 1). */
static int reflect(int p, int S)
{
    if (p < 0)
        p = -p;
    if (p >= S)
        p = 2 * (S - 1) - p;
    return p;
}

void xform_apply(float *out, const float *in, int S, const struct xform *t)
{
    ASSERT(S > 0 && t->rot >= 0 && t->rot < 4 && t->dx > -S && t->dx < S && t->dy > -S &&
           t->dy < S);
    for (int i = 0; i < S; i++) {
        for (int j = 0; j < S; j++) {
            /* Undo the rotation: the shifted plane's (a, b) that lands on (i, j). */
            int a, b;
            switch (t->rot) {
            case 0: a = i, b = j; break;
            case 1: a = j, b = S - 1 - i; break;
            case 2: a = S - 1 - i, b = S - 1 - j; break;
            default: a = S - 1 - j, b = i; break;
            }
            /* Undo the shift, then the flip. */
            int p = reflect(a + t->dy, S), q = reflect(b + t->dx, S);
            if (t->flip)
                q = S - 1 - q;
            out[i * S + j] = in[p * S + q];
        }
    }
}

void xform_format(char *buf, int len, const struct xform *t)
{
    snprintf(buf, (size_t)len, "%d,%d,%d,%d", t->flip ? 1 : 0, t->dx, t->dy, t->rot);
}

bool xform_parse(struct xform *t, const char *text)
{
    int f, dx, dy, r, used = 0;
    if (sscanf(text, "%d,%d,%d,%d%n", &f, &dx, &dy, &r, &used) != 4 || text[used] != '\0')
        return false;
    if ((f != 0 && f != 1) || r < 0 || r > 3)
        return false;
    *t = (struct xform){.flip = f, .dx = dx, .dy = dy, .rot = r};
    return true;
}
