// gemm_bench.cpp: the CPU backend's SGEMM against OpenBLAS on the GEMM shapes of the conv layers
// of resnet18/50, googlenet, vgg16 and alexnet (M = output channels, N = output pixels of one
// column tile, K = input channels x kernel area). Prints GFLOP/s of each and the largest
// difference. A benchmark for iterating on the micro-kernel; never run by ctest.
//   build/cnnkit_gemm_bench [reps]
#include "backends/cpu/gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

struct shape {
    const char* what;
    std::int64_t m, n, k;
};

const shape shapes[] = {
    {"r50 conv1 7x7s2", 64, 512, 147},    {"r50 l1 1x1 64>64", 64, 512, 64},
    {"r50 l1 3x3 64", 64, 448, 576},      {"r50 l1 1x1 64>256", 256, 512, 64},
    {"r50 l1 1x1 256>64", 64, 512, 256},  {"r50 l2 3x3s2 128", 128, 224, 1152},
    {"r50 l2 1x1 128>512", 512, 392, 128}, {"r50 l2 1x1 512>128", 128, 392, 512},
    {"r50 l3 3x3 256", 256, 112, 2304},   {"r50 l3 1x1 256>1024", 1024, 196, 256},
    {"r50 l3 1x1 1024>256", 256, 196, 1024}, {"r50 l4 3x3s2 512", 512, 49, 4608},
    {"r50 l4 1x1 512>2048", 2048, 49, 512}, {"r50 l4 1x1 2048>512", 512, 49, 2048},
    {"alex conv1 11x11s4", 64, 640, 363}, {"alex conv2 5x5", 192, 160, 1600},
    {"alex conv3 3x3", 384, 169, 1728},   {"alex conv4 3x3", 256, 169, 3456},
    {"vgg 3x3 512@14", 512, 196, 4608},   {"square 512", 512, 512, 512},
};

// This thread's CPU time: on a shared machine, time spent descheduled does not count.
double cpu_now() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

double seconds(auto&& f, int reps) {
    f();
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = cpu_now();
        f();
        best = std::min(best, cpu_now() - t0);
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace cnnkit::kernel;
    const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
    const gemm::isa isa = gemm::detected();
    std::printf("isa: %s\n", isa == gemm::isa::avx512 ? "avx512" : isa == gemm::isa::avx2 ? "avx2" : "none");
    std::printf("%-22s %5s %5s %5s  %9s %9s  %s\n", "layer", "M", "N", "K", "openblas", "own", "max|diff|");
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (const shape& s : shapes) {
        std::vector<float> a(s.m * s.k), b(s.k * s.n), c0(s.m * s.n), c1(s.m * s.n);
        for (float& x : a) x = u(rng);
        for (float& x : b) x = u(rng);
        const double flop = 2.0 * s.m * s.n * s.k;
        const double tb = seconds([&] {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k,
                        b.data(), s.n, 0.0f, c0.data(), s.n);
        }, reps);
        const double to = seconds([&] {
            gemm::sgemm_nn(isa, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c1.data(), s.n);
        }, reps);
        float diff = 0;
        for (std::size_t i = 0; i < c0.size(); ++i) diff = std::max(diff, std::abs(c0[i] - c1[i]));
        std::printf("%-22s %5ld %5ld %5ld  %9.1f %9.1f  %.2g\n", s.what, long(s.m), long(s.n), long(s.k),
                    flop / tb * 1e-9, flop / to * 1e-9, diff);
    }
}
