// executor.cpp: placement, recording and replay of a plan on one Vulkan device.
#include "backends/vulkan/executor.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "backends/vulkan/context.hpp"
#include "backends/vulkan/pipelines.hpp"
#include "backends/vulkan/spirv16.hpp"

namespace cnnkit::kernel {
using namespace vk;

namespace {

struct placed {
    bool gpu = false;
    std::string why;  // the reason a node runs on the CPU
    std::vector<cnnkit_gpu_dispatch> dispatches;
    std::vector<VkDescriptorSet> sets;
};

// A run of consecutive GPU nodes (one command buffer), or one CPU node.
struct step {
    bool gpu = false;
    std::vector<int> nodes;
    std::vector<int> uploads, downloads;  // tensor ids copied in before / out after
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    int barriers = 0;
    std::uint32_t query = 0;  // the first of its timestamp queries (profiled runs)
};

// A step's timestamps: before and after its uploads, around each node, around its downloads.
std::uint32_t timestamps(const step& s) { return 4 + 2 * static_cast<std::uint32_t>(s.nodes.size()); }
constexpr std::uint32_t untimed = ~0u;

std::string bytes_text(std::uint64_t b) {
    std::ostringstream os;
    if (b >= (1u << 20))
        os << b / (1 << 20) << " MiB";
    else if (b >= 1024)
        os << b / 1024 << " KiB";
    else
        os << b << " B";
    return os.str();
}

// Asks the node's plugin for its Vulkan dispatches; no kernel means the CPU, with the reason.
placed place(const graph& g, const node& nd) {
    placed p;
    const cnnkit_layer_api& api = *nd.type->api;
    const bool has =
        api.struct_size >= offsetof(cnnkit_layer_api, vulkan) + sizeof(api.vulkan) && api.vulkan;
    if (!has) {
        p.why = cat("no Vulkan kernel in ", nd.type->plugin_path);
        return p;
    }
    std::vector<cnnkit_shape> in, out;
    for (int t : nd.inputs) in.push_back(g.tensors[t].shape.raw);
    for (int t : nd.outputs) out.push_back(g.tensors[t].shape.raw);
    std::vector<cnnkit_gpu_dispatch> ds(256);
    std::uint32_t n = 0;
    cnnkit_diag d{};
    const cnnkit_status s =
        api.vulkan(nd.self.get(), in.data(), static_cast<std::uint32_t>(in.size()), out.data(),
                   static_cast<std::uint32_t>(out.size()), ds.data(),
                   static_cast<std::uint32_t>(ds.size()), &n, &d);
    if (s == CNNKIT_STATUS_UNSUPPORTED) {
        p.why = cat("the Vulkan kernel does not support this configuration: ", d.text);
        return p;
    }
    check_status(s, d, *nd.type, "vulkan");
    ds.resize(n);
    for (const auto& x : ds) {
        sdk::expect(x.struct_size == sizeof(cnnkit_gpu_dispatch) && x.spirv && x.spirv_words &&
                        x.binding_count <= CNNKIT_GPU_MAX_BINDINGS &&
                        x.spec_count <= CNNKIT_GPU_MAX_SPEC && x.push_bytes <= CNNKIT_GPU_MAX_PUSH,
                    "plugin ", nd.type->plugin_path, " describes a malformed Vulkan dispatch");
        for (std::uint32_t b = 0; b < x.binding_count; ++b) {
            const auto& r = x.bindings[b];
            const std::size_t lim = r.ref == CNNKIT_GPU_INPUT    ? nd.inputs.size()
                                    : r.ref == CNNKIT_GPU_OUTPUT ? nd.outputs.size()
                                    : r.ref == CNNKIT_GPU_WEIGHT ? nd.weights.size()
                                                                 : 0;
            sdk::expect(r.index < lim, "plugin ", nd.type->plugin_path, ": shader '", x.name,
                        "' binds a tensor the node does not have");
        }
    }
    p.gpu = true;
    p.dispatches = std::move(ds);
    return p;
}

// A binding larger than the device's maxStorageBufferRange cannot be bound: the node stays on
// the CPU (lavapipe allows 128 MiB; AlexNet's fc6 weight is 144 MiB).
void check_ranges(const graph& g, const node& nd, std::uint64_t limit, placed& p) {
    for (const auto& d : p.dispatches)
        for (std::uint32_t b = 0; b < d.binding_count; ++b) {
            const auto& r = d.bindings[b];
            const std::uint64_t bytes =
                r.ref == CNNKIT_GPU_WEIGHT
                    ? static_cast<std::uint64_t>(g.weights[nd.weights[r.index]].shape.numel()) * 4
                    : static_cast<std::uint64_t>(
                          g.tensors[r.ref == CNNKIT_GPU_INPUT ? nd.inputs[r.index]
                                                              : nd.outputs[r.index]]
                              .shape.numel()) *
                          element_size(g.tensors[r.ref == CNNKIT_GPU_INPUT ? nd.inputs[r.index]
                                                                           : nd.outputs[r.index]]
                                           .shape.type());
            if (bytes > limit) {
                p = placed{false,
                           cat("shader '", d.name, "' would bind ", bytes_text(bytes),
                               ", over the device's maxStorageBufferRange of ", bytes_text(limit))};
                return;
            }
        }
}

}  // namespace

struct vulkan_executor::impl {
    const graph& g;
    const plan& p;
    const weight_store& w;
    const bool fp16;
    std::shared_ptr<context> ctx;
    buffer arena, staging, weights;
    buffer staging16;  // fp16: the float tensors' halves, at the same offsets as in `staging`
    std::map<std::pair<const std::uint32_t*, std::uint32_t>, std::vector<std::uint32_t>> spirv16;
    std::vector<std::uint64_t> weight_offset;
    std::vector<placed> nodes;
    std::vector<step> steps;
    std::unique_ptr<pipeline_set> pipes;
    VkCommandPool pool = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    mutable std::mutex run_mutex;
    // Profiled runs: command buffers with timestamp queries, recorded on first use.
    mutable VkQueryPool queries = VK_NULL_HANDLE;
    mutable std::vector<VkCommandBuffer> timed;  // per step (null for CPU steps)

