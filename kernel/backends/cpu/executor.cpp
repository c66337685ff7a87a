// executor.cpp: the CPU backend: per in-flight inference, an arena of memory and a team of threads
// (team.hpp) over the plan, inside one oneTBB task arena.
#include "backends/cpu/executor.hpp"

#include "backends/cpu/gemm.hpp"
#include "backends/cpu/team.hpp"

#include "util/tsan.hpp"

#include <cblas.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cnnkit::kernel {
namespace {

// Outside a run's team (ctx null: a Vulkan run's CPU nodes, tools): oneTBB's parallel_for.
void tbb_parallel_for(std::int64_t begin, std::int64_t end, std::int64_t grain,
                      void (*body)(void*, std::int64_t, std::int64_t), void* user) {
    if (oneapi::tbb::this_task_arena::max_concurrency() == 1) {
        body(user, begin, end);
        return;
    }
    int fork = 0, join = 0;  // TSan: the caller's writes reach every chunk, every chunk's the caller
    tsan::release(&fork);
    oneapi::tbb::parallel_for(
        oneapi::tbb::blocked_range<std::int64_t>(begin, end, std::max<std::int64_t>(grain, 1)),
        [&](const oneapi::tbb::blocked_range<std::int64_t>& r) {
            tsan::acquire(&fork);
            body(user, r.begin(), r.end());
            tsan::release(&join);
        });
    tsan::acquire(&join);
}

// ctx: the run's team. Inline when there is nothing to share, or inside another parallel_for's
// chunk (a chunk never waits for others' work).
void host_parallel_for(void* ctx, std::int64_t begin, std::int64_t end, std::int64_t grain,
                       void (*body)(void*, std::int64_t, std::int64_t), void* user) {
    if (end <= begin) return;
    if (end - begin <= std::max<std::int64_t>(grain, 1)) {
        body(user, begin, end);
        return;
    }
    if (!ctx) {
        tbb_parallel_for(begin, end, grain, body, user);
        return;
    }
    const team_member& m = current_member();
    if (m.t != ctx || m.in_chunk || m.t->size() == 1) {
        body(user, begin, end);
        return;
    }
    m.t->parallel_for(m.me, begin, end, grain, body, user);
}

void host_sgemm(void*, int ta, int tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
                const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                float* c, std::int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j) c[i * ldc + j] *= beta;
        return;
    }
    // Own micro-kernels where they beat OpenBLAS (bench/gemm_bench.cpp): neither operand
    // transposed, at least a few rows, and weight rows not a multiple of 4 KiB apart (ours reads
    // them in place: 12 such rows share one L1 set and evict each other; OpenBLAS packs them).
    // CNNKIT_GEMM=openblas forces OpenBLAS (for comparisons).
    static const gemm::isa own = [] {
        const char* e = std::getenv("CNNKIT_GEMM");
        return e && std::strcmp(e, "openblas") == 0 ? gemm::isa::none : gemm::detected();
    }();
    // A row times rows of weights (batch-1 fc): our own GEMV. OpenBLAS's took 1.09x the time
    // on AlexNet's fc6 at 1 thread, 1.28x at 2 (AMD Zen 3).
    if (m == 1 && n > 1 && tb && !ta && gemm::sgemv_rows(own, n, k, alpha, b, ldb, a, beta, c))
        return;
    if (m == 1 && n > 1) {  // a row times a matrix: GEMV streams the matrix once
        if (tb)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(n), static_cast<int>(k),
                        alpha, b, static_cast<int>(ldb), a, ta ? static_cast<int>(lda) : 1, beta, c,
                        1);
        else
            cblas_sgemv(CblasRowMajor, CblasTrans, static_cast<int>(k), static_cast<int>(n), alpha,
                        b, static_cast<int>(ldb), a, ta ? static_cast<int>(lda) : 1, beta, c, 1);
        return;
    }
    if (!ta && !tb && m >= 4 && lda % 1024 != 0 &&
        gemm::sgemm_nn(own, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
                static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

void host_log(void*, int level, const char* message) {
    if (level >= 2) std::fprintf(stderr, "warning: %s\n", message);
}

const cnnkit_host services{sizeof(cnnkit_host), nullptr, &host_parallel_for, &host_sgemm,
                           &host_log};

struct aligned_buffer {
    void* data = nullptr;
    explicit aligned_buffer(std::size_t bytes) {
        data = std::aligned_alloc(64, std::max<std::size_t>(64, (bytes + 63) / 64 * 64));
        if (!data) throw std::bad_alloc();
    }
    ~aligned_buffer() { std::free(data); }
    aligned_buffer(const aligned_buffer&) = delete;
    aligned_buffer& operator=(const aligned_buffer&) = delete;
};

}  // namespace

const cnnkit_host& cpu_host_services() {
    return services;
}

struct cpu_executor::impl {
    oneapi::tbb::task_arena arena;
    std::vector<std::vector<int>> successors;
    std::vector<int> deps;  // per node: how many nodes it waits on
};

// What one run() shares with its nodes.
struct run_state {
    const timing_sink* timing = nullptr;
    std::atomic<bool> failed{false};
    std::mutex failure_mutex;
    std::string failure;
};

// One in-flight inference: its arena memory, the tensor views of every node into that memory,
// and the team that runs the plan, all built once and reused, so a warm run allocates nothing.
struct cpu_executor::context {
    aligned_buffer memory;
    std::vector<cnnkit_tensor> views;  // per node: inputs, then outputs, then weights
    std::vector<std::size_t> first;    // per node: its first view; first[n + 1] ends it
    team crew;
    cnnkit_host host;  // the services, with the team as their context
    run_state* state = nullptr;  // the run in progress
    char start = 0;  // TSan: the caller's writes before the members (handed over by oneTBB)
    // TSan: one sync point per node, released when it ends and acquired by its dependents: the
    // team's atomics order them, but CNNKIT_TSAN leaves atomics uninstrumented (for oneTBB's
    // sake, tests/tsan-ignorelist.txt), so every edge they order is stated.
    std::vector<char> done;
    context(std::size_t bytes, const impl& im, int threads)
        : memory(bytes), crew(im.successors, im.deps, threads), host(services) {
        host.ctx = &crew;
    }
};

cpu_executor::cpu_executor(const graph& g, const plan& p, const weight_store& w, int threads)
    : g_(g), p_(p), w_(w), threads_(threads), impl_(std::make_unique<impl>()) {
    static const bool blas_once = [] {
        openblas_set_num_threads(1);  // parallelism comes from our arena, never from OpenBLAS
        return true;
    }();
    (void)blas_once;
    if (threads_ <= 0) threads_ = oneapi::tbb::info::default_concurrency();
    impl_->arena.initialize(threads_);
    impl_->successors.resize(g.nodes.size());
    for (std::size_t n = 0; n < g.nodes.size(); ++n) {
        impl_->deps.push_back(static_cast<int>(p.deps[n].size()));
        for (int d : p.deps[n]) impl_->successors[d].push_back(static_cast<int>(n));
    }
}

cpu_executor::~cpu_executor() = default;

std::unique_ptr<cpu_executor::context> cpu_executor::acquire() const {
    {
        std::lock_guard lock(pool_mutex_);
        if (!pool_.empty()) {
            auto c = std::move(pool_.back());
            pool_.pop_back();
            return c;
        }
    }
    auto c = std::make_unique<context>(p_.arena_bytes, *impl_, threads_);
    auto* base = static_cast<unsigned char*>(c->memory.data);
    for (const node& nd : g_.nodes) {
        c->first.push_back(c->views.size());
        for (int t : nd.inputs)
            c->views.push_back({g_.tensors[t].shape.raw, base + p_.tensors[t].offset});
        for (int t : nd.outputs)
            c->views.push_back({g_.tensors[t].shape.raw, base + p_.tensors[t].offset});
        for (int id : nd.weights)
            c->views.push_back({g_.weights[id].shape.raw, const_cast<float*>(w_.data[id])});
    }
    c->first.push_back(c->views.size());
    c->done.resize(g_.nodes.size());
    return c;
}

void cpu_executor::release(std::unique_ptr<context> c) const {
    std::lock_guard lock(pool_mutex_);
    pool_.push_back(std::move(c));
}

void cpu_executor::run_node(context& ctx, int n, int member) const {
    for (int d : p_.deps[n]) tsan::acquire(&ctx.done[d]);
    struct on_exit {
        const void* sync;
        ~on_exit() { tsan::release(sync); }
    } finish{&ctx.done[n]};
    run_state& st = *ctx.state;
    if (st.failed.load(std::memory_order_relaxed)) return;
    const node& nd = g_.nodes[n];
    const auto t0 = std::chrono::steady_clock::now();
    cnnkit_tensor* v = ctx.views.data() + ctx.first[n];
    const auto n_in = static_cast<std::uint32_t>(nd.inputs.size());
    const auto n_out = static_cast<std::uint32_t>(nd.outputs.size());
    const auto n_w = static_cast<std::uint32_t>(nd.weights.size());
    auto* base = static_cast<unsigned char*>(ctx.memory.data);
    cnnkit_diag d{};
    const cnnkit_status s =
        nd.type->api->run_cpu(nd.self.get(), &ctx.host, v, n_in, v + n_in + n_out, n_w, v + n_in,
                              n_out, nd.workspace ? base + p_.workspaces[n].offset : nullptr, &d);
    const auto fail = [&](const char* why) {
        std::lock_guard lock(st.failure_mutex);
        if (!st.failed.exchange(true))
            st.failure = cat("node '", nd.name, "' (", nd.type->api->type, "): ", why);
    };
    if (s != CNNKIT_STATUS_OK) fail(d.text[0] ? d.text : "run failed");
    // A throwing timing sink fails the run like a node would: an exception leaving a member's
    // loop would leave the other members spinning for nodes that never come.
    try {
        if (*st.timing) (*st.timing)({n, t0, std::chrono::steady_clock::now(), member});
    } catch (const std::exception& e) {
        fail(cat("timing callback: ", e.what()).c_str());
    } catch (...) {
        fail("timing callback: an exception that is not a std::exception");
    }
}

void cpu_executor::run(std::span<const host_tensor* const> inputs,
                       std::span<host_tensor* const> outputs, const timing_sink& timing) const {
    sdk::expect(inputs.size() == g_.inputs.size(), "network takes ", g_.inputs.size(),
                " inputs, got ", inputs.size());
    sdk::expect(outputs.size() == g_.outputs.size(), "network has ", g_.outputs.size(),
                " outputs, got room for ", outputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const tensor_info& t = g_.tensors[g_.inputs[i]];
        sdk::expect(inputs[i]->shape == t.shape, "input '", t.name, "' has shape ",
                    inputs[i]->shape, ", the network expects ", t.shape);
    }
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        const int t = g_.outputs[i].second;
        sdk::expect(outputs[i]->shape == g_.tensors[t].shape &&
                        outputs[i]->bytes.size() == p_.tensors[t].bytes,
                    "output '", g_.outputs[i].first, "' needs a buffer of shape ",
                    g_.tensors[t].shape, ", got ", outputs[i]->shape);
    }
    auto ctx = acquire();
    auto* base = static_cast<unsigned char*>(ctx->memory.data);
    for (std::size_t i = 0; i < inputs.size(); ++i)
        std::memcpy(base + p_.tensors[g_.inputs[i]].offset, inputs[i]->bytes.data(),
                    inputs[i]->bytes.size());
    run_state st;
    st.timing = &timing;
    ctx->state = &st;
    ctx->crew.reset();
    context* raw = ctx.get();
    // Each member: the context's team loop. oneTBB hands members (and the body below, when it
    // delegates execute() to a worker) to other threads in ways TSan cannot see, hence `start`,
    // released before each hand-off and acquired before anything handed over is read.
    auto member = [this, raw](int me) {
        tsan::acquire(&raw->start);
        raw->crew.work(me, [this, raw](int n, int m) { run_node(*raw, n, m); });
        tsan::release(&raw->start);
    };
    auto body = [&] {
        // The other members are oneTBB tasks: an idle worker of the arena takes each (one that
        // is asleep takes milliseconds to wake; meanwhile the caller runs the nodes alone). One
        // that starts after the run has ended finds it done and returns.
        oneapi::tbb::task_group others;
        tsan::release(&raw->start);
        for (int me = 1; me < raw->crew.size(); ++me) others.run([member, me] { member(me); });
        member(0);
        others.wait();
        tsan::acquire(&raw->start);
    };
    tsan::release(&ctx->start);
    const tsan::handoff<decltype(body)> job{body};
    tsan::release(&job);
    impl_->arena.execute(job);
    tsan::acquire(&job);
    tsan::acquire(&ctx->start);
    ctx->state = nullptr;
    if (!st.failed)
        for (std::size_t i = 0; i < outputs.size(); ++i)
            std::memcpy(outputs[i]->bytes.data(), base + p_.tensors[g_.outputs[i].second].offset,
                        outputs[i]->bytes.size());
    release(std::move(ctx));
    if (st.failed) throw error(st.failure);
}

std::vector<host_tensor> cpu_executor::run(const std::vector<const host_tensor*>& inputs,
                                           const timing_sink& timing) const {
    std::vector<host_tensor> outs(g_.outputs.size());
    std::vector<host_tensor*> slots;
    for (std::size_t i = 0; i < outs.size(); ++i) {
        const int t = g_.outputs[i].second;
        outs[i].shape = g_.tensors[t].shape;
        outs[i].bytes.resize(p_.tensors[t].bytes);
        slots.push_back(&outs[i]);
    }
    run(inputs, slots, timing);
    return outs;
}

}  // namespace cnnkit::kernel
