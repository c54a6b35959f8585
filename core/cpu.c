/* cpu: instruction-set detection through GCC's CPU-feature builtins (they read flags the
 * runtime filled in at start-up, so every call is cheap and there is no shared cache of ours to
 * race on), and a process-wide cap for tests and benchmarks. */
#include "cpu.h"

#include <string.h>

static int isa_limit = CPU_ISA_AVX512; /* read and written atomically */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
enum cpu_isa cpu_isa_detected(void)
{
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("fma"))
        return CPU_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return CPU_ISA_AVX2;
    return CPU_ISA_PORTABLE;
}

int cpu_has_avx512_bf16(void)
{
    /* GCC 12's builtin knows "avx512bf16"; clang 14 does too. */
    return cpu_isa_detected() == CPU_ISA_AVX512 && __builtin_cpu_supports("avx512bf16");
}

int cpu_has_amx_bf16(void)
{
    /* AMX needs the kernel's permission (arch_prctl) as well as the CPU flag; oneDNN asks for
     * it itself. Here only the flag, for the record: cpuid leaf 7, edx bits 22 (bf16) and 24
     * (tile). */
    if (cpu_isa_detected() != CPU_ISA_AVX512)
        return 0;
    unsigned a = 7, b = 0, c = 0, d = 0;
    __asm__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (d >> 22 & 1) && (d >> 24 & 1);
}
#else
enum cpu_isa cpu_isa_detected(void)
{
    return CPU_ISA_PORTABLE;
}

int cpu_has_avx512_bf16(void)
{
    return 0;
}

int cpu_has_amx_bf16(void)
{
    return 0;
}
#endif

enum cpu_isa cpu_isa(void)
{
    enum cpu_isa d = cpu_isa_detected();
    int lim = __atomic_load_n(&isa_limit, __ATOMIC_RELAXED);
    return (int)d < lim ? d : (enum cpu_isa)lim;
}

void cpu_set_isa_limit(enum cpu_isa isa)
{
    __atomic_store_n(&isa_limit, (int)isa, __ATOMIC_RELAXED);
}

const char *cpu_isa_name(enum cpu_isa isa)
{
    switch (isa) {
    case CPU_ISA_PORTABLE: return "portable";
    case CPU_ISA_AVX2: return "avx2";
    case CPU_ISA_AVX512: return "avx512";
    }
    return "unknown";
}

int cpu_isa_parse(const char *name)
{
    for (int i = CPU_ISA_PORTABLE; i <= CPU_ISA_AVX512; i++)
        if (!strcmp(name, cpu_isa_name((enum cpu_isa)i)))
            return i;
    return -1;
}
