/* net_io: a net's tensors in a safetensors file, by PyTorch's nn.Sequential names.
 *
 * A naming says how block i's tensors are called: the first `nested` blocks as
 * "<seq>.<i>.0.weight|bias" (the conv) and "<seq>.<i>.1.weight|bias|running_mean|running_var"
 * (its BatchNorm), as nn.Sequential(nn.Sequential(conv, bn, act), ...) names them; a last unnested
 * block as "<tail>.weight|bias". Shapes are PyTorch's (Conv2d (out, in, k, k), ConvTranspose2d
 * (in, out, k, k)), so a state_dict saved by PyTorch loads as it is. Used by every model part
 * stored in a model file (AnoGAN's G, D and E, the transformation classifier). */
#ifndef INSPECTD_NET_IO_H
#define INSPECTD_NET_IO_H

#include <stddef.h>

#include "net.h"
#include "status.h"

struct safetensors;

struct net_naming {
    const char *seq; /* prefix of the nested blocks */
    int nested;      /* how many blocks are nested (the rest: tail) */
    const char *tail;/* name of the last block when it is not nested, else NULL */
};

/* The name of block i's weight tensor (to probe whether a file has a net at all). */
void net_io_weight_name(char *buf, size_t len, const struct net_naming *nm, int i);

/* Copies every tensor of n from st, checking names and shapes (STATUS_NOT_FOUND / STATUS_SHAPE
 * naming the tensor; STATUS_NUMERIC for NaN or Inf). file: for messages. */
enum status net_io_load(struct net *n, const struct net_naming *nm, const struct safetensors *st,
                        const char *file);
/* Adds every tensor of n to st (copied). */
enum status net_io_save(const struct net *n, const struct net_naming *nm, struct safetensors *st);

#endif
