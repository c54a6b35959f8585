/* net: forward and backward through a stack of conv -> BatchNorm -> activation blocks.
 *
 * Parameters are one allocation with named pointers into it (llm.c's layout), so Adam is a flat
 * loop. The forward pass caches each block's output (after the activation) and, in training
 * mode, BatchNorm's xhat and 1/std, which is all the backward pass needs: activation backward
 * uses the output, BatchNorm backward its cache, the convolution backward the previous output. */
#include "net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "rng.h"

struct net_ctx {
    int max_batch;
    enum net_mode mode;
    int batch;                          /* B of the last forward (0: none yet) */
    float *input;                       /* copy of the last forward's input */
    float *out[NET_MAX_BLOCKS];         /* block outputs, after the activation */
    float *xhat[NET_MAX_BLOCKS];        /* BatchNorm cache (train mode) */
    float *bmean[NET_MAX_BLOCKS], *brstd[NET_MAX_BLOCKS];
    float *tmp;                         /* convolution output before BatchNorm */
    float *grad_a, *grad_b;             /* ping-pong gradient buffers */
    float *work;                        /* im2col scratch */
};

static size_t block_weight_count(const struct net_block *b)
{
    return (size_t)b->cin * (size_t)b->spec.cout * (size_t)b->spec.k * (size_t)b->spec.k;
}

static struct conv_shape block_shape(const struct net_block *b, int batch)
{
    struct conv_shape s = {
        .batch = batch, .cin = b->cin, .hin = b->hin, .win = b->win, .cout = b->spec.cout,
        .hout = b->hout, .wout = b->wout, .k = b->spec.k, .stride = b->spec.stride,
        .pad = b->spec.pad,
    };
    return s;
}

static size_t block_out_count(const struct net_block *b)
{
    return (size_t)b->spec.cout * (size_t)b->hout * (size_t)b->wout;
}

/* Points every block's parameter pointers at offsets inside base (params or grads). */
static void bind_params(struct net *n, float *base, bool grads)
{
    size_t off = 0;
    for (int i = 0; i < n->nblocks; i++) {
        struct net_block *b = &n->blocks[i];
        float **w = grads ? &b->dweight : &b->weight, **bias = grads ? &b->dbias : &b->bias;
        float **gamma = grads ? &b->dbn_gamma : &b->bn_gamma;
        float **beta = grads ? &b->dbn_beta : &b->bn_beta;
        *w = base + off;
        off += block_weight_count(b);
        *bias = base + off;
        off += (size_t)b->spec.cout;
        if (b->spec.batchnorm) {
            *gamma = base + off;
            off += (size_t)b->spec.cout;
            *beta = base + off;
            off += (size_t)b->spec.cout;
        } else {
            *gamma = *beta = NULL;
        }
    }
    ASSERT(off == n->nparams);
}

enum status net_init(struct net *n, const struct net_block_spec *specs, int nblocks, int cin,
                     int hin, int win)
{
    ASSERT(nblocks > 0 && nblocks <= NET_MAX_BLOCKS);
    memset(n, 0, sizeof *n);
    n->nblocks = nblocks;
    n->cin = cin;
    n->hin = hin;
    n->win = win;
    n->bn_eps = 1e-5f;
    n->bn_momentum = 0.1f;
    int c = cin, h = hin, w = win;
    for (int i = 0; i < nblocks; i++) {
        struct net_block *b = &n->blocks[i];
        b->spec = specs[i];
        b->cin = c;
        b->hin = h;
        b->win = w;
        struct conv_shape s = {.batch = 1, .cin = c, .hin = h, .win = w, .cout = specs[i].cout,
                               .k = specs[i].k, .stride = specs[i].stride, .pad = specs[i].pad};
        if (specs[i].op == NET_OP_CONV2D)
            conv2d_shape_infer(&s);
        else
            conv_transpose2d_shape_infer(&s);
        if (s.hout <= 0 || s.wout <= 0)
            return status_fail(STATUS_SHAPE, "block %d: input %dx%d too small for kernel %d", i,
                               h, w, specs[i].k);
        b->hout = s.hout;
        b->wout = s.wout;
        n->nparams += block_weight_count(b) + (size_t)b->spec.cout;
        if (b->spec.batchnorm) {
            n->nparams += 2 * (size_t)b->spec.cout;
            n->nstats += 2 * (size_t)b->spec.cout;
        }
        c = b->spec.cout;
        h = b->hout;
        w = b->wout;
    }
    n->cout = c;
    n->hout = h;
    n->wout = w;
    n->params = calloc(n->nparams, sizeof(float));
    n->stats = calloc(n->nstats ? n->nstats : 1, sizeof(float));
    if (!n->params || !n->stats) {
        net_free(n);
        return status_fail(STATUS_NOMEM, "out of memory for %zu parameters", n->nparams);
    }
    bind_params(n, n->params, false);
    size_t soff = 0;
    for (int i = 0; i < nblocks; i++) {
        struct net_block *b = &n->blocks[i];
        if (!b->spec.batchnorm)
            continue;
        b->bn_mean = n->stats + soff;
        b->bn_var = n->stats + soff + b->spec.cout;
        soff += 2 * (size_t)b->spec.cout;
        for (int j = 0; j < b->spec.cout; j++) {
            b->bn_gamma[j] = 1.0f;
            b->bn_var[j] = 1.0f;
        }
    }
    return STATUS_OK;
}

