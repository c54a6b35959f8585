/* ops_blas: which OpenBLAS kernels run, and a better choice where OpenBLAS did not know the CPU.
 *
 * Debian's OpenBLAS (DYNAMIC_ARCH) picks its kernels once, as it loads, from a table of CPU
 * models. A CPU newer than the table (an Emerald Rapids Xeon under 0.3.21, say) gets the
 * generic SSE3 "Prescott" kernels, three times slower on our products than the AVX-512 ones the
 * CPU can run. The only switch is the environment variable OPENBLAS_CORETYPE, read at load
 * time, so the fix has to happen before the process starts: ops_blas_reexec() sets it from the
 * CPU's features and runs the program again. A value set by the user is never overridden, and
 * a core OpenBLAS chose for a CPU it knows (even an AVX2 core on an AVX-512 CPU) is kept. */
#include "ops.h"

#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

char *openblas_get_corename(void);
char *openblas_get_config(void);

/* Cores of OpenBLAS's dynamic table that have AVX2 (from its driver/others/dynamic.c). */
static int core_has_avx2(const char *core)
{
    static const char *const avx2[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake",
                                       "SapphireRapids", "Excavator"};
    for (size_t i = 0; i < sizeof avx2 / sizeof avx2[0]; i++)
        if (!strcasecmp(core, avx2[i]))
            return 1;
    return 0;
}

const char *ops_blas_core(void)
{
    return openblas_get_corename();
}

const char *ops_blas_core_advice(void)
{
    if (getenv("OPENBLAS_CORETYPE") || core_has_avx2(openblas_get_corename()))
        return NULL;
    switch (cpu_isa_detected()) {
    case CPU_ISA_AVX512: return "SkylakeX";
    case CPU_ISA_AVX2: return "Haswell";
    case CPU_ISA_PORTABLE: break;
    }
    return NULL;
}

void ops_blas_reexec(char **argv)
{
    const char *core = ops_blas_core_advice();
    if (!core)
        return;
    /* for ops_blas_describe() in the new process: what OpenBLAS had chosen by itself */
    setenv("INSPECTD_BLAS_FALLBACK", openblas_get_corename(), 1);
    setenv("OPENBLAS_CORETYPE", core, 1);
    execv("/proc/self/exe", argv);
    /* no /proc (or exec refused): carry on with the slow kernels, and say so once */
    unsetenv("OPENBLAS_CORETYPE");
    fprintf(stderr, "warning: OpenBLAS runs its generic %s kernels on this CPU; start with "
            "OPENBLAS_CORETYPE=%s for the fast ones\n", openblas_get_corename(), core);
}

void ops_blas_describe(char *buf, size_t len)
{
    const char *was = getenv("INSPECTD_BLAS_FALLBACK");
    char version[32] = "OpenBLAS";
    const char *cfg = openblas_get_config(); /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ..." */
    if (cfg && !strncmp(cfg, "OpenBLAS ", 9))
        snprintf(version, sizeof version, "OpenBLAS %.*s", (int)strcspn(cfg + 9, " "), cfg + 9);
    if (was && getenv("OPENBLAS_CORETYPE"))
        snprintf(buf, len, "%s, %s kernels (chosen by CPU features: OpenBLAS took this CPU for "
                 "%s)", version, openblas_get_corename(), was);
    else
        snprintf(buf, len, "%s, %s kernels", version, openblas_get_corename());
}
