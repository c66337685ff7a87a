// network.cpp: model loading and execution through the CPU backend.
#include "network.hpp"

namespace cnnkit::kernel {

std::unique_ptr<network> network::load(const registry& reg, const std::filesystem::path& model,
                                       const network_options& opt) {
    const std::string ext = model.extension().string();
    if (ext != ".yaml" && ext != ".yml")
        throw error(cat(model.string(), ": unsupported model format '", ext,
                        "' (expected .yaml)"));
    load_options lo;
    lo.batch = opt.batch;
    return from_graph(load_yaml_file(reg, model, lo), opt);
}

std::unique_ptr<network> network::from_graph(graph g, const network_options& opt) {
    std::unique_ptr<network> n(new network());
    n->g_ = std::move(g);
    std::shared_ptr<safetensors_file> file;
    if (opt.weights) file = safetensors_file::open(*opt.weights);
    n->weights_ = bind_weights(n->g_, file, opt.random_seed);
    n->source_ = n->g_;
    if (opt.fuse) n->fusion_ = fuse_graph(n->g_, n->weights_);
    n->plan_ = make_plan(n->g_, opt.planning);
    n->cpu_ = std::make_unique<cpu_executor>(n->g_, n->plan_, n->weights_, opt.threads);
    return n;
}

std::map<std::string, host_tensor> network::run(const std::map<std::string, host_tensor>& inputs,
                                                const timing_sink& timing) const {
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
    auto outs = cpu_->run(in, timing);
    std::map<std::string, host_tensor> named;
    for (std::size_t i = 0; i < outs.size(); ++i) named[g_.outputs[i].first] = std::move(outs[i]);
    return named;
}

}  // namespace cnnkit::kernel
