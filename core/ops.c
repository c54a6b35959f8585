/* ops: the fast convolution kernels and the thread setting. For now the fast entry points call
 * the reference twins in ops_ref.c; im2col/col2im + OpenBLAS sgemm replaces them next. */
#include "ops.h"

#include <cblas.h>

size_t conv2d_work_size(const struct conv_shape *s)
{
    return (size_t)s->cin * s->k * s->k * s->batch * s->hout * s->wout;
}

void conv2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                    const struct conv_shape *s, float *work)
{
    (void)work;
    conv2d_forward_ref(out, inp, weight, bias, s);
}

void conv2d_backward_data(float *dinp, const float *dout, const float *weight,
                          const struct conv_shape *s, float *work)
{
    (void)work;
    conv2d_backward_data_ref(dinp, dout, weight, s);
}

void conv2d_backward_weight(float *dweight, float *dbias, const float *dout, const float *inp,
                            const struct conv_shape *s, float *work)
{
    (void)work;
    conv2d_backward_weight_ref(dweight, dbias, dout, inp, s);
}

size_t conv_transpose2d_work_size(const struct conv_shape *s)
{
    return (size_t)s->cout * s->k * s->k * s->batch * s->hin * s->win;
}

void conv_transpose2d_forward(float *out, const float *inp, const float *weight, const float *bias,
                              const struct conv_shape *s, float *work)
{
    (void)work;
    conv_transpose2d_forward_ref(out, inp, weight, bias, s);
}

void conv_transpose2d_backward_data(float *dinp, const float *dout, const float *weight,
                                    const struct conv_shape *s, float *work)
{
    (void)work;
    conv_transpose2d_backward_data_ref(dinp, dout, weight, s);
}

void conv_transpose2d_backward_weight(float *dweight, float *dbias, const float *dout,
                                      const float *inp, const struct conv_shape *s, float *work)
{
    (void)work;
    conv_transpose2d_backward_weight_ref(dweight, dbias, dout, inp, s);
}

void ops_set_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}

int ops_get_threads(void)
{
    return openblas_get_num_threads();
}
