// blas_core.hpp: make OpenBLAS use the kernels this CPU can run when it does not know the CPU.
#pragma once

namespace cnnkit::kernel {

// The OpenBLAS core type (OPENBLAS_CORETYPE) for this CPU's instruction sets, or nullptr when
// OpenBLAS's own choice stands: Debian 12's OpenBLAS 0.3.21 takes CPUs newer than it (such as
// Emerald Rapids, family 6 model 207) for its SSE3 "Prescott" target, whose GEMM ran AlexNet's
// batch-64 fc6 at 23 GFLOP/s where its SkylakeX kernels reach 76. Non-null only when OpenBLAS
// picked Prescott while the CPU has AVX2 and FMA, and OPENBLAS_CORETYPE is not set.
const char* better_blas_core();

// For executables, first thing in main: when better_blas_core() names a core type, re-executes
// this program (/proc/self/exe, the same argv) with OPENBLAS_CORETYPE set to it, since OpenBLAS
// reads the variable only when it loads. Returns (and changes nothing) otherwise or if exec fails.
void reexec_with_better_blas_core(char** argv);

}  // namespace cnnkit::kernel