    impl(const graph& g_, const plan& p_, const weight_store& w_, bool fp16_)
        : g(g_), p(p_), w(w_), fp16(fp16_) {}
    ~impl() {
        if (!ctx) return;
        const auto& fn = ctx->fn();
        fn.vkDeviceWaitIdle(ctx->device());
        if (fence) fn.vkDestroyFence(ctx->device(), fence, nullptr);
        if (queries) fn.vkDestroyQueryPool(ctx->device(), queries, nullptr);
        if (pool) fn.vkDestroyCommandPool(ctx->device(), pool, nullptr);
    }

    void make_steps();
    void narrow(int n);
    // Stored as float16 on the device (fp16 and a float tensor).
    bool half(int t) const { return fp16 && g.tensors[t].shape.type() == sdk::dtype::f32; }
    std::uint64_t device_bytes(int t) const { return half(t) ? p.tensors[t].bytes / 2 : p.tensors[t].bytes; }
    std::uint64_t weight_bytes(int id) const {
        return static_cast<std::uint64_t>(g.weights[id].shape.numel()) * (fp16 ? 2 : 4);
    }
    void stage_in(const step& s) const;
    void stage_out(const step& s) const;
    void upload_weights();
    void bind();
    VkCommandBuffer record(const step& s, int* barriers, std::uint32_t query) const;
    void submit(VkCommandBuffer cmd) const;
    void run_cpu_node(int n) const;
    VkCommandBuffer one_shot() const;
    void record_timed() const;
    void report_gpu(const step& s, std::chrono::steady_clock::time_point submitted,
                    std::chrono::steady_clock::time_point done, const gpu_timing_sink& sink) const;
};

// Splits the nodes into GPU runs and CPU nodes, and decides every transfer: a tensor is uploaded
// before the first GPU run that reads it while it lives only on the host, and downloaded after
// the last GPU run before a CPU node (or the end) that needs it.
void vulkan_executor::impl::make_steps() {
    std::vector<char> on_host(g.tensors.size(), 0), on_dev(g.tensors.size(), 0);
    for (int t : g.inputs) on_host[t] = 1;
    int last_gpu = -1;
    auto need_on_host = [&](int t) {
        if (on_host[t]) return;
        sdk::expect(last_gpu >= 0, "internal: tensor '", g.tensors[t].name, "' is nowhere");
        steps[last_gpu].downloads.push_back(t);
        on_host[t] = 1;
    };
    for (std::size_t n = 0; n < g.nodes.size(); ++n) {
        const node& nd = g.nodes[n];
        if (nodes[n].gpu) {
            if (steps.empty() || !steps.back().gpu) {
                steps.push_back({true});
                last_gpu = static_cast<int>(steps.size()) - 1;
            }
            for (int t : nd.inputs)
                if (!on_dev[t]) {
                    steps.back().uploads.push_back(t);
                    on_dev[t] = 1;
                }
            steps.back().nodes.push_back(static_cast<int>(n));
            for (int t : nd.outputs) on_dev[t] = 1, on_host[t] = 0;
        } else {
            for (int t : nd.inputs) need_on_host(t);
            steps.push_back({false, {static_cast<int>(n)}});
            for (int t : nd.outputs) on_host[t] = 1, on_dev[t] = 0;
        }
    }
    for (const auto& [_, t] : g.outputs) need_on_host(t);
}

VkCommandBuffer vulkan_executor::impl::one_shot() const {
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    VkCommandBuffer cb = VK_NULL_HANDLE;
    check(ctx->fn().vkAllocateCommandBuffers(ctx->device(), &ai, &cb), "vkAllocateCommandBuffers");
    return cb;
}

void vulkan_executor::impl::upload_weights() {
    const std::uint64_t align =
        std::max<std::uint64_t>(64, ctx->properties().limits.minStorageBufferOffsetAlignment);
    std::uint64_t total = 0;
    for (const auto& wi : g.weights) {
        weight_offset.push_back(total);
        total += (static_cast<std::uint64_t>(wi.shape.numel()) * (fp16 ? 2 : 4) + align - 1) /
                 align * align;
    }
    weights = buffer(*ctx, total, false, "weights buffer");
    if (total == 0) return;
    buffer stage(*ctx, total, true, "weights staging buffer");
    for (std::size_t i = 0; i < g.weights.size(); ++i) {
        char* to = static_cast<char*>(stage.mapped) + weight_offset[i];
        const auto n = static_cast<std::size_t>(g.weights[i].shape.numel());
        if (fp16)
            for (std::size_t k = 0; k < n; ++k)
                reinterpret_cast<std::uint16_t*>(to)[k] = to_half(w.data[i][k]);
        else
            std::memcpy(to, w.data[i], n * 4);
    }
    const VkCommandBuffer cmd = one_shot();
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
    check(ctx->fn().vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
    VkBufferCopy region{0, 0, total};
    ctx->fn().vkCmdCopyBuffer(cmd, stage.handle, weights.handle, 1, &region);
    check(ctx->fn().vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    submit(cmd);  // waits, so the staging buffer may go
}

// One descriptor set per dispatch, pointing at the arena slots and weights it binds.
void vulkan_executor::impl::bind() {
    std::vector<std::uint32_t> counts;
    for (const auto& pn : nodes)
        for (const auto& d : pn.dispatches) counts.push_back(d.binding_count);
    const auto sets = pipes->allocate(counts);
    std::size_t k = 0;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        const node& nd = g.nodes[n];
        for (const auto& d : nodes[n].dispatches) {
            nodes[n].sets.push_back(sets[k++]);
            pipes->pipeline(d);
            for (std::uint32_t b = 0; b < d.binding_count; ++b) {
                const auto& r = d.bindings[b];
                if (r.ref == CNNKIT_GPU_WEIGHT) {
                    const int id = nd.weights[r.index];
                    pipes->write(nodes[n].sets.back(), b, weights.handle, weight_offset[id],
                                 weight_bytes(id));
                } else {
                    const int t =
                        r.ref == CNNKIT_GPU_INPUT ? nd.inputs[r.index] : nd.outputs[r.index];
                    pipes->write(nodes[n].sets.back(), b, arena.handle, p.tensors[t].offset,
                                 device_bytes(t));
                }
            }
        }
    }
}

namespace {
void barrier(const functions& fn, VkCommandBuffer cb, VkPipelineStageFlags src,
             VkAccessFlags src_access, VkPipelineStageFlags dst, VkAccessFlags dst_access) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = src_access;
    mb.dstAccessMask = dst_access;
    fn.vkCmdPipelineBarrier(cb, src, dst, 0, 1, &mb, 0, nullptr, 0, nullptr);
}
constexpr VkPipelineStageFlags compute = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT;
constexpr VkPipelineStageFlags transfer = VK_PIPELINE_STAGE_TRANSFER_BIT;
constexpr VkAccessFlags shader_rw = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
}  // namespace

// Records a GPU step; with query != untimed, also timestamps from that query on (timestamps(s)
// of them), reset at the start of the buffer.
VkCommandBuffer vulkan_executor::impl::record(const step& s, int* barriers,
                                             std::uint32_t query) const {
    const auto& fn = ctx->fn();
    const VkCommandBuffer cmd = one_shot();
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    check(fn.vkBeginCommandBuffer(cmd, &bi), "vkBeginCommandBuffer");
    const bool timed = query != untimed;
    if (timed) fn.vkCmdResetQueryPool(cmd, queries, query, timestamps(s));
    auto stamp = [&](VkPipelineStageFlagBits stage) {
        if (timed) fn.vkCmdWriteTimestamp(cmd, stage, queries, query++);
    };
    int count = 0;
    // Work of earlier submissions (an earlier run, or CPU steps' uploads) is visible first.
    barrier(fn, cmd, compute | transfer,
            VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, compute | transfer,
            shader_rw | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT);
    stamp(VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT);
    // Copies between a staging mirror and the arena: float tensors through staging16 (fp16).
    auto copy = [&](const std::vector<int>& tensors, bool up) {
        for (const bool halves : {false, true}) {
            std::vector<VkBufferCopy> copies;
            for (int t : tensors)
                if (half(t) == halves)
                    copies.push_back({p.tensors[t].offset, p.tensors[t].offset, device_bytes(t)});
            const VkBuffer host = halves ? staging16.handle : staging.handle;
            if (!copies.empty())
                fn.vkCmdCopyBuffer(cmd, up ? host : arena.handle, up ? arena.handle : host,
                                   static_cast<std::uint32_t>(copies.size()), copies.data());
        }
    };
    copy(s.uploads, true);
    if (!s.uploads.empty())
        barrier(fn, cmd, transfer, VK_ACCESS_TRANSFER_WRITE_BIT, compute, shader_rw);
    stamp(VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
    std::set<int> unflushed;  // GPU nodes recorded since the last barrier
    for (int n : s.nodes) {
        bool wait = false;
        for (int d : p.deps[n]) wait |= unflushed.count(d) > 0;
        if (wait) {
            barrier(fn, cmd, compute, VK_ACCESS_SHADER_WRITE_BIT, compute, shader_rw);
            ++count;
            unflushed.clear();
        }
        const placed& pn = nodes[n];
        stamp(VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT);
        for (std::size_t k = 0; k < pn.dispatches.size(); ++k) {
            const auto& d = pn.dispatches[k];
            if (k > 0) {  // a node's dispatches run in order
                barrier(fn, cmd, compute, VK_ACCESS_SHADER_WRITE_BIT, compute, shader_rw);
                ++count;
            }
            const VkPipelineLayout layout = pipes->layout(d.binding_count);
            fn.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipes->pipeline(d));
            fn.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1,
                                       &pn.sets[k], 0, nullptr);
            if (d.push_bytes)
                fn.vkCmdPushConstants(cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                      (d.push_bytes + 3) / 4 * 4, d.push);
            fn.vkCmdDispatch(cmd, d.groups[0], d.groups[1], d.groups[2]);
        }
        stamp(VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
        unflushed.insert(n);
    }
    stamp(VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT);
    if (!s.downloads.empty()) {
        barrier(fn, cmd, compute, VK_ACCESS_SHADER_WRITE_BIT, transfer,
                VK_ACCESS_TRANSFER_READ_BIT);
        copy(s.downloads, false);
        barrier(fn, cmd, transfer, VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT,
                VK_ACCESS_HOST_READ_BIT);
    }
    stamp(VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
    check(fn.vkEndCommandBuffer(cmd), "vkEndCommandBuffer");
    if (barriers) *barriers = count;
    return cmd;
}

// The timed twin of every GPU step, and the query pool they write (once per executor).
void vulkan_executor::impl::record_timed() const {
    if (queries) return;
    const auto& pr = ctx->properties();
    if (ctx->timestamp_bits() == 0)
        throw error(cat("Vulkan device '", pr.deviceName,
                        "' cannot write timestamps on its compute queue (timestampValidBits is "
                        "0): GPU nodes cannot be profiled"));
    std::uint32_t total = 0;
    for (const step& s : steps)
        if (s.gpu) total += timestamps(s);
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = std::max(total, 1u);
    check(ctx->fn().vkCreateQueryPool(ctx->device(), &qi, nullptr, &queries), "vkCreateQueryPool");
    for (const step& s : steps) timed.push_back(s.gpu ? record(s, nullptr, s.query) : nullptr);
}

// Reads back a timed step's timestamps and reports its spans, mapped onto the host clock: the
// command buffer's first timestamp at `submitted`, squeezed (never stretched) to end by `done`.
void vulkan_executor::impl::report_gpu(const step& s, std::chrono::steady_clock::time_point submitted,
                                       std::chrono::steady_clock::time_point done,
                                       const gpu_timing_sink& sink) const {
    const std::uint32_t n = timestamps(s);
    std::vector<std::uint64_t> t(n);
    check(ctx->fn().vkGetQueryPoolResults(ctx->device(), queries, s.query, n,
                                          n * sizeof(std::uint64_t), t.data(),
                                          sizeof(std::uint64_t),
                                          VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
          "vkGetQueryPoolResults", "reading GPU timestamps");
    const std::uint32_t bits = ctx->timestamp_bits();
    const std::uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    const double period = ctx->properties().limits.timestampPeriod;  // ns per tick
    auto ns = [&](std::uint32_t i) {  // since the first timestamp, wrap-around safe
        return static_cast<double>((t[i] - t[0]) & mask) * period;
    };
    const double wall = std::chrono::duration<double, std::nano>(done - submitted).count();
    const double scale = ns(n - 1) > wall && ns(n - 1) > 0 ? wall / ns(n - 1) : 1.0;
    auto host = [&](double x) {
        return submitted + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double, std::nano>(x * scale));
    };
    double prev = 0;  // where the previous span ended: overlapping nodes are laid end to end
    auto span = [&](int node, const char* what, std::uint32_t a, std::uint32_t b) {
        const double start = std::max(ns(a), prev), end = std::max(ns(b), start);
        prev = end;
        sink({node, what, host(start), host(end)});
    };
    if (!s.uploads.empty()) span(-1, "upload", 0, 1);
    for (std::size_t i = 0; i < s.nodes.size(); ++i)
        span(s.nodes[i], "node", static_cast<std::uint32_t>(2 + 2 * i),
             static_cast<std::uint32_t>(3 + 2 * i));
    if (!s.downloads.empty()) span(-1, "download", n - 2, n - 1);
}


// fp16: a step's float uploads are converted to halves before it runs, its float downloads back
// to floats after (the CPU side, inputs and outputs stay fp32 in `staging`).
void vulkan_executor::impl::stage_in(const step& s) const {
    for (int t : s.uploads)
        if (half(t)) {
            const auto* from = reinterpret_cast<const float*>(static_cast<const char*>(staging.mapped) +
                                                              p.tensors[t].offset);
            auto* to = reinterpret_cast<std::uint16_t*>(static_cast<char*>(staging16.mapped) +
                                                        p.tensors[t].offset);
            for (std::int64_t i = 0, n = g.tensors[t].shape.numel(); i < n; ++i) to[i] = to_half(from[i]);
        }
}

void vulkan_executor::impl::stage_out(const step& s) const {
    for (int t : s.downloads)
        if (half(t)) {
            const auto* from = reinterpret_cast<const std::uint16_t*>(
                static_cast<const char*>(staging16.mapped) + p.tensors[t].offset);
            auto* to = reinterpret_cast<float*>(static_cast<char*>(staging.mapped) + p.tensors[t].offset);
            for (std::int64_t i = 0, n = g.tensors[t].shape.numel(); i < n; ++i) to[i] = from_half(from[i]);
        }
}

// fp16: the node's shaders with the buffers of its float tensors and weights narrowed to 16 bits
// (one rewrite per shader and binding set); a shader the rewrite cannot handle keeps the node on
// the CPU.
void vulkan_executor::impl::narrow(int n) {
    placed& pn = nodes[n];
    const node& nd = g.nodes[n];
    for (auto& d : pn.dispatches) {
        std::uint32_t mask = 0;
        for (std::uint32_t b = 0; b < d.binding_count; ++b) {
            const auto& r = d.bindings[b];
            if (r.ref == CNNKIT_GPU_WEIGHT ||
                half(r.ref == CNNKIT_GPU_INPUT ? nd.inputs[r.index] : nd.outputs[r.index]))
                mask |= 1u << b;
        }
        auto it = spirv16.find({d.spirv, mask});
        if (it == spirv16.end()) {
            try {
                it = spirv16
                         .emplace(std::pair{d.spirv, mask},
                                  narrow_storage({d.spirv, d.spirv_words}, mask))
                         .first;
            } catch (const std::exception& e) {
                pn = placed{false, cat("shader '", d.name, "' cannot use fp16 storage: ", e.what())};
                return;
            }
        }
        d.spirv = it->second.data();
        d.spirv_words = static_cast<std::uint32_t>(it->second.size());
    }
}

void vulkan_executor::impl::submit(VkCommandBuffer cmd) const {
    const auto& fn = ctx->fn();
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    {
        std::lock_guard lock(ctx->queue_mutex());
        check(fn.vkResetFences(ctx->device(), 1, &fence), "vkResetFences");
        check(fn.vkQueueSubmit(ctx->queue(), 1, &si, fence), "vkQueueSubmit");
    }
    check(fn.vkWaitForFences(ctx->device(), 1, &fence, VK_TRUE, UINT64_MAX), "vkWaitForFences",
          "waiting for the GPU");
}

void vulkan_executor::impl::run_cpu_node(int n) const {
    const node& nd = g.nodes[n];
    auto* base = static_cast<unsigned char*>(staging.mapped);
    std::vector<cnnkit_tensor> in, out, wt;
    for (int t : nd.inputs) in.push_back({g.tensors[t].shape.raw, base + p.tensors[t].offset});
    for (int t : nd.outputs) out.push_back({g.tensors[t].shape.raw, base + p.tensors[t].offset});
    for (int id : nd.weights)
        wt.push_back({g.weights[id].shape.raw, const_cast<float*>(w.data[id])});
    cnnkit_diag d{};
    const cnnkit_status s = nd.type->api->run_cpu(
        nd.self.get(), &cpu_host_services(), in.data(), static_cast<std::uint32_t>(in.size()),
        wt.data(), static_cast<std::uint32_t>(wt.size()), out.data(),
        static_cast<std::uint32_t>(out.size()),
        nd.workspace ? base + p.workspaces[n].offset : nullptr, &d);
    if (s != CNNKIT_STATUS_OK)
        throw error(cat("node '", nd.name, "' (", nd.type->api->type,
                        "): ", d.text[0] ? d.text : "run failed"));
}

vulkan_executor::vulkan_executor(const graph& g, const plan& p, const weight_store& w, int device,
                                 bool fp16)
    : impl_(std::make_unique<impl>(g, p, w, fp16)) {
    impl& m = *impl_;
    m.ctx = context::get(device);
    if (fp16 && !m.ctx->storage16())
        throw error(cat("--fp16: Vulkan device '", m.ctx->properties().deviceName,
                        "' has no 16-bit storage buffers (storageBuffer16BitAccess); run without "
                        "--fp16"));
    const auto align = m.ctx->properties().limits.minStorageBufferOffsetAlignment;
    if (64 % align != 0)
        throw error(cat("Vulkan device '", m.ctx->properties().deviceName,
                        "' needs storage buffers aligned to ", align,
                        " bytes; the memory planner aligns to 64"));
    for (const node& nd : g.nodes) {
        try {
            m.nodes.push_back(place(g, nd));
            check_ranges(g, nd, m.ctx->properties().limits.maxStorageBufferRange, m.nodes.back());
            if (fp16 && m.nodes.back().gpu) m.narrow(static_cast<int>(m.nodes.size()) - 1);
        } catch (const std::exception&) {
            std::throw_with_nested(error(cat("node '", nd.name, "' (", nd.type->api->type, ")")));
        }
    }
    m.make_steps();
    const auto& fn = m.ctx->fn();
    VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pi.queueFamilyIndex = m.ctx->queue_family();
    check(fn.vkCreateCommandPool(m.ctx->device(), &pi, nullptr, &m.pool), "vkCreateCommandPool");
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(fn.vkCreateFence(m.ctx->device(), &fi, nullptr, &m.fence), "vkCreateFence");
    m.arena = buffer(*m.ctx, p.arena_bytes, false, "activation arena");
    m.staging = buffer(*m.ctx, p.arena_bytes, true, "staging buffer");
    if (fp16) m.staging16 = buffer(*m.ctx, p.arena_bytes, true, "fp16 staging buffer");
    m.upload_weights();
    m.pipes = std::make_unique<pipeline_set>(*m.ctx);
    m.bind();
    std::uint32_t query = 0;
    for (auto& s : m.steps)
        if (s.gpu) {
            s.cmd = m.record(s, &s.barriers, untimed);
            s.query = query;
            query += timestamps(s);
        }
    m.ctx->save_pipeline_cache();
}

vulkan_executor::~vulkan_executor() = default;

int vulkan_executor::gpu_nodes() const {
    return static_cast<int>(std::count_if(impl_->nodes.begin(), impl_->nodes.end(),
                                          [](const placed& x) { return x.gpu; }));
}

std::vector<host_tensor> vulkan_executor::run(const std::vector<const host_tensor*>& inputs,
                                              const timing_sink& cpu,
                                              const gpu_timing_sink& gpu) const {
    const impl& m = *impl_;
    sdk::expect(inputs.size() == m.g.inputs.size(), "network takes ", m.g.inputs.size(),
                " inputs, got ", inputs.size());
    std::lock_guard lock(m.run_mutex);  // one staging mirror: inferences take turns
    auto* base = static_cast<unsigned char*>(m.staging.mapped);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const tensor_info& t = m.g.tensors[m.g.inputs[i]];
        sdk::expect(inputs[i]->shape == t.shape, "input '", t.name, "' has shape ",
                    inputs[i]->shape, ", the network expects ", t.shape);
        std::memcpy(base + m.p.tensors[m.g.inputs[i]].offset, inputs[i]->bytes.data(),
                    inputs[i]->bytes.size());
    }
    const bool profiled = cpu || gpu;
    if (profiled) m.record_timed();
    const auto before = context::validation_messages();
    for (std::size_t i = 0; i < m.steps.size(); ++i) {
        const step& s = m.steps[i];
        if (s.gpu) m.stage_in(s);
        const auto t0 = std::chrono::steady_clock::now();
        if (s.gpu)
            m.submit(profiled ? m.timed[i] : s.cmd);
        else
            m.run_cpu_node(s.nodes[0]);
        const auto t1 = std::chrono::steady_clock::now();
        if (s.gpu) m.stage_out(s);
        if (s.gpu && gpu)
            m.report_gpu(s, t0, t1, gpu);
        else if (!s.gpu && cpu)
            cpu({s.nodes[0], t0, t1, 0});
    }
    if (context::validation_messages() != before)
        throw error(cat("the Vulkan validation layer reported ",
                        context::validation_messages() - before, " message(s) (see above)"));
    std::vector<host_tensor> outs;
    for (const auto& [name, t] : m.g.outputs) {
        host_tensor o;
        o.shape = m.g.tensors[t].shape;
        o.bytes.resize(m.p.tensors[t].bytes);
        std::memcpy(o.bytes.data(), base + m.p.tensors[t].offset, o.bytes.size());
        outs.push_back(std::move(o));
    }
    return outs;
}

std::string vulkan_executor::explain() const {
    const impl& m = *impl_;
    std::ostringstream os;
    const auto& pr = m.ctx->properties();
    os << "backend: vulkan on '" << pr.deviceName << "' (" << type_name(pr.deviceType) << ")\n";
    auto tensor = [&](int t) {
        return cat("'", m.g.tensors[t].name, "' ", m.g.tensors[t].shape, " (",
                   bytes_text(m.p.tensors[t].bytes), ")");
    };
    int cmds = 0, barriers = 0, dispatches = 0;
    for (const step& s : m.steps) {
        for (int t : s.uploads) os << "  transfer: upload " << tensor(t) << " host -> GPU\n";
        for (int n : s.nodes) {
            const node& nd = m.g.nodes[n];
            os << "  " << nd.name << " (" << nd.type->api->type << "): ";
            if (s.gpu) {
                os << "GPU:";
                for (const auto& d : m.nodes[n].dispatches) os << ' ' << d.name;
                dispatches += static_cast<int>(m.nodes[n].dispatches.size());
            } else {
                os << "CPU, because " << m.nodes[n].why;
            }
            os << '\n';
        }
        for (int t : s.downloads) os << "  transfer: download " << tensor(t) << " GPU -> host\n";
        cmds += s.gpu;
        barriers += s.barriers;
    }
    os << "recorded: " << cmds << " command buffer(s), " << dispatches << " dispatches, "
       << barriers << " barriers between dispatches\n";
    os << "device memory: arena " << bytes_text(m.p.arena_bytes) << ", weights "
       << bytes_text(m.weights.bytes) << "; host staging " << bytes_text(m.staging.bytes)
       << (m.fp16 ? "; fp16 storage (float tensors and weights as float16, fp32 arithmetic)" : "")
       << '\n';
    return os.str();
}

}  // namespace cnnkit::kernel
