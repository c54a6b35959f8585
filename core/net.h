/* net: a fixed stack of convolution blocks, the shape of every network here.
 *
 * A block is  conv or transposed conv  ->  optional BatchNorm2d  ->  activation.
 * The generator, the discriminator's feature stack, its critic and the encoder are each one net.
 * Parameters live in ONE allocation (params), with gradients and Adam moments in parallel arrays
 * of the same length, so an optimiser step is one flat loop; each block holds named pointers into
 * them. BatchNorm running statistics are buffers (stats), not parameters.
 *
 * A net is read-only during inference, so many threads can share one. Everything that changes
 * during a pass (activations cached for backward, im2col scratch) lives in a struct net_ctx, one
 * per thread, sized for a maximum batch.
 *
 * Activations are (C, B, H, W) as in ops.h. */
#ifndef INSPECTD_NET_H
#define INSPECTD_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "ops.h"
#include "status.h"

#define NET_MAX_BLOCKS 8

enum net_op { NET_OP_CONV2D, NET_OP_CONV_TRANSPOSE2D };
enum net_act { NET_ACT_NONE, NET_ACT_RELU, NET_ACT_LEAKY_RELU, NET_ACT_TANH };
enum net_mode {
    NET_MODE_EVAL,  /* BatchNorm uses running statistics; an image's output is independent of
                       the rest of its batch */
    NET_MODE_TRAIN, /* BatchNorm uses batch statistics and updates the running ones */
};

struct net_block_spec {
    enum net_op op;
    int cout, k, stride, pad;
    bool batchnorm;
    enum net_act act;
    float slope; /* LeakyReLU negative slope */
};

struct net_block {
    struct net_block_spec spec;
    int cin, hin, win, hout, wout;
    float *weight, *bias;            /* into params: PyTorch layouts */
    float *bn_gamma, *bn_beta;       /* into params, NULL without BatchNorm */
    float *bn_mean, *bn_var;         /* into stats (running statistics) */
    float *dweight, *dbias, *dbn_gamma, *dbn_beta; /* into grads, same offsets */
};

struct net {
    int nblocks;
    struct net_block blocks[NET_MAX_BLOCKS];
    int cin, hin, win;    /* input shape per image */
    int cout, hout, wout; /* output shape per image */
    float bn_eps, bn_momentum;
    size_t nparams, nstats;
    float *params, *grads, *adam_m, *adam_v; /* nparams each; grads/m/v allocated on demand */
    float *stats;                            /* nstats: running mean/var of every BatchNorm */
};

/* Lays out a net for input (cin, hin, win) and allocates params and stats (zeroed; BatchNorm
 * gamma = 1, running var = 1, as PyTorch initialises). The caller owns *n; free with net_free. */
enum status net_init(struct net *n, const struct net_block_spec *specs, int nblocks, int cin,
                     int hin, int win);
/* Allocates grads and Adam moments (zeroed) for training; idempotent. */
enum status net_alloc_training(struct net *n);
void net_free(struct net *n);
void net_zero_grad(struct net *n);
/* Fills weights the way PyTorch's default init does (kaiming-uniform a=sqrt(5), bias uniform
 * +-1/sqrt(fan_in)) or DCGAN's N(0, 0.02) when dcgan is true; deterministic in seed. */
void net_init_weights(struct net *n, unsigned long long seed, bool dcgan);

/* Per-image element counts of the input and output. */
size_t net_in_size(const struct net *n);
size_t net_out_size(const struct net *n);

/* Floating-point operations of one forward pass per image (2 per multiply-add of the
 * convolutions; BatchNorm and activations not counted). A backward-data pass costs the same. */
double net_forward_flops(const struct net *n);

struct net_ctx;
/* Workspace for passes of up to max_batch images through n; NULL on allocation failure.
 * The ctx must not outlive n. */
struct net_ctx *net_ctx_create(const struct net *n, int max_batch);
void net_ctx_free(struct net_ctx *c);
int net_ctx_max_batch(const struct net_ctx *c);

/* Forward pass of B <= max_batch images. inp is (cin, B, hin, win). Returns the output
 * (cout, B, hout, wout), owned by c and valid until the next forward on c. In NET_MODE_TRAIN the
 * running statistics in n->stats are updated (hence n is not const). */
const float *net_forward(struct net *n, struct net_ctx *c, const float *inp, int B,
                         enum net_mode mode);
/* Output of block i of the last forward (after its activation), (cout_i, B, hout_i, wout_i). */
const float *net_block_output(const struct net_ctx *c, int i);

/* Backward pass for the last forward on c. dout is (cout, B, hout, wout); if dinp is not NULL it
 * receives d/d input (overwritten). With weight_grads, parameter gradients are ACCUMULATED into
 * n->grads (net_alloc_training first); without, n is only read. dout is not modified. */
void net_backward(struct net *n, struct net_ctx *c, float *dinp, const float *dout,
                  bool weight_grads);

/* Adam step on every parameter of n from n->grads; t is 1-based. */
void net_adam_step(struct net *n, const struct adam_config *cfg, int t);

#endif