enum status net_alloc_training(struct net *n)
{
    if (n->grads)
        return STATUS_OK;
    n->grads = calloc(n->nparams, sizeof(float));
    n->adam_m = calloc(n->nparams, sizeof(float));
    n->adam_v = calloc(n->nparams, sizeof(float));
    if (!n->grads || !n->adam_m || !n->adam_v) {
        free(n->grads);
        free(n->adam_m);
        free(n->adam_v);
        n->grads = n->adam_m = n->adam_v = NULL;
        return status_fail(STATUS_NOMEM, "out of memory for training state");
    }
    bind_params(n, n->grads, true);
    return STATUS_OK;
}

void net_free(struct net *n)
{
    if (!n)
        return;
    free(n->params);
    free(n->grads);
    free(n->adam_m);
    free(n->adam_v);
    free(n->stats);
    memset(n, 0, sizeof *n);
}

void net_zero_grad(struct net *n)
{
    if (n->grads)
        memset(n->grads, 0, n->nparams * sizeof(float));
}

void net_init_weights(struct net *n, unsigned long long seed, bool dcgan)
{
    struct rng r;
    rng_seed(&r, seed);
    for (int i = 0; i < n->nblocks; i++) {
        struct net_block *b = &n->blocks[i];
        size_t nw = block_weight_count(b);
        int kk = b->spec.k * b->spec.k;
        /* PyTorch computes fan_in from weight.size(1): in for Conv2d, out for ConvTranspose2d */
        int fan_in = (b->spec.op == NET_OP_CONV2D ? b->cin : b->spec.cout) * kk;
        float bound = 1.0f / sqrtf((float)fan_in);
        if (dcgan) { /* Radford et al. 2016, section 4: N(0, 0.02), BatchNorm gamma N(1, 0.02) */
            rng_fill_normal(&r, b->weight, nw, 0.0f, 0.02f);
            memset(b->bias, 0, (size_t)b->spec.cout * sizeof(float));
            if (b->spec.batchnorm) {
                rng_fill_normal(&r, b->bn_gamma, (size_t)b->spec.cout, 1.0f, 0.02f);
                memset(b->bn_beta, 0, (size_t)b->spec.cout * sizeof(float));
            }
        } else { /* kaiming_uniform(a=sqrt(5)) gives the same bound 1/sqrt(fan_in) */
            rng_fill_uniform(&r, b->weight, nw, -bound, bound);
            rng_fill_uniform(&r, b->bias, (size_t)b->spec.cout, -bound, bound);
            if (b->spec.batchnorm) {
                for (int j = 0; j < b->spec.cout; j++) {
                    b->bn_gamma[j] = 1.0f;
                    b->bn_beta[j] = 0.0f;
                }
            }
        }
        if (b->spec.batchnorm) {
            for (int j = 0; j < b->spec.cout; j++) {
                b->bn_mean[j] = 0.0f;
                b->bn_var[j] = 1.0f;
            }
        }
    }
}

