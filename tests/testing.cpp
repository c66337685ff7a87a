// testing.cpp: the shared test harness.
#include "testing.hpp"

#include "backends/vulkan/context.hpp"
#include "graph/params.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

namespace cnnkit::testing {
using namespace cnnkit::kernel;

namespace {
// Every test process (and every cnnkit it starts) runs Vulkan under the validation layer and
// keeps its pipeline cache inside the build tree.
const bool environment_set = [] {
    setenv("CNNKIT_VULKAN_VALIDATION", "1", 0);
    setenv("CNNKIT_CACHE_DIR", (std::string(CNNKIT_BINARY_DIR) + "/test-tmp/cache").c_str(), 0);
    return true;
}();
}  // namespace

const registry& plugins() {
    static const auto reg = [] {
        auto r = std::make_unique<registry>();
        r->load_dir(CNNKIT_PLUGIN_DIR);
        return r;
    }();
    return *reg;
}

host_tensor random_tensor(const sdk::shape& s, std::uint64_t seed, float lo, float hi) {
    host_tensor t;
    t.shape = s;
    t.bytes.resize(static_cast<std::size_t>(s.numel()) * 4);
    std::mt19937 rng(static_cast<unsigned>(seed));
    std::uniform_real_distribution<float> d(lo, hi);
    for (std::int64_t i = 0; i < s.numel(); ++i) t.f32()[i] = d(rng);
    return t;
}

host_tensor make_tensor(const sdk::shape& s, const std::vector<float>& values) {
    REQUIRE(static_cast<std::int64_t>(values.size()) == s.numel());
    host_tensor t;
    t.shape = s;
    t.bytes.resize(values.size() * 4);
    std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
}

namespace {
graph one_layer_graph(const std::string& type, const std::string& params,
                      const std::vector<sdk::shape>& in, std::vector<int>* outs) {
    graph g;
    graph_builder b(plugins(), g);
    std::vector<int> ids;
    for (std::size_t i = 0; i < in.size(); ++i) ids.push_back(b.add_input("x" + std::to_string(i), in[i]));
    const layer_type& t = plugins().get(type);
    auto values = parse_params(t, YAML::Load(params), {}, nullptr, "<test>", "layer");
    *outs = b.add_layer("layer", t, std::move(values), ids, {"<test>", 0, 0});
    for (std::size_t i = 0; i < outs->size(); ++i) b.add_output("y" + std::to_string(i), (*outs)[i]);
    return g;
}
}  // namespace

std::vector<sdk::shape> infer_layer(const std::string& type, const std::string& params,
                                    const std::vector<sdk::shape>& inputs) {
    std::vector<int> outs;
    graph g;
    try {
        g = one_layer_graph(type, params, inputs, &outs);
    } catch (const std::exception& e) {
        throw error(full_message(e));  // tests match on the innermost cause
    }
    std::vector<sdk::shape> shapes;
    for (int t : outs) shapes.push_back(g.tensors[t].shape);
    return shapes;
}

namespace {
layer_result run_layer_with(const std::string& type, const std::string& params,
                            const std::vector<host_tensor>& inputs, std::uint64_t seed,
                            int threads, const std::vector<std::vector<float>>& weights,
                            const std::string& backend, int* gpu_nodes,
                            const std::string& precision = "fp32") {
    std::vector<sdk::shape> shapes;
    for (const auto& t : inputs) shapes.push_back(t.shape);
    std::vector<int> outs;
    graph g = one_layer_graph(type, params, shapes, &outs);
    layer_result r;
    std::vector<std::pair<std::string, host_tensor>> files;
    for (std::size_t i = 0; i < g.weights.size(); ++i) {
        r.weights.push_back(i < weights.size() ? weights[i] : random_weight(g.weights[i], seed));
        r.weight_shapes.push_back(g.weights[i].shape);
        REQUIRE(static_cast<std::int64_t>(r.weights.back().size()) == g.weights[i].shape.numel());
    }
    network_options opt;
    opt.random_seed = seed;
    opt.threads = threads;
    opt.backend = backend;
    opt.fp16 = backend == "vulkan" && vulkan_fp16();
    opt.precision = precision_named(precision);
    std::string wfile;
    if (!weights.empty()) {
        for (std::size_t i = 0; i < g.weights.size(); ++i)
            files.emplace_back(g.weights[i].name, make_tensor(g.weights[i].shape, r.weights[i]));
        // Per process: ctest runs test processes side by side (vulkan_layers_fp16 beside the rest).
        wfile = temp_dir("weights") + "/w-" + std::to_string(getpid()) + ".safetensors";
        write_safetensors(wfile, files);
        opt.weights = wfile;
    }
    auto net = network::from_graph(std::move(g), opt);
    if (gpu_nodes) *gpu_nodes = net->gpu_nodes();
    std::map<std::string, host_tensor> in;
    for (std::size_t i = 0; i < inputs.size(); ++i) in["x" + std::to_string(i)] = inputs[i];
    auto out = net->run(in);
    for (std::size_t i = 0; i < out.size(); ++i) r.outputs.push_back(out.at("y" + std::to_string(i)));
    return r;
}
}  // namespace

bool vulkan_fp16() {
    static const bool on = [] {
        const char* v = std::getenv("CNNKIT_TEST_FP16");
        return v && std::string(v) == "1";
    }();
    return on;
}

layer_result run_layer(const std::string& type, const std::string& params,
                       const std::vector<host_tensor>& inputs, std::uint64_t seed, int threads,
                       const std::vector<std::vector<float>>& weights) {
    return run_layer_with(type, params, inputs, seed, threads, weights, "cpu", nullptr);
}

layer_result run_layer_at(const std::string& precision, const std::string& type,
                          const std::string& params,
                          const std::vector<host_tensor>& inputs, std::uint64_t seed,
                          int threads, const std::vector<std::vector<float>>& weights) {
    return run_layer_with(type, params, inputs, seed, threads, weights, "cpu", nullptr,
                          precision);
}

void check_backends_agree(const std::string& type, const std::string& params,
                          const std::vector<host_tensor>& inputs, std::uint64_t seed, float rtol,
                          float atol) {
    INFO(type << " " << params << (vulkan_fp16() ? " (fp16 storage)" : ""));
    if (vulkan_fp16()) rtol = std::max(rtol, 1e-2f), atol = std::max(atol, 2e-3f);
    const auto messages = vk::context::validation_messages();
    const layer_result cpu = run_layer_with(type, params, inputs, seed, 2, {}, "cpu", nullptr);
    int gpu_nodes = 0;
    const layer_result gpu =
        run_layer_with(type, params, inputs, seed, 2, cpu.weights, "vulkan", &gpu_nodes);
    REQUIRE(gpu_nodes == 1);
    REQUIRE(gpu.outputs.size() == cpu.outputs.size());
    for (std::size_t i = 0; i < cpu.outputs.size(); ++i) {
        const host_tensor& want = cpu.outputs[i];
        if (want.shape.type() == sdk::dtype::i64) {
            REQUIRE(gpu.outputs[i].shape == want.shape);
            CHECK(gpu.outputs[i].bytes == want.bytes);
        } else {
            check_close(gpu.outputs[i], want.shape,
                        std::vector<float>(want.f32(), want.f32() + want.shape.numel()), rtol,
                        atol);
        }
    }
    CHECK(vk::context::validation_messages() == messages);
}

void check_close(const host_tensor& got, const sdk::shape& want_shape,
                 const std::vector<float>& want, float rtol, float atol) {
    REQUIRE(got.shape == want_shape);
    REQUIRE(static_cast<std::int64_t>(want.size()) == want_shape.numel());
    std::int64_t bad = 0, first = -1;
    for (std::size_t i = 0; i < want.size(); ++i) {
        const float g = got.f32()[i], w = want[i];
        const bool ok = std::fabs(g - w) <= atol + rtol * std::fabs(w) || (std::isnan(g) && std::isnan(w));
        if (!ok && bad++ == 0) first = static_cast<std::int64_t>(i);
    }
    INFO("first mismatch at " << first << ": got "
                              << (first >= 0 ? got.f32()[first] : 0.0f) << ", want "
                              << (first >= 0 ? want[first] : 0.0f) << " (" << bad << " of "
                              << want.size() << " differ)");
    CHECK(bad == 0);
}

int run_cnnkit(const std::string& args, std::string& output) {
    return run_shell(std::string(CNNKIT_BINARY_DIR) + "/cnnkit " + args, output);
}

int run_shell(const std::string& command, std::string& output) {
    const std::string cmd = command + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    output.clear();
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) output += buf.data();
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string source_path(const std::string& relative) {
    return std::string(CNNKIT_SOURCE_DIR) + "/" + relative;
}

std::string temp_dir(const std::string& name) {
    const auto dir = std::filesystem::path(CNNKIT_BINARY_DIR) / "test-tmp" / name;
    std::filesystem::create_directories(dir);
    return dir.string();
}

}  // namespace cnnkit::testing
