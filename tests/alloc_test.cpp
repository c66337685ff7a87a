// alloc_test.cpp: a warm inference performs no heap allocation. This binary's global operator
// new counts every allocation (plugins resolve operator new to it as well).
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <new>

#include "testing.hpp"

namespace {
std::atomic<long> allocations{0};
volatile bool armed = false;

void* counted(std::size_t n, std::size_t align) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    n = n ? n : 1;
    void* p = align <= alignof(std::max_align_t)
                  ? std::malloc(n)
                  : std::aligned_alloc(align, (n + align - 1) / align * align);
    if (!p) throw std::bad_alloc();
    return p;
}
}  // namespace

void* operator new(std::size_t n) {
    return counted(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
// The rest of the replaceable set, so that nothing allocated here is freed by a sanitizer's own
// operator delete (ASan reports that as alloc-dealloc-mismatch) and array new is counted too.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try { return counted(n, 0); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try { return counted(n, static_cast<std::size_t>(a)); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n) {
    return counted(n, 0);
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try { return counted(n, 0); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try { return counted(n, static_cast<std::size_t>(a)); } catch (...) { return nullptr; }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

using namespace cnnkit;
using namespace cnnkit::kernel;

TEST_CASE("executor: a warm inference performs no heap allocation, at 1 and 2 threads",
          "[cpu][alloc]") {
    // im2col and 1x1 convs, folded batch norm, a residual unit, LRN, pools, concat, fc, softmax.
    const std::string yaml = R"(
name: alloc
inputs: {x: [1, 3, 40, 40]}
nodes:
  - {name: c1, type: conv, out_channels: 16, kernel: 3, stride: 2, pad: 1, bias: false}
  - {name: bn, type: batch_norm}
  - {name: r, type: relu}
  - {name: n, type: lrn, size: 3}
  - {name: p, type: pool, mode: max, kernel: 2}
  - {name: block, type: residual, channels: 16}
  - {name: a, type: conv, out_channels: 8, kernel: 1, inputs: [block]}
  - {name: b, type: conv, out_channels: 8, kernel: 5, pad: 2, groups: 2, inputs: [block]}
  - {name: cat, type: concat, inputs: [a, b]}
  - {name: gap, type: pool, mode: avg, global: true}
  - {name: fc, type: fc, out_features: 10}
  - {name: sm, type: softmax}
outputs: {prob: sm, features: cat}
)";
    for (int threads = 1; threads <= 2; ++threads) {
        INFO(threads << " thread(s)");
        network_options o;
        o.random_seed = 2;
        o.threads = threads;
        auto net = network::from_graph(load_yaml_text(testing::plugins(), yaml, "a.yaml"), o);
        const host_tensor x = testing::random_tensor({1, 3, 40, 40}, 8);
        std::vector<host_tensor> outs(net->g().outputs.size());
        std::vector<host_tensor*> out_ptrs;
        for (std::size_t i = 0; i < outs.size(); ++i) {
            outs[i].shape = net->g().tensors[net->g().outputs[i].second].shape;
            outs[i].bytes.resize(outs[i].shape.numel() * sizeof(float));
            out_ptrs.push_back(&outs[i]);
        }
        const host_tensor* in[] = {&x};
        // Kernels keep per-thread scratch (conv's im2col tile, Winograd's transforms) that each
        // pool thread sizes the first time it runs a job: steady state begins once every thread
        // has taken part, which a loaded machine may delay for a few runs.
        for (int warm = 0; warm < 40; ++warm) net->run(in, out_ptrs);
        const auto want = net->run({{"x", x}});
        const long before = allocations.load();
        armed = true;
        net->run(in, out_ptrs);
        armed = false;
        const long during = allocations.load() - before;
        CHECK(during == 0);
        CHECK(outs[0].bytes == want.at("prob").bytes);
        CHECK(outs[1].bytes == want.at("features").bytes);
        // The counter counts: the map-returning form allocates its outputs.
        const long map_before = allocations.load();
        net->run({{"x", x}});
        CHECK(allocations.load() > map_before);
    }
}
