// commands.cpp: run, layers and check.
#include "commands.hpp"

#include "args.hpp"
#include "graph/params.hpp"
#include "network.hpp"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace cnnkit::host {
namespace fs = std::filesystem;
using namespace cnnkit::kernel;

namespace {

const std::set<std::string> common_valued = {"plugins", "weights", "random-weights", "threads",
                                             "batch", "backend"};

// Loads every plugin folder on the search path; load problems are warnings, not failures.
std::unique_ptr<registry> load_plugins(const args& a) {
    auto reg = std::make_unique<registry>();
    std::vector<fs::path> extra;
    for (const auto& d : a.all("plugins")) extra.emplace_back(d);
    for (const auto& dir : registry::search_path(extra)) reg->load_dir(dir);
    for (const auto& p : reg->problems()) std::cerr << "warning: " << p << '\n';
    return reg;
}

network_options net_options(const args& a) {
    network_options o;
    if (auto w = a.get("weights")) o.weights = fs::path(*w);
    if (a.has("random-weights"))
        o.random_seed = static_cast<std::uint64_t>(a.get_int("random-weights", 0, 0, 1ll << 62));
    if (a.has("batch")) o.batch = a.get_int("batch", 1, 1, 1 << 20);
    o.threads = static_cast<int>(a.get_int("threads", 0, 0, 1024));
    if (auto b = a.get("backend"); b && *b != "cpu")
        throw error(cat("--backend ", *b, ": only the cpu backend is built in this version"));
    return o;
}

std::string shape_text(const sdk::shape& s) {
    std::string out;
    for (std::uint32_t i = 0; i < s.rank(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
    return out;
}

std::string grouped(std::int64_t v) {
    std::string s = std::to_string(v), out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i && (s.size() - i) % 3 == 0) out += ',';
        out += s[i];
    }
    return out;
}

}  // namespace

int cmd_run(int argc, char** argv) {
    const args a(argc, argv, 2, [] {
        auto v = common_valued;
        v.insert({"input", "output-dir"});
        return v;
    }(), {});
    if (a.positional().size() != 1)
        throw error("usage: cnnkit run MODEL --input NAME=FILE.npy --output-dir DIR "
                    "[--weights W.safetensors | --random-weights SEED] [--threads N]");
    const fs::path model = a.positional()[0];
    const auto out_dir = a.get("output-dir");
    if (!out_dir) throw error("cnnkit run needs --output-dir DIR");
    auto reg = load_plugins(a);
    auto net = network::load(*reg, model, net_options(a));
    std::map<std::string, host_tensor> inputs;
    for (const auto& spec : a.all("input")) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0)
            throw error(cat("--input expects NAME=FILE.npy, got '", spec, "'"));
        const std::string name = spec.substr(0, eq);
        if (inputs.count(name)) throw error(cat("input '", name, "' given twice"));
        inputs[name] = read_npy(spec.substr(eq + 1));
    }
    if (inputs.empty() && net->g().inputs.size() == 1)
        throw error(cat("give the input: --input ", net->g().tensors[net->g().inputs[0]].name,
                        "=FILE.npy"));
    const auto outs = net->run(inputs);
    std::error_code ec;
    fs::create_directories(*out_dir, ec);
    if (ec) throw error(cat(*out_dir, ": cannot create output folder: ", ec.message()));
    for (const auto& [name, t] : outs) {
        const fs::path file = fs::path(*out_dir) / (name + ".npy");
        write_npy(file, t);
        std::cout << name << ": " << shape_text(t.shape) << " -> " << file.string() << '\n';
    }
    return 0;
}

int cmd_layers(int argc, char** argv) {
    const args a(argc, argv, 2, {"plugins"}, {});
    auto reg = load_plugins(a);
    if (a.positional().size() > 1) throw error("usage: cnnkit layers [TYPE]");
    std::vector<const layer_type*> shown;
    if (a.positional().empty())
        shown = reg->types();
    else
        shown = {&reg->get(a.positional()[0])};
    for (const layer_type* t : shown) {
        const cnnkit_layer_api& api = *t->api;
        std::cout << api.type << (api.flags & CNNKIT_LAYER_COMPOSITE ? " (composite)" : "")
                  << " — " << (api.doc ? api.doc : "") << "\n  plugin: " << t->plugin_path << '\n';
        if (a.positional().empty() && api.param_count == 0) continue;
        const auto defaults = default_params(*t);
        for (std::uint32_t i = 0; i < api.param_count; ++i)
            std::cout << "    " << std::left << std::setw(18) << api.params[i].name
                      << std::setw(28) << describe_kind(api.params[i])
                      << " default " << format_param(api.params[i], defaults[i]) << '\n';
    }
    return 0;
}

int cmd_check(int argc, char** argv) {
    const args a(argc, argv, 2, {"plugins", "batch"}, {});
    if (a.positional().size() != 1) throw error("usage: cnnkit check NET.yaml");
    auto reg = load_plugins(a);
    load_options lo;
    if (a.has("batch")) lo.batch = a.get_int("batch", 1, 1, 1 << 20);
    const graph g = load_yaml_file(*reg, a.positional()[0], lo);
    const plan p = make_plan(g);
    std::cout << std::left << std::setw(28) << "node" << std::setw(14) << "type" << std::setw(20)
              << "output" << std::right << std::setw(14) << "params" << std::setw(18) << "MACs"
              << std::setw(12) << "buffers" << '\n';
    std::int64_t params = 0, macs = 0, buffers = 0;
    for (const node& n : g.nodes) {
        const std::int64_t np = g.param_count(n);
        params += np;
        macs += n.macs;
        buffers += g.buffer_count(n);
        std::cout << std::left << std::setw(28) << n.name << std::setw(14) << n.type->api->type
                  << std::setw(20) << shape_text(g.tensors[n.outputs[0]].shape) << std::right
                  << std::setw(14) << grouped(np) << std::setw(18) << grouped(n.macs)
                  << std::setw(12) << grouped(g.buffer_count(n)) << '\n';
    }
    std::cout << "total: " << g.nodes.size() << " nodes, " << grouped(params) << " parameters, "
              << grouped(macs) << " multiply-adds, " << grouped(buffers)
              << " buffer values (running statistics, not learned)\n";
    for (const auto& [name, t] : g.outputs)
        std::cout << "output " << name << ": " << shape_text(g.tensors[t].shape) << '\n';
    std::cout << "memory: " << grouped(static_cast<std::int64_t>(p.arena_bytes))
              << " bytes arena (" << grouped(static_cast<std::int64_t>(p.naive_bytes))
              << " without reuse), " << p.in_place << " in-place nodes\n";
    return 0;
}

}  // namespace cnnkit::host
