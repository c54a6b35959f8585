/* cpu: which vector instructions the kernels may use, decided at run time.
 *
 * The fast kernels (the small-N GEMM of ops_gemm.c, the GCN's row kernels) are compiled for
 * several instruction sets in one binary and pick one per call from cpu_isa(): the best the CPU
 * has, lowered by cpu_set_isa_limit() (tests run every path the machine can run; bench compares
 * them). The portable C path is always there. */
#ifndef INSPECTD_CPU_H
#define INSPECTD_CPU_H

enum cpu_isa {
    CPU_ISA_PORTABLE, /* plain C, and OpenBLAS for the large products */
    CPU_ISA_AVX2,     /* AVX2 + FMA */
    CPU_ISA_AVX512,   /* AVX-512 F, BW, DQ, VL (Skylake-SP and later) */
};

/* The best instruction set this CPU (and this build) supports. */
enum cpu_isa cpu_isa_detected(void);
/* What the kernels use now: min(detected, limit). Cheap; safe from any thread. */
enum cpu_isa cpu_isa(void);
/* Caps cpu_isa() at isa (CPU_ISA_AVX512 = no cap, the default). Global to the process. */
void cpu_set_isa_limit(enum cpu_isa isa);
/* "portable", "avx2", "avx512"; parse returns -1 for an unknown name. */
const char *cpu_isa_name(enum cpu_isa isa);
int cpu_isa_parse(const char *name);
/* Whether the CPU has the AVX-512 BF16 dot-product instructions, and AMX tiles with bf16. */
int cpu_has_avx512_bf16(void);
int cpu_has_amx_bf16(void);

#endif
