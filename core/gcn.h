/* gcn: the two-layer graph convolutional network of Kipf & Welling (ICLR 2017), eq. 9:
 *     Z = softmax(Â · ReLU(Â · X̂ · W0) · W1)
 * no biases, as in the paper's released code and shared/peer/ref_gcn.py. Â and X̂ come from
 * struct graph (graph.h). Inference, the masked cross-entropy loss and its gradient, training
 * (Adam, dropout, L2 on the first layer, early stopping on the validation loss), safetensors
 * save/load, and a cache of every node's class probabilities for serving.
 *
 * Tensors are row-major float32: W0 (F, H), W1 (H, C), hidden (N, H), logits and prob (N, C),
 * i.e. the same layouts as PyTorch's `X @ W0` so the golden file's tensors load as they are.
 *
 * Threads: gcn_set_threads() sets how many threads the large products may use (default 1; small
 * graphs such as Cora stay on the calling thread either way); call it once at start-up, before
 * other threads use the module. The threads are the kernels' persistent pool (ops_parallel in
 * core/ops_pool.c, shared with the convolutions), which runs one parallel call at a time:
 * callers on several threads take turns. A struct gcn and a struct gcn_cache are read-only once built, so
 * any number of threads may use them together, and every call allocates its own scratch. */
#ifndef INSPECTD_GCN_H
#define INSPECTD_GCN_H

#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "rng.h"
#include "status.h"

/* Metadata kept in the model file's __metadata__. */
struct gcn_info {
    char dataset[128];    /* name of the graph it was trained on */
    double test_accuracy; /* on that graph's test split; NAN when unknown */
    int epochs;           /* epochs actually run (early stopping may end before the limit) */
    char trained_by[160]; /* "inspectd 0.1.0 train gcn --hidden 16 ... --seed 3" or similar */
    char sha256[65];      /* hex SHA-256 of the file it was loaded from; "" if not loaded */
};

struct gcn {
    int nfeatures, nhidden, nclasses; /* F, H, C */
    float *params; /* one allocation, F*H + H*C floats: W0 then W1 (Adam is one flat loop) */
    float *w0;     /* (F, H), points into params */
    float *w1;     /* (H, C), points into params */
    struct gcn_info info;
};

void gcn_set_threads(int n);
int gcn_get_threads(void);

/* A model with zeroed weights and empty info; *out owned by the caller (gcn_free). */
enum status gcn_create(struct gcn **out, int nfeatures, int nhidden, int nclasses);
void gcn_free(struct gcn *m);
/* Glorot & Bengio (2010) uniform init, U(-r, r) with r = sqrt(6 / (fan_in + fan_out)), for
 * W0 then W1, as the paper's code and the peer do. */
void gcn_init_glorot(struct gcn *m, struct rng *r);

/* Saves W0 (F, H), W1 (H, C) and the metadata (format "inspectd-gcn", dataset, classes,
 * features, hidden, test_accuracy, epochs, trained_by) atomically to path. */
enum status gcn_save(const struct gcn *m, const char *path);
/* Loads a model saved by gcn_save, or any safetensors file with 2-D tensors W0 (F, H) and
 * W1 (H, C) (metadata optional). Fills info, including sha256 of the file. *out owned by the
 * caller (gcn_free). Errors: STATUS_IO, STATUS_FORMAT, STATUS_NOT_FOUND (a tensor missing),
 * STATUS_SHAPE (inconsistent shapes). */
enum status gcn_load(struct gcn **out, const char *path);

/* ---- Inference ------------------------------------------------------------------------------ */
/* Eval-mode forward pass over the whole graph (no dropout):
 *   hidden (N, H) = ReLU(Â · (X̂ · W0)),  logits (N, C) = Â · (hidden · W1).
 * hidden may be NULL. g->nfeatures must be <= m->nfeatures (absent trailing columns are zero),
 * else STATUS_SHAPE. Scratch is allocated per call (STATUS_NOMEM). */
enum status gcn_forward(float *logits, float *hidden, const struct gcn *m, const struct graph *g);
/* prob (n, c) = row-wise softmax of logits (n, c); prob == logits is allowed. */
void gcn_softmax(float *prob, const float *logits, int n, int c);

/* Accuracy and mean cross-entropy of logits (N, C) over the listed nodes, whose labels must be
 * known. Either output may be NULL. n == 0 gives 0 for both. */
void gcn_evaluate(float *loss, float *accuracy, const float *logits, const struct graph *g,
                  const int32_t *nodes, int n);

