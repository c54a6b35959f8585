/* ops_head: the pieces a classifier puts on top of a convolution stack: global average pooling
 * and the softmax cross-entropy loss. Both are single passes over small arrays (a classifier's
 * last block is a few hundred channels by a few positions), so, like ops_pointwise.c, these loops
 * are the definition and there is no separate _ref twin; tests check every backward against
 * central finite differences.
 *
 * Layouts follow ops.h: activations (C, B, H, W), so a pooled map is (C, B) and K logits per image
 * are (K, B): channel-major, the batch inside.
 *
 * Sources: torch.nn.AdaptiveAvgPool2d(1); torch.nn.functional.cross_entropy with mean reduction
 * (log-softmax with the max subtracted for stability, as torch.log_softmax). */
#include "ops.h"

#include <math.h>

void avgpool_global_forward(float *out, const float *inp, int C, int B, int HW)
{
    for (int c = 0; c < C; c++) {
        for (int b = 0; b < B; b++) {
            const float *x = inp + ((size_t)c * (size_t)B + (size_t)b) * (size_t)HW;
            double s = 0;
            for (int i = 0; i < HW; i++)
                s += x[i];
            out[(size_t)c * (size_t)B + (size_t)b] = (float)(s / HW);
        }
    }
}

void avgpool_global_backward(float *dinp, const float *dout, int C, int B, int HW)
{
    for (int c = 0; c < C; c++) {
        for (int b = 0; b < B; b++) {
            float g = dout[(size_t)c * (size_t)B + (size_t)b] / (float)HW;
            float *d = dinp + ((size_t)c * (size_t)B + (size_t)b) * (size_t)HW;
            for (int i = 0; i < HW; i++)
                d[i] = g;
        }
    }
}

void log_softmax_forward(float *logp, const float *logits, int K, int B)
{
    for (int b = 0; b < B; b++) {
        float mx = logits[b];
        for (int k = 1; k < K; k++)
            mx = fmaxf(mx, logits[(size_t)k * (size_t)B + (size_t)b]);
        double s = 0;
        for (int k = 0; k < K; k++)
            s += exp((double)logits[(size_t)k * (size_t)B + (size_t)b] - mx);
        float lse = mx + (float)log(s);
        for (int k = 0; k < K; k++)
            logp[(size_t)k * (size_t)B + (size_t)b] = logits[(size_t)k * (size_t)B + (size_t)b] - lse;
    }
}

float softmax_xent_forward(float *logp, const float *logits, const int *labels, int K, int B)
{
    log_softmax_forward(logp, logits, K, B);
    double loss = 0;
    for (int b = 0; b < B; b++) {
        ASSERT(labels[b] >= 0 && labels[b] < K);
        loss -= logp[(size_t)labels[b] * (size_t)B + (size_t)b];
    }
    return (float)(loss / B);
}

void softmax_xent_backward(float *dlogits, const float *logp, const int *labels, int K, int B)
{
    float inv_b = 1.0f / (float)B;
    for (int k = 0; k < K; k++) {
        for (int b = 0; b < B; b++) {
            size_t i = (size_t)k * (size_t)B + (size_t)b;
            dlogits[i] = (expf(logp[i]) - (labels[b] == k ? 1.0f : 0.0f)) * inv_b;
        }
    }
}
