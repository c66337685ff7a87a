// commands.cpp: run, layers, check and import.
#include "commands.hpp"

#include "args.hpp"
#include "classify.hpp"
#include "watch.hpp"
#include "graph/params.hpp"
#include "graph/schema.hpp"
#include "network.hpp"
#include "onnx/importer.hpp"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace cnnkit::host {
namespace fs = std::filesystem;
using namespace cnnkit::kernel;

const std::set<std::string> common_valued = {"plugins", "weights", "random-weights", "threads",
                                             "batch", "backend", "device", "precision"};

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
    if (auto b = a.get("backend")) {
        if (*b != "cpu" && *b != "vulkan" && *b != "auto")
            throw error(cat("--backend ", *b, ": expected cpu, vulkan or auto"));
        o.backend = *b;
    }
    o.device = static_cast<int>(a.get_int("device", -1, 0, 1024));
    if (a.has("device") && o.backend == "cpu") o.backend = "vulkan";
    if (auto p = a.get("precision")) o.precision = precision_named(*p);
    o.fp16 = a.has("fp16");
    if (o.fp16 && o.backend == "cpu") o.backend = "vulkan";
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

int cmd_run(int argc, char** argv) {
    const std::set<std::string> valued = [] {
        auto v = common_valued;
        v.insert({"input", "output-dir", "image", "labels", "top"});
        return v;
    }();
    if (wants_watch(argc, argv)) return run_watching(argc, argv, valued, cmd_run);
    const args a(argc, argv, 2, valued, {"explain", "fp16"});
    if (a.positional().size() != 1)
        throw error("usage: cnnkit run MODEL --input NAME=FILE.npy --output-dir DIR "
                    "[--weights W.safetensors | --random-weights SEED] [--threads N] "
                    "[--backend cpu|vulkan|auto] [--device N] [--fp16] [--explain]");
    const fs::path model = a.positional()[0];
    const auto out_dir = a.get("output-dir");
    const auto image = a.get("image");
    if (!out_dir && !image) throw error("cnnkit run needs --output-dir DIR (or --image FILE)");
    const int top = static_cast<int>(a.get_int("top", 5, 1, 1 << 20));
    auto reg = load_plugins(a);
    auto net = network::load(*reg, model, net_options(a));
    if (a.has("explain")) std::cout << net->explain();
    std::map<std::string, host_tensor> inputs;
    const auto labels = a.get("labels") ? read_labels_file(*a.get("labels")) : net->g().labels;
    if (image) inputs.insert(image_input(net->g(), *image, std::cout));
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
    if (image) {
        print_top_k(std::cout, outs, labels, top);
        if (!out_dir) return 0;
    }
    std::error_code ec;
    fs::create_directories(*out_dir, ec);
    if (ec) throw error(cat(*out_dir, ": cannot create output folder: ", ec.message()));
    for (const auto& [name, t] : outs) {
        if (name.find('/') != std::string::npos || name.find('\0') != std::string::npos)
            throw error(cat("output '", name, "' cannot be written as a file in ", *out_dir));
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
    if (wants_watch(argc, argv)) return run_watching(argc, argv, {"plugins", "batch"}, cmd_check);
    const args a(argc, argv, 2, {"plugins", "batch"}, {});
    if (a.positional().size() != 1) throw error("usage: cnnkit check NET.yaml | MODEL.onnx");
    auto reg = load_plugins(a);
    load_options lo;
    if (a.has("batch")) lo.batch = a.get_int("batch", 1, 1, 1 << 20);
    const fs::path model = a.positional()[0];
    const graph g = model.extension() == ".onnx"
                        ? load_yaml_text(*reg, import_onnx(*reg, model, lo.batch).yaml,
                                         model.string() + " (imported)", lo)
                        : load_yaml_file(*reg, model, lo);
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
              << " without reuse), " << p.in_place << " in-place nodes, " << p.concat_in_place
              << " concat inputs written in place\n";
    return 0;
}

int cmd_import(int argc, char** argv) {
    std::vector<std::string> words(argv, argv + argc);  // -o is --output
    for (auto& w : words)
        if (w == "-o") w = "--output";
    std::vector<char*> ptrs;
    for (auto& w : words) ptrs.push_back(w.data());
    const args a(argc, ptrs.data(), 2, {"plugins", "batch", "weights", "output"}, {});
    const auto out = a.get("output");
    const auto weights = a.get("weights");
    if (a.positional().size() != 1 || !out || !weights)
        throw error("usage: cnnkit import MODEL.onnx -o NET.yaml --weights NET.safetensors");
    auto reg = load_plugins(a);
    std::optional<std::int64_t> batch;
    if (a.has("batch")) batch = a.get_int("batch", 1, 1, 1 << 20);
    const onnx_import im = import_onnx(*reg, a.positional()[0], batch);
    load_yaml_text(*reg, im.yaml, *out);  // what we write must load
    write_safetensors(*weights, im.weights);
    write_file_atomic(*out, std::vector<unsigned char>(im.yaml.begin(), im.yaml.end()));
    std::cout << "wrote " << *out << " and " << *weights << " (" << im.weights.size()
              << " tensors)\n";
    return 0;
}

int cmd_schema(int argc, char** argv) {
    const args a(argc, argv, 2, {"plugins"}, {});
    if (!a.positional().empty())
        throw error("usage: cnnkit schema [--plugins DIR] > net.schema.json");
    std::cout << network_schema(*load_plugins(a)) << '\n';
    return 0;
}

}  // namespace cnnkit::host