size_t net_in_size(const struct net *n)
{
    return (size_t)n->cin * (size_t)n->hin * (size_t)n->win;
}

size_t net_out_size(const struct net *n)
{
    return (size_t)n->cout * (size_t)n->hout * (size_t)n->wout;
}

double net_forward_flops(const struct net *n)
{
    double f = 0;
    for (int i = 0; i < n->nblocks; i++) {
        const struct net_block *b = &n->blocks[i];
        /* every input pixel (transposed) or output pixel (direct) meets cin*cout*k*k weights */
        double pixels = b->spec.op == NET_OP_CONV2D ? (double)b->hout * b->wout
                                                    : (double)b->hin * b->win;
        f += 2.0 * pixels * (double)block_weight_count(b);
    }
    return f;
}

struct net_ctx *net_ctx_create(const struct net *n, int max_batch)
{
    ASSERT(max_batch > 0);
    struct net_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max_batch = max_batch;
    size_t B = (size_t)max_batch, biggest = net_in_size(n), work = 0;
    for (int i = 0; i < n->nblocks; i++) {
        const struct net_block *b = &n->blocks[i];
        size_t outn = block_out_count(b);
        if (outn > biggest)
            biggest = outn;
        struct conv_shape s = block_shape(b, max_batch);
        size_t ws = b->spec.op == NET_OP_CONV2D ? conv2d_work_size(&s)
                                                : conv_transpose2d_work_size(&s);
        if (ws > work)
            work = ws;
        if (!(c->out[i] = malloc(outn * B * sizeof(float))))
            goto fail;
        if (b->spec.batchnorm) {
            c->xhat[i] = malloc(outn * B * sizeof(float));
            c->bmean[i] = malloc((size_t)b->spec.cout * sizeof(float));
            c->brstd[i] = malloc((size_t)b->spec.cout * sizeof(float));
            if (!c->xhat[i] || !c->bmean[i] || !c->brstd[i])
                goto fail;
        }
    }
    c->input = malloc(net_in_size(n) * B * sizeof(float));
    c->tmp = malloc(biggest * B * sizeof(float));
    c->grad_a = malloc(biggest * B * sizeof(float));
    c->grad_b = malloc(biggest * B * sizeof(float));
    c->work = malloc((work ? work : 1) * sizeof(float));
    if (!c->input || !c->tmp || !c->grad_a || !c->grad_b || !c->work)
        goto fail;
    return c;
fail:
    net_ctx_free(c);
    return NULL;
}

void net_ctx_free(struct net_ctx *c)
{
    if (!c)
        return;
    for (int i = 0; i < NET_MAX_BLOCKS; i++) {
        free(c->out[i]);
        free(c->xhat[i]);
        free(c->bmean[i]);
        free(c->brstd[i]);
    }
    free(c->input);
    free(c->tmp);
    free(c->grad_a);
    free(c->grad_b);
    free(c->work);
    free(c);
}

int net_ctx_max_batch(const struct net_ctx *c)
{
    return c->max_batch;
}

const float *net_forward(struct net *n, struct net_ctx *c, const float *inp, int B,
                         enum net_mode mode)
{
    ASSERT(B > 0 && B <= c->max_batch);
    c->batch = B;
    c->mode = mode;
    memcpy(c->input, inp, net_in_size(n) * (size_t)B * sizeof(float));
    const float *x = c->input;
    for (int i = 0; i < n->nblocks; i++) {
        struct net_block *b = &n->blocks[i];
        struct conv_shape s = block_shape(b, B);
        int C = b->spec.cout, N = B * b->hout * b->wout;
        size_t count = (size_t)C * (size_t)N;
        float *conv_out = b->spec.batchnorm ? c->tmp : c->out[i];
        if (b->spec.op == NET_OP_CONV2D)
            conv2d_forward(conv_out, x, b->weight, b->bias, &s, c->work);
        else
            conv_transpose2d_forward(conv_out, x, b->weight, b->bias, &s, c->work);
        if (b->spec.batchnorm) {
            if (mode == NET_MODE_TRAIN) {
                batchnorm_forward_train(c->out[i], c->xhat[i], c->bmean[i], c->brstd[i], conv_out,
                                        b->bn_gamma, b->bn_beta, n->bn_eps, C, N);
                batchnorm_update_running(b->bn_mean, b->bn_var, c->bmean[i], c->brstd[i],
                                         n->bn_eps, n->bn_momentum, C, N);
            } else {
                batchnorm_forward_eval(c->out[i], conv_out, b->bn_gamma, b->bn_beta, b->bn_mean,
                                       b->bn_var, n->bn_eps, C, N);
            }
        }
        switch (b->spec.act) {
        case NET_ACT_NONE: break;
        case NET_ACT_RELU: relu_forward(c->out[i], c->out[i], count); break;
        case NET_ACT_LEAKY_RELU: leaky_relu_forward(c->out[i], c->out[i], b->spec.slope, count); break;
        case NET_ACT_TANH: tanh_forward(c->out[i], c->out[i], count); break;
        }
        x = c->out[i];
    }
    return x;
}

