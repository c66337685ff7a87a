// network.cpp: model loading and execution through the CPU or Vulkan backend.
#include "network.hpp"

#include "backends/vulkan/context.hpp"
#include "onnx/importer.hpp"

#include <cstddef>
#include <iostream>

namespace cnnkit::kernel {
namespace {

// Hands every layer that asks for it its final weights (after fusion), so it can derive packed
// or transformed data once at load rather than in each run (plugin_abi.h, `prepare`), and the
// load options (`prepare2`, preferred where the plugin has it: precision).
void prepare_layers(const graph& g, const weight_store& w, cnnkit_precision precision) {
    const cnnkit_prepare_options options{sizeof(cnnkit_prepare_options),
                                         static_cast<std::uint32_t>(precision)};
    for (const node& nd : g.nodes) {
        const cnnkit_layer_api& api = *nd.type->api;
        const auto has = [&](std::size_t end) { return api.struct_size >= end; };
        const bool two = has(offsetof(cnnkit_layer_api, prepare2) + sizeof api.prepare2) &&
                         api.prepare2;
        const bool one = has(offsetof(cnnkit_layer_api, prepare) + sizeof api.prepare) &&
                         api.prepare;
        if (!two && !one) continue;
        std::vector<cnnkit_shape> in;
        for (int t : nd.inputs) in.push_back(g.tensors[t].shape.raw);
        std::vector<cnnkit_tensor> ws;
        for (int id : nd.weights)
            ws.push_back({g.weights[id].shape.raw, const_cast<float*>(w.data[id])});
        cnnkit_diag d{};
        try {
            const auto n_in = static_cast<std::uint32_t>(in.size());
            const auto n_w = static_cast<std::uint32_t>(ws.size());
            check_status(two ? api.prepare2(nd.self.get(), in.data(), n_in, ws.data(), n_w,
                                            &options, &d)
                             : api.prepare(nd.self.get(), in.data(), n_in, ws.data(), n_w, &d),
                         d, *nd.type, "prepare");
        } catch (const std::exception&) {
            std::throw_with_nested(error(cat("layer '", nd.name, "' (", api.type, ")")));
        }
    }
}

}  // namespace

cnnkit_precision precision_named(const std::string& name) {
    if (name == "fp32") return CNNKIT_PRECISION_F32;
    if (name == "bf16") return CNNKIT_PRECISION_BF16;
    throw error(cat("--precision ", name, ": expected fp32 or bf16"));
}

std::unique_ptr<network> network::load(const registry& reg, const std::filesystem::path& model,
                                       const network_options& opt) {
    const std::string ext = model.extension().string();
    load_options lo;
    lo.batch = opt.batch;
    if (ext == ".onnx") {
        if (opt.weights)
            throw error(cat(model.string(), ": an ONNX model carries its weights; --weights is "
                            "for YAML networks (or use `cnnkit import` first)"));
        // The same YAML text `cnnkit import` writes, so both paths load identically.
        onnx_import im = import_onnx(reg, model, opt.batch);
        const std::string name = model.string() + " (imported)";
        graph g = load_yaml_text(reg, im.yaml, name, lo);
        return build(std::move(g), safetensors_file::from_bytes(safetensors_bytes(im.weights), name),
                     opt);
    }
    if (ext != ".yaml" && ext != ".yml")
        throw error(cat(model.string(), ": unsupported model format '", ext,
                        "' (expected .yaml or .onnx)"));
    return from_graph(load_yaml_file(reg, model, lo), opt);
}

std::unique_ptr<network> network::from_graph(graph g, const network_options& opt) {
    std::shared_ptr<safetensors_file> file;
    if (opt.weights) file = safetensors_file::open(*opt.weights);
    return build(std::move(g), std::move(file), opt);
}

std::unique_ptr<network> network::build(graph g, std::shared_ptr<safetensors_file> file,
                                        const network_options& opt) {
    std::unique_ptr<network> n(new network());
    n->g_ = std::move(g);
    n->weights_ = bind_weights(n->g_, file, opt.random_seed);
    n->source_ = n->g_;
    if (opt.fuse) n->fusion_ = fuse_graph(n->g_, n->weights_);
    if (opt.precision == CNNKIT_PRECISION_BF16 && opt.backend != "cpu")
        throw error(cat("--precision bf16 runs on the CPU backend only (got --backend ",
                        opt.backend, "; the Vulkan backend's reduced precision is --fp16)"));
    prepare_layers(n->g_, n->weights_, opt.precision);
    plan_options cpu_planning = opt.planning, gpu_planning = opt.planning;
    // One thread runs nodes in turn: the smaller arena of reuse across branches costs nothing.
    if (opt.threads == 1) cpu_planning.parallel_branches = false;
    gpu_planning.concat_in_place = false;  // the Vulkan executor binds every tensor on its own
    n->plan_ = make_plan(n->g_, opt.backend == "cpu" ? cpu_planning : gpu_planning);
    if (opt.backend != "cpu" && opt.backend != "vulkan" && opt.backend != "auto")
        throw error(cat("unknown backend '", opt.backend, "' (expected cpu, vulkan or auto)"));
    if (opt.backend != "cpu") {
        try {
            n->vk_ = std::make_unique<vulkan_executor>(n->g_, n->plan_, n->weights_, opt.device,
                                                          opt.fp16);
        } catch (const std::exception& e) {
            if (opt.backend == "vulkan") throw;
            std::cerr << "warning: Vulkan unavailable, running on the CPU: " << e.what() << '\n';
        }
    }
    n->threads_ = opt.threads;
    n->auto_backend_ = opt.backend == "auto";
    if (!n->vk_ && opt.backend != "cpu") n->plan_ = make_plan(n->g_, cpu_planning);
    if (!n->vk_)
        n->cpu_ = std::make_unique<cpu_executor>(n->g_, n->plan_, n->weights_, opt.threads);
    return n;
}

std::map<std::string, host_tensor> network::run(const std::map<std::string, host_tensor>& inputs,
                                                const timing_sink& timing,
                                                const gpu_timing_sink& gpu) const {
    std::vector<const host_tensor*> in;
    for (int t : g_.inputs) {
        const auto it = inputs.find(g_.tensors[t].name);
        if (it == inputs.end()) throw error(cat("no value given for input '", g_.tensors[t].name,
                                                "' ", g_.tensors[t].shape));
        in.push_back(&it->second);
    }
    for (const auto& [name, _] : inputs) {
        bool known = false;
        for (int t : g_.inputs) known |= g_.tensors[t].name == name;
        if (!known) throw error(cat("the network has no input named '", name, "'"));
    }
    std::vector<host_tensor> outs;
    bool done = false;
    if (vk_ && !vk_failed_) {
        try {
            outs = vk_->run(in, timing, gpu);
            done = true;
        } catch (const vk::vk_error& e) {  // a GPU fault (lost device, out of memory)
            if (!auto_backend_) throw;
            if (!vk_failed_.exchange(true))
                std::cerr << "warning: Vulkan failed, running on the CPU from now on: " << e.what()
                          << '\n';
        }
    }
    if (!done) {
        std::call_once(cpu_once_, [&] {
            if (!cpu_) cpu_ = std::make_unique<cpu_executor>(g_, plan_, weights_, threads_);
        });
        outs = cpu_->run(in, timing);
    }
    std::map<std::string, host_tensor> named;
    for (std::size_t i = 0; i < outs.size(); ++i) named[g_.outputs[i].first] = std::move(outs[i]);
    return named;
}

}  // namespace cnnkit::kernel

namespace cnnkit::kernel {

std::string network::explain() const {
    if (vk_) return vk_->explain();
    return cat("backend: cpu (", cpu_->threads(), " threads): every node runs on the CPU\n");
}

}  // namespace cnnkit::kernel
