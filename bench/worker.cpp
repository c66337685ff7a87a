// worker.cpp: the cnnkit side of bench/compare: loads a network once, then times one inference
// per "run" line read from stdin (so the driver can interleave engines), or measures FMA peak.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "backends/cpu/blas_core.hpp"
#include "network.hpp"

using namespace cnnkit;
using namespace cnnkit::kernel;

namespace {

// N independent FMA chains of W float lanes (more than latency x ports, fewer than the
// registers: 16 of 32 zmm, 10 of 16 ymm): GFLOP/s of one thread. Plain vector arithmetic,
// inlined (flatten) into a wrapper compiled for the ISA, where GCC contracts acc * a + b into
// one FMA.
typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));

template <class V, int N>
inline double fma_gflops(double seconds) {
    constexpr int W = sizeof(V) / sizeof(float);
    V acc[N];
    for (int i = 0; i < N; ++i) acc[i] = V{} + (1.0f + i * 1e-3f);
    const V a = V{} + 0.999999f, b = V{} + 1e-7f;
    std::int64_t iters = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
        for (int r = 0; r < 4096; ++r)
            for (int i = 0; i < N; ++i) acc[i] = acc[i] * a + b;
        iters += 4096;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    float sink = 0;
    for (int i = 0; i < N; ++i) sink += acc[i][i % W];
    if (sink == 12345.0f) std::cerr << "";  // keeps the chains alive
    return double(iters) * N * W * 2 / elapsed / 1e9;
}

__attribute__((target("avx512f"), flatten)) double fma_gflops_avx512(double seconds) {
    return fma_gflops<v16f, 16>(seconds);
}

__attribute__((target("avx2,fma"), flatten)) double fma_gflops_avx2(double seconds) {
    return fma_gflops<v8f, 10>(seconds);
}

double fma_gflops_best(double seconds) {
    return __builtin_cpu_supports("avx512f") ? fma_gflops_avx512(seconds)
                                             : fma_gflops_avx2(seconds);
}

double fma_peak(int threads, double seconds) {
    std::vector<double> per(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] { per[t] = fma_gflops_best(seconds); });
    for (auto& th : pool) th.join();
    double sum = 0;
    for (double v : per) sum += v;
    return sum;
}

int usage() {
    std::cerr << "usage: cnnkit_bench_worker MODEL.yaml --input FILE.npy [--threads N] "
                 "[--weights W.safetensors] [--precision fp32|bf16] [--layers]\n"
                 "       cnnkit_bench_worker --peak THREADS\n"
                 "reads 'run' lines on stdin, answers each with the inference time in ms\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) try {
    reexec_with_better_blas_core(argv);  // OpenBLAS on CPUs newer than it (blas_core.hpp)
    std::vector<std::string> a(argv + 1, argv + argc);
    if (a.size() == 2 && a[0] == "--peak") {
        const int threads = std::stoi(a[1]);
        std::vector<double> runs;
        for (int i = 0; i < 5; ++i) runs.push_back(fma_peak(threads, 0.2));
        std::cout << *std::max_element(runs.begin(), runs.end()) << std::endl;
        return 0;
    }
    if (a.empty()) return usage();
    network_options opt;
    opt.random_seed = 1;
    std::string input;
    bool layers = false;
    for (std::size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--threads" && i + 1 < a.size())
            opt.threads = std::stoi(a[++i]);
        else if (a[i] == "--input" && i + 1 < a.size())
            input = a[++i];
        else if (a[i] == "--weights" && i + 1 < a.size())
            opt.weights = a[++i], opt.random_seed.reset();
        else if (a[i] == "--precision" && i + 1 < a.size())
            opt.precision = precision_named(a[++i]);
        else if (a[i] == "--layers")
            layers = true;
        else
            return usage();
    }
    if (input.empty()) return usage();
    registry reg;
    for (const auto& dir : registry::search_path({})) reg.load_dir(dir);
    auto net = network::load(reg, a[0], opt);
    const host_tensor x = read_npy(input);
    const host_tensor* in[] = {&x};
    std::vector<host_tensor> outs(net->g().outputs.size());  // the allocation-free run form
    std::vector<host_tensor*> out_ptrs;
    for (auto& o : outs) {
        o.shape = net->g().tensors[net->g().outputs[out_ptrs.size()].second].shape;
        o.bytes.resize(o.shape.numel() * sizeof(float));
        out_ptrs.push_back(&o);
    }
    std::int64_t macs = 0;
    for (const auto& n : net->g().nodes) macs += n.macs;
    std::cout << "ready macs=" << macs << std::endl;
    std::vector<double> node_ms(net->g().nodes.size());
    timing_sink sink;
    if (layers)
        sink = [&](const node_timing& t) {
            node_ms[t.node] += std::chrono::duration<double, std::milli>(t.end - t.start).count();
        };
    std::string line;
    int runs = 0;
    while (std::getline(std::cin, line)) {
        if (line == "quit") break;
        if (line == "layers") {  // name type macs total-ms over all runs so far
            for (std::size_t i = 0; i < node_ms.size(); ++i) {
                const auto& n = net->g().nodes[i];
                std::cout << n.name << ' ' << n.type->api->type << ' ' << n.macs << ' '
                          << node_ms[i] / std::max(runs, 1) << '\n';
            }
            std::cout << "end" << std::endl;
            continue;
        }
        const auto t0 = std::chrono::steady_clock::now();
        net->run(in, out_ptrs, sink);
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        ++runs;
        std::cout << ms << std::endl;
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << '\n';
    return 1;
}