const float *net_block_output(const struct net_ctx *c, int i)
{
    ASSERT(i >= 0 && i < NET_MAX_BLOCKS && c->out[i]);
    return c->out[i];
}

void net_backward(struct net *n, struct net_ctx *c, float *dinp, const float *dout,
                  bool weight_grads)
{
    ASSERT(c->batch > 0);
    ASSERT(!weight_grads || n->grads);
    int B = c->batch;
    const float *g = dout; /* gradient w.r.t. the current block's output */
    for (int i = n->nblocks - 1; i >= 0; i--) {
        struct net_block *b = &n->blocks[i];
        struct conv_shape s = block_shape(b, B);
        int C = b->spec.cout, N = B * b->hout * b->wout;
        size_t count = (size_t)C * (size_t)N;
        /* after the activation backward, the gradient lives in grad_a */
        float *ga = c->grad_a;
        switch (b->spec.act) {
        case NET_ACT_NONE:
            if (ga != g)
                memcpy(ga, g, count * sizeof(float));
            break;
        case NET_ACT_RELU: relu_backward(ga, g, c->out[i], count); break;
        case NET_ACT_LEAKY_RELU: leaky_relu_backward(ga, g, c->out[i], b->spec.slope, count); break;
        case NET_ACT_TANH: tanh_backward(ga, g, c->out[i], count); break;
        }
        float *gconv = ga; /* gradient w.r.t. the convolution output */
        if (b->spec.batchnorm) {
            gconv = c->grad_b;
            if (c->mode == NET_MODE_TRAIN) {
                batchnorm_backward_train(gconv, weight_grads ? b->dbn_gamma : NULL,
                                         weight_grads ? b->dbn_beta : NULL, ga, c->xhat[i],
                                         c->brstd[i], b->bn_gamma, C, N);
            } else {
                /* gamma/beta gradients in eval mode are never needed here: frozen nets run in
                 * eval mode, trained ones in train mode */
                ASSERT(!weight_grads);
                batchnorm_backward_eval(gconv, ga, b->bn_gamma, b->bn_var, n->bn_eps, C, N);
            }
        }
        const float *x = i > 0 ? c->out[i - 1] : c->input;
        if (weight_grads) {
            if (b->spec.op == NET_OP_CONV2D)
                conv2d_backward_weight(b->dweight, b->dbias, gconv, x, &s, c->work);
            else
                conv_transpose2d_backward_weight(b->dweight, b->dbias, gconv, x, &s, c->work);
        }
        if (i == 0 && !dinp)
            break;
        /* write the input gradient into whichever ping-pong buffer gconv is not */
        float *next = i == 0 ? dinp : (gconv == c->grad_a ? c->grad_b : c->grad_a);
        if (b->spec.op == NET_OP_CONV2D)
            conv2d_backward_data(next, gconv, b->weight, &s, c->work);
        else
            conv_transpose2d_backward_data(next, gconv, b->weight, &s, c->work);
        g = next;
    }
}

void net_adam_step(struct net *n, const struct adam_config *cfg, int t)
{
    ASSERT(n->grads && n->adam_m && n->adam_v);
    adam_step(n->params, n->grads, n->adam_m, n->adam_v, n->nparams, cfg, t);
}
