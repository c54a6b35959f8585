/* ops: the numeric kernels of the networks, as pure functions on float arrays.
 *
 * Layout. Activations are stored channel-major with the batch inside: (C, B, H, W), so that one
 * GEMM covers the whole batch (N = B*H*W) and BatchNorm sees each channel as one contiguous row.
 * For B = 1 this is the same as PyTorch's NCHW. Weights keep PyTorch's layouts exactly:
 * Conv2d (out, in, k, k), ConvTranspose2d (in, out, k, k), so safetensors tensors load as they are.
 *
 * Argument order follows llm.c: outputs first, then inputs, then sizes. Backward-data kernels
 * OVERWRITE their output gradient (dinp = ...); backward-weight kernels ACCUMULATE (dweight +=),
 * so a caller can sum gradients over several passes and zeroes them itself.
 *
 * Each fast kernel (ops*.c: im2col/col2im + OpenBLAS sgemm, or small-N AVX-512/AVX2 kernels
 * chosen at run time where OpenBLAS is slow; oneDNN in bf16 on request) has a naive twin with the
 * suffix _ref (ops_ref.c: the definition, loop by loop). Tests check fast against _ref on random
 * shapes, _ref against PyTorch's golden vectors, and every backward against central finite
 * differences.
 *
 * Formulas: Conv2d, ConvTranspose2d, BatchNorm2d, LeakyReLU, Tanh and Adam as documented by PyTorch
 * (torch.nn / torch.optim.Adam, 1.13); BatchNorm: Ioffe & Szegedy 2015, Algorithm 1. */
#ifndef INSPECTD_OPS_H
#define INSPECTD_OPS_H

#include <stddef.h>

#include "status.h"

/* Shape of one convolution or transposed convolution over a batch. Square kernels only.
 * Conv2d:          hout = (hin + 2*pad - k) / stride + 1
 * ConvTranspose2d: hout = (hin - 1) * stride - 2*pad + k                                       */
struct conv_shape {
    int batch;
    int cin, hin, win;
    int cout, hout, wout;
    int k, stride, pad;
};

/* Fills hout/wout of s from the other fields. */
void conv2d_shape_infer(struct conv_shape *s);
void conv_transpose2d_shape_infer(struct conv_shape *s);

/* ---- Conv2d ------------------------------------------------------------------------------ */
/* Scratch floats the fast kernels below need for shape s (im2col buffer). */
size_t conv2d_work_size(const struct conv_shape *s);
/* out (cout,B,hout,wout) = conv(inp (cin,B,hin,win), weight (cout,cin,k,k)) + bias (cout).
 * bias may be NULL. work: conv2d_work_size(s) floats. */
void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                    const struct conv_shape *s, float *work);
/* dinp (cin,B,hin,win) = d loss / d inp, given dout (cout,B,hout,wout). Overwrites dinp. */
void conv2d_backward_data(float *dinp, const float *dout, const float *weight,
                          const struct conv_shape *s, float *work);
/* dweight (cout,cin,k,k) += ..., dbias (cout) += ... (dbias may be NULL). */
void conv2d_backward_weight(float *dweight, float *dbias, const float *dout, const float *inp,
                            const struct conv_shape *s, float *work);

void conv2d_forward_ref(float *out, const float *inp, const float *weight, const float *bias,
                        const struct conv_shape *s);
void conv2d_backward_data_ref(float *dinp, const float *dout, const float *weight,
                              const struct conv_shape *s);
void conv2d_backward_weight_ref(float *dweight, float *dbias, const float *dout, const float *inp,
                                const struct conv_shape *s);

/* ---- ConvTranspose2d ---------------------------------------------------------------------- */
size_t conv_transpose2d_work_size(const struct conv_shape *s);
/* out (cout,B,hout,wout) = conv_transpose(inp (cin,B,hin,win), weight (cin,cout,k,k)) + bias. */
void conv_transpose2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                              const struct conv_shape *s, float *work);
void conv_transpose2d_backward_data(float *dinp, const float *dout, const float *weight,
                                    const struct conv_shape *s, float *work);
/* dweight (cin,cout,k,k) += ..., dbias (cout) += ... */
void conv_transpose2d_backward_weight(float *dweight, float *dbias, const float *dout,
                                      const float *inp, const struct conv_shape *s, float *work);

void conv_transpose2d_forward_ref(float *out, const float *inp, const float *weight,
                                  const float *bias, const struct conv_shape *s);
void conv_transpose2d_backward_data_ref(float *dinp, const float *dout, const float *weight,
                                        const struct conv_shape *s);
void conv_transpose2d_backward_weight_ref(float *dweight, float *dbias, const float *dout,
                                          const float *inp, const struct conv_shape *s);

/* ---- BatchNorm2d over (C, N), N = B*H*W, each channel one contiguous row ------------------- */
/* Inference: out = (inp - mean) / sqrt(var + eps) * gamma + beta, with running statistics. */
void batchnorm_forward_eval(float *out, const float *inp, const float *gamma, const float *beta,
                            const float *mean, const float *var, float eps, int C, int N);
/* d inp of the inference form: dinp = dout * gamma / sqrt(var + eps). Overwrites dinp. */
void batchnorm_backward_eval(float *dinp, const float *dout, const float *gamma, const float *var,
                             float eps, int C, int N);
/* Training: batch statistics. Writes out, and caches xhat (C,N), batch mean (C) and
 * rstd = 1/sqrt(biased var + eps) (C) for the backward pass. The caller updates running
 * statistics with batchnorm_update_running (PyTorch: momentum 0.1, unbiased variance). */
