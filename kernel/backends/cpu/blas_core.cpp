// blas_core.cpp: OPENBLAS_CORETYPE for CPUs newer than the installed OpenBLAS (blas_core.hpp).
#include "blas_core.hpp"

#include <cblas.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace cnnkit::kernel {

const char* better_blas_core() {
    if (std::getenv("OPENBLAS_CORETYPE")) return nullptr;  // the user's choice, or our re-exec
    const char* core = openblas_get_corename();
    if (!core || std::strcmp(core, "Prescott") != 0) return nullptr;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";  // Debian's 0.3.21 answers "Core not found" to Cooperlake
    return __builtin_cpu_is("amd") ? "Zen" : "Haswell";
}

void reexec_with_better_blas_core(char** argv) {
    const char* core = better_blas_core();
    if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");  // exec failed: carry on with what OpenBLAS chose
}

}  // namespace cnnkit::kernel
