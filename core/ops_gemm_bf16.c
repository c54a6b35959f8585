/* ops_gemm_bf16: matrix products in bf16 through oneDNN's matmul, for ops_set_precision().
 *
 * oneDNN is loaded with dlopen on the first ops_set_precision(OPS_PRECISION_BF16), not linked:
 * the fp32 build and image need none of its 40 MB, and a machine without libdnnl.so.2 gets a
 * clear message instead of a missing-library error at start-up. oneDNN picks its kernel from
 * the CPU's features (AMX tiles, AVX-512 BF16, plain AVX-512 with bf16 emulated); bf16 is refused
 * where it would only have its reference code.
 *
 * A product C = op(A) op(B) (+ C) converts A and B to dense bf16 copies (round to nearest
 * even), and runs a matmul primitive with fp32 output straight into C (a sum post-op when
 * accumulating). Primitives are made per shape and kept in a small per-thread cache: oneDNN's
 * default scratchpad lets a primitive run only on the thread that created it, and each thread
 * (kernel pool threads, server workers) then needs no lock. oneDNN's own OpenMP threads are held
 * at one per calling thread, since ops_pool.c already splits the work above it. */
#include "ops.h"
#include "ops_impl.h"

#include "cpu.h"
#include "status.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<oneapi/dnnl/dnnl.h>)
#include <oneapi/dnnl/dnnl.h>
#endif
#endif

static char backend[160] = "bf16 needs oneDNN: this build had no oneDNN header (libdnnl-dev)";

#if defined(DNNL_VERSION_MAJOR) && DNNL_VERSION_MAJOR == 2
#include <dlfcn.h>

#define DNNL_FUNCS(X)                                                                         \
    X(dnnl_version)                                                                           \
    X(dnnl_engine_create)                                                                     \
    X(dnnl_stream_create)                                                                     \
    X(dnnl_stream_destroy)                                                                    \
    X(dnnl_stream_wait)                                                                       \
    X(dnnl_memory_desc_init_by_strides)                                                       \
    X(dnnl_matmul_desc_init)                                                                  \
    X(dnnl_primitive_attr_create)                                                             \
    X(dnnl_primitive_attr_destroy)                                                            \
    X(dnnl_primitive_attr_set_post_ops)                                                       \
    X(dnnl_post_ops_create)                                                                   \
    X(dnnl_post_ops_destroy)                                                                  \
    X(dnnl_post_ops_append_sum)                                                               \
    X(dnnl_primitive_desc_create)                                                             \
    X(dnnl_primitive_desc_destroy)                                                            \
    X(dnnl_primitive_desc_query)                                                              \
    X(dnnl_primitive_create)                                                                  \
    X(dnnl_primitive_destroy)                                                                 \
    X(dnnl_primitive_execute)                                                                 \
    X(dnnl_memory_create)                                                                     \
    X(dnnl_memory_destroy)                                                                    \
    X(dnnl_memory_set_data_handle)

static struct {
#define DNNL_FIELD(f) __typeof__(f) *f;
    DNNL_FUNCS(DNNL_FIELD)
    void (*omp_set_num_threads)(int);
    dnnl_engine_t engine;
    int ready; /* 1 when bf16 products can run */
} dn;

enum { CACHE_MAX = 64 };

struct entry {
    int ta, tb, M, N, K, ldc, acc; /* the key */
    dnnl_primitive_t prim;
    dnnl_memory_t a, b, c;
};

struct thread_state {
    dnnl_stream_t stream;
    struct entry cache[CACHE_MAX];
    int n, next; /* entries used; the next to replace when full */
    uint16_t *abuf, *bbuf;
    size_t acap, bcap;
};

static pthread_key_t state_key;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void entry_free(struct entry *e)
{
    if (e->prim)
        dn.dnnl_primitive_destroy(e->prim);
    dnnl_memory_t m[] = {e->a, e->b, e->c};
    for (int i = 0; i < 3; i++)
        if (m[i])
            dn.dnnl_memory_destroy(m[i]);
    memset(e, 0, sizeof *e);
}

static void state_free(void *p)
{
    struct thread_state *s = p;
    for (int i = 0; i < s->n; i++)
        entry_free(&s->cache[i]);
    if (s->stream)
        dn.dnnl_stream_destroy(s->stream);
    free(s->abuf);
    free(s->bbuf);
    free(s);
}

