/* xform: the geometric transforms of a transformation classifier (GEOM, Golan & El-Yaniv,
 * NeurIPS 2018): a horizontal flip, a translation with reflected borders, then a rotation by a
 * multiple of 90 degrees, applied to a square plane of floats. Each is a permutation of the
 * pixels (with repeats at the reflected border), so no interpolation and no new values.
 *
 * The order and the conventions are those of the PyTorch trial (shared/peer/ref_geom.py):
 * torch.flip(x, [3]), a crop of F.pad(x, 8, mode='reflect') (the edge pixel is not repeated), and
 * torch.rot90(x, r, [2, 3]) (counter-clockwise: out[i][j] = in[j][S-1-i] for r = 1). */
#ifndef INSPECTD_XFORM_H
#define INSPECTD_XFORM_H

#include <stdbool.h>

#define XFORM_MAX 72

struct xform {
    bool flip;  /* mirror left-right first */
    int dx, dy; /* then shift: out(i, j) = in(i + dy, j + dx), borders reflected; |d| < side */
    int rot;    /* then rotate by rot * 90 degrees counter-clockwise, 0..3 */
};

/* The canonical set of K transforms, the identity first: K = 4 (rotations), 8 (rotations x flip),
 * 72 (rotations x flip x shifts of 0, +-side/4 in x and y, GEOM's set, the 8 unshifted ones
 * first, as the K = 8 set). Returns false for any other K. */
bool xform_set(struct xform *out, int K, int side);

/* out (S, S) = t applied to in (S, S); out and in must not overlap. */
void xform_apply(float *out, const float *in, int S, const struct xform *t);

/* "flip,dx,dy,rot" for logs and model metadata; parse reads it back (false on malformed text). */
void xform_format(char *buf, int len, const struct xform *t);
bool xform_parse(struct xform *t, const char *text);

#endif