void batchnorm_forward_train(float *out, float *xhat, float *bmean, float *brstd, const float *inp,
                             const float *gamma, const float *beta, float eps, int C, int N);
void batchnorm_update_running(float *run_mean, float *run_var, const float *bmean,
                              const float *brstd, float eps, float momentum, int C, int N);
/* dinp overwritten; dgamma, dbeta (C) accumulated (either may be NULL). */
void batchnorm_backward_train(float *dinp, float *dgamma, float *dbeta, const float *dout,
                              const float *xhat, const float *brstd, const float *gamma, int C,
                              int N);

/* ---- Elementwise activations (in place allowed: out == inp, dinp == dout) ----------------- */
void relu_forward(float *out, const float *inp, size_t n);
/* Uses the forward OUTPUT (out > 0 iff inp > 0), so the input need not be kept. */
void relu_backward(float *dinp, const float *dout, const float *out, size_t n);
void leaky_relu_forward(float *out, const float *inp, float slope, size_t n);
/* Uses the forward output; valid for slope > 0 (sign is preserved). */
void leaky_relu_backward(float *dinp, const float *dout, const float *out, float slope, size_t n);
void tanh_forward(float *out, const float *inp, size_t n);
/* dinp = dout * (1 - out^2), out the forward output. */
void tanh_backward(float *dinp, const float *dout, const float *out, size_t n);

/* ---- Classifier head (ops_head.c) ---------------------------------------------------------- */
/* out (C, B) = mean over the HW positions of inp (C, B, HW). */
void avgpool_global_forward(float *out, const float *inp, int C, int B, int HW);
/* dinp (C, B, HW) = dout (C, B) / HW at every position. Overwrites dinp. */
void avgpool_global_backward(float *dinp, const float *dout, int C, int B, int HW);
/* logp (K, B) = log softmax over the K logits (K, B) of each image. */
void log_softmax_forward(float *logp, const float *logits, int K, int B);
/* Mean over the batch of -log softmax(logits)[label]: returns the loss and writes logp (K, B)
 * for the backward pass. labels[B] in [0, K). */
float softmax_xent_forward(float *logp, const float *logits, const int *labels, int K, int B);
/* dlogits (K, B) = (softmax - onehot(label)) / B, the gradient of the mean loss. Overwrites. */
void softmax_xent_backward(float *dlogits, const float *logp, const int *labels, int K, int B);

/* ---- Adam (torch.optim.Adam, L2 weight decay added to the gradient, no AMSGrad) ----------- */
struct adam_config {
    float lr, beta1, beta2, eps, weight_decay;
};
/* One step on n parameters; t is the 1-based step count (bias correction). m, v: state, zero
 * before the first step. */
void adam_step(float *param, const float *grad, float *m, float *v, size_t n,
               const struct adam_config *cfg, int t);

/* ---- Precision of the matrix products ------------------------------------------------------ */
enum ops_precision {
    OPS_PRECISION_FP32, /* the default: fp32 throughout */
    OPS_PRECISION_BF16, /* products with operands rounded to bf16 (8-bit mantissa), fp32 sums,
                           through oneDNN (AVX-512 BF16 or AMX where the CPU has them) */
};
/* Sets the precision of every product that follows (global to the process, like the threads).
 * bf16 needs oneDNN (libdnnl.so.2, loaded on first use) with a bf16 kernel for this CPU:
 * STATUS_UNSUPPORTED with the reason otherwise, and the precision stays as it was. */
enum status ops_set_precision(enum ops_precision p);
enum ops_precision ops_get_precision(void);
const char *ops_precision_name(enum ops_precision p);
/* "fp32" / "bf16" -> enum, -1 for anything else. */
int ops_precision_parse(const char *name);
/* What runs the bf16 products, e.g. "oneDNN 2.6.3, brg:avx512_core_bf16" (after a successful
 * ops_set_precision(OPS_PRECISION_BF16)), or why bf16 is unavailable. */
const char *ops_bf16_backend(void);

/* ---- The BLAS under the large products (OpenBLAS) ------------------------------------------ */
/* The kernels OpenBLAS runs ("SkylakeX", "Haswell", "Prescott", ...). */
const char *ops_blas_core(void);
/* The kernels OpenBLAS should run instead, when it fell back to a generic core on a CPU it did
 * not recognise and OPENBLAS_CORETYPE is not set; NULL when all is well. */
const char *ops_blas_core_advice(void);
/* First thing in main(): if ops_blas_core_advice() has a better core, sets OPENBLAS_CORETYPE
 * and executes the program again with the same arguments (OpenBLAS reads it only as it loads).
 * Returns only when nothing needs to change, or when the exec failed (with a warning). */
void ops_blas_reexec(char **argv);
/* One line for logs, e.g. "OpenBLAS 0.3.21, SkylakeX kernels (chosen by CPU features: ...)". */
void ops_blas_describe(char *buf, size_t len);

/* ---- Threads ------------------------------------------------------------------------------ */
/* Threads one kernel call may use (>= 1; default: the CPU count). The work is split over a
 * persistent pool above OpenBLAS, which itself runs single-threaded. Global to the process. */
void ops_set_threads(int n);
int ops_get_threads(void);
/* Core lending, for callers that run kernels side by side (the daemon's search workers): between
 * ops_busy_begin() and ops_busy_end() a caller counts as busy, and each kernel call of a busy
 * caller leaves one thread to every other busy caller. With ops_set_threads(cores) and one worker
 * per core, a lone search runs on every core and a full house on one core each. The work is
 * still cut into ops_get_threads() shares, run one after the other on fewer threads, so a result
 * does not depend on how busy the process was: only on the configured thread count. */
void ops_busy_begin(void);
void ops_busy_end(void);

#endif