static struct thread_state *state_get(void)
{
    struct thread_state *s = pthread_getspecific(state_key);
    if (s)
        return s;
    if (!(s = calloc(1, sizeof *s)))
        return NULL;
    if (dn.dnnl_stream_create(&s->stream, dn.engine, dnnl_stream_default_flags) != dnnl_success) {
        free(s);
        return NULL;
    }
    dn.omp_set_num_threads(1); /* this thread's OpenMP teams: itself only */
    pthread_setspecific(state_key, s);
    return s;
}

/* The primitive for this key, made on first use. impl (optional, len bytes) gets a copy of its
 * implementation's name. */
static struct entry *entry_get(struct thread_state *s, int ta, int tb, int M, int N, int K,
                               int ldc, int acc, char *impl, size_t len)
{
    for (int i = 0; i < s->n; i++) {
        struct entry *e = &s->cache[i];
        if (e->ta == ta && e->tb == tb && e->M == M && e->N == N && e->K == K && e->ldc == ldc &&
            e->acc == acc)
            return e;
    }
    struct entry *e;
    if (s->n < CACHE_MAX) {
        e = &s->cache[s->n++];
    } else {
        e = &s->cache[s->next];
        s->next = (s->next + 1) % CACHE_MAX;
        entry_free(e);
    }
    *e = (struct entry){.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .ldc = ldc, .acc = acc};
    /* A (M, K) and B (K, N) as dense copies in their stored orientation; C as the caller has it */
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N};
    dnnl_dims_t as = {ta ? 1 : K, ta ? M : 1}, bs = {tb ? 1 : N, tb ? K : 1}, cs = {ldc, 1};
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_matmul_desc_t desc;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dn.dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_bf16, as) == dnnl_success &&
             dn.dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dnnl_bf16, bs) == dnnl_success &&
             dn.dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs) == dnnl_success &&
             dn.dnnl_matmul_desc_init(&desc, &amd, &bmd, NULL, &cmd) == dnnl_success &&
             dn.dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && acc)
        ok = dn.dnnl_post_ops_create(&po) == dnnl_success &&
             dn.dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
             dn.dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    ok = ok && dn.dnnl_primitive_desc_create(&pd, &desc, attr, dn.engine, NULL) == dnnl_success;
    const char *name = NULL; /* owned by pd */
    if (ok && impl && dn.dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name) ==
                          dnnl_success)
        snprintf(impl, len, "%s", name ? name : "");
    ok = ok && dn.dnnl_primitive_create(&e->prim, pd) == dnnl_success &&
         dn.dnnl_memory_create(&e->a, &amd, dn.engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dn.dnnl_memory_create(&e->b, &bmd, dn.engine, DNNL_MEMORY_NONE) == dnnl_success &&
         dn.dnnl_memory_create(&e->c, &cmd, dn.engine, DNNL_MEMORY_NONE) == dnnl_success;
    if (pd)
        dn.dnnl_primitive_desc_destroy(pd);
    if (po)
        dn.dnnl_post_ops_destroy(po);
    if (attr)
        dn.dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        entry_free(e); /* a zeroed key (M = 0) matches no call: the slot is reused later */
        return NULL;
    }
    return e;
}

/* fp32 -> bf16, round to nearest even; NaN stays NaN. */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)(u >> 16 | 0x40);
    u += 0x7fffu + (u >> 16 & 1);
    return (uint16_t)(u >> 16);
}

/* rows x cols floats, rows ld apart -> dense bf16 (*buf grown as needed). 0 on allocation
 * failure. */
static int to_dense_bf16(uint16_t **buf, size_t *cap, const float *x, int rows, int cols, int ld)
{
    size_t n = (size_t)rows * (size_t)cols;
    if (n > *cap) {
        uint16_t *p = realloc(*buf, n * sizeof *p);
        if (!p)
            return 0;
        *buf = p;
        *cap = n;
    }
    for (int r = 0; r < rows; r++) {
        const float *src = x + (size_t)r * (size_t)ld;
        uint16_t *dst = *buf + (size_t)r * (size_t)cols;
        for (int i = 0; i < cols; i++)
            dst[i] = to_bf16(src[i]);
    }
    return 1;
}