/* ---- Serving: every node's probabilities, computed once ------------------------------------ */
struct gcn_cache {
    int nnodes, nclasses;
    float *prob;       /* (N, C) softmax of the logits */
    int32_t *pred;     /* (N) argmax class */
    uint8_t *is_train; /* (N) copied from the graph */
};

/* Runs gcn_forward on g and keeps the results. Nothing is borrowed: m and g may be freed after.
 * *out owned by the caller (gcn_cache_free). For a graph built from a request
 * (graph_from_arrays), this is the whole inductive path: Â was normalised for that graph. */
enum status gcn_cache_create(struct gcn_cache **out, const struct gcn *m, const struct graph *g);
void gcn_cache_free(struct gcn_cache *c);

struct gcn_node_class {
    int64_t node;      /* the id asked for */
    int known;         /* 0 when the id is not a node of the graph (then the rest is unset) */
    int cls;           /* predicted class */
    int is_train;      /* 1 if the node was in the training split */
    const float *prob; /* (C) class probabilities, pointing into the cache */
};

/* Fills out[i] for nodes[i], i < n. Returns STATUS_NOT_FOUND if any id is unknown, with a message
 * naming the first few ("unknown node ids: 9999, -1"); out[i].known tells which. */
enum status gcn_cache_query(struct gcn_node_class *out, const struct gcn_cache *c,
                            const int64_t *nodes, size_t n);

/* ---- Training ------------------------------------------------------------------------------- */
/* Buffers for the training forward/backward pass of one (model shape, graph) pair. Opaque. */
struct gcn_work;
enum status gcn_work_create(struct gcn_work **out, const struct gcn *m, const struct graph *g);
void gcn_work_free(struct gcn_work *w);

/* The training objective and its gradient (train mode):
 *   loss = mean over nodes of cross-entropy(logits[node], label[node])
 *          + weight_decay * sum(W0^2) / 2           (TensorFlow's l2_loss, first layer only)
 * with inverted dropout of rate `dropout` on the nonzeros of X̂ and on the hidden layer, masks
 * drawn from r (r NULL or dropout 0: no dropout). dw0 (F, H) and dw1 (H, C) are OVERWRITTEN.
 * If acc is not NULL it receives the accuracy of the train-mode logits over nodes. Returns
 * the loss. The same r state gives the same masks, so finite differences can check it. */
float gcn_loss_grad(float *dw0, float *dw1, float *acc, struct gcn_work *w, const struct gcn *m,
                    const struct graph *g, const int32_t *nodes, int n, float dropout,
                    struct rng *r, float weight_decay);

struct gcn_train_config {
    int hidden;         /* 16 */
    float dropout;      /* 0.5 */
    float weight_decay; /* 5e-4, on W0 only */
    float lr;           /* 0.01, Adam (beta 0.9, 0.999, eps 1e-8) */
    int epochs;         /* 200 */
    int patience;       /* 10: stop at epoch ep > patience when the validation loss exceeds the mean
                           of the previous `patience` validation losses (the peer's rule); 0 = off */
    uint64_t seed;      /* init and dropout masks */
};
void gcn_train_config_default(struct gcn_train_config *cfg);

struct gcn_epoch {
    int epoch; /* 1-based */
    float train_loss, train_acc, val_loss, val_acc;
    double seconds;      /* since training started */
    double step_seconds; /* this epoch's training step: forward, backward, Adam (no validation) */
};

struct gcn_train_result {
    int epochs;       /* epochs run */
    int stopped_early;
    float train_acc, val_acc, val_loss, test_acc; /* eval mode, final weights; NAN if split empty */
    double seconds;   /* wall time of the training loop (excluding the final evaluation) */
};

/* Called after each epoch; a nonzero return stops training with STATUS_CANCELLED. */
typedef int (*gcn_progress_fn)(const struct gcn_epoch *e, void *user);

/* Trains a fresh model on g's training split (validation split for early stopping) and evaluates
 * it on the test split. Fills (*out)->info.{dataset, test_accuracy, epochs}; the caller may set
 * trained_by before saving. *out owned by the caller. progress may be NULL. Errors: STATUS_SHAPE
 * (no training nodes, no classes), STATUS_NUMERIC (loss not finite), STATUS_NOMEM,
 * STATUS_CANCELLED. */
enum status gcn_train(struct gcn **out, struct gcn_train_result *res, const struct graph *g,
                      const struct gcn_train_config *cfg, gcn_progress_fn progress, void *user);

#endif