static int run(struct thread_state *s, struct entry *e, const float *A, int lda, const float *B,
               int ldb, float *C)
{
    if (!to_dense_bf16(&s->abuf, &s->acap, A, e->ta ? e->K : e->M, e->ta ? e->M : e->K, lda) ||
        !to_dense_bf16(&s->bbuf, &s->bcap, B, e->tb ? e->N : e->K, e->tb ? e->K : e->N, ldb))
        return 0;
    if (dn.dnnl_memory_set_data_handle(e->a, s->abuf) != dnnl_success ||
        dn.dnnl_memory_set_data_handle(e->b, s->bbuf) != dnnl_success ||
        dn.dnnl_memory_set_data_handle(e->c, C) != dnnl_success)
        return 0;
    dnnl_exec_arg_t args[] = {
        {DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    return dn.dnnl_primitive_execute(e->prim, s->stream, 3, args) == dnnl_success &&
           dn.dnnl_stream_wait(s->stream) == dnnl_success;
}

static void load(void)
{
    void *h = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(backend, sizeof backend,
                 "bf16 needs oneDNN 2 (libdnnl.so.2, Debian: apt-get install libdnnl2): %s",
                 dlerror());
        return;
    }
#define DNNL_LOAD(f)                                                                          \
    if (!(*(void **)&dn.f = dlsym(h, #f))) {                                                  \
        snprintf(backend, sizeof backend, "libdnnl.so.2 lacks %s", #f);                       \
        return;                                                                               \
    }
    DNNL_FUNCS(DNNL_LOAD)
    if (!(*(void **)&dn.omp_set_num_threads = dlsym(h, "omp_set_num_threads"))) {
        snprintf(backend, sizeof backend, "libdnnl.so.2 is not built on OpenMP (no "
                 "omp_set_num_threads): its threads cannot be held at one per caller");
        return;
    }
    const dnnl_version_t *v = dn.dnnl_version();
    if (pthread_key_create(&state_key, state_free) != 0 ||
        dn.dnnl_engine_create(&dn.engine, dnnl_cpu, 0) != dnnl_success) {
        snprintf(backend, sizeof backend, "oneDNN %d.%d.%d: no CPU engine", v->major, v->minor,
                 v->patch);
        return;
    }
    /* A probe product: which kernel would run, and that it runs. */
    struct thread_state *s = state_get();
    char impl[64] = "";
    struct entry *e = s ? entry_get(s, 0, 0, 16, 16, 16, 16, 0, impl, sizeof impl) : NULL;
    float a[256], c[256];
    for (int i = 0; i < 256; i++)
        a[i] = (float)(i % 7) - 3.0f;
    if (!e || !run(s, e, a, 16, a, 16, c)) {
        snprintf(backend, sizeof backend, "oneDNN %d.%d.%d: no bf16 matmul on this CPU", v->major,
                 v->minor, v->patch);
        return;
    }
    if (strstr(impl, "ref")) {
        snprintf(backend, sizeof backend, "oneDNN %d.%d.%d has only its reference bf16 code (%s) "
                 "for this CPU (%s): far slower than fp32", v->major, v->minor, v->patch, impl,
                 cpu_isa_name(cpu_isa_detected()));
        return;
    }
    snprintf(backend, sizeof backend, "oneDNN %d.%d.%d, %s", v->major, v->minor, v->patch, impl);
    __atomic_store_n(&dn.ready, 1, __ATOMIC_RELEASE);
}

enum status ops_bf16_prepare(void)
{
    pthread_once(&load_once, load);
    if (__atomic_load_n(&dn.ready, __ATOMIC_ACQUIRE))
        return STATUS_OK;
    return status_fail(STATUS_UNSUPPORTED, "%s", backend);
}

int ops_gemm_bf16(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    if (!__atomic_load_n(&dn.ready, __ATOMIC_ACQUIRE) || K == 0)
        return 0;
    struct thread_state *s = state_get();
    struct entry *e =
        s ? entry_get(s, trans_a, trans_b, M, N, K, ldc, beta != 0.0f, NULL, 0) : NULL;
    return e && run(s, e, A, lda, B, ldb, C);
}
#else
enum status ops_bf16_prepare(void)
{
    return status_fail(STATUS_UNSUPPORTED, "%s", backend);
}

int ops_gemm_bf16(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    (void)trans_a, (void)trans_b, (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B;
    (void)ldb, (void)beta, (void)C, (void)ldc;
    return 0;
}
#endif

const char *ops_bf16_backend(void)
{
    return backend;
}
