// vulkan_test.cpp: the Vulkan backend as a whole: every config end to end against the CPU,
// fallback to the CPU for nodes without a kernel, --explain, device listing and errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>

#include "backends/vulkan/context.hpp"
#include "backends/vulkan/spirv16.hpp"
#include "testing.hpp"

using namespace cnnkit;
namespace fs = std::filesystem;

namespace {
// Runs `g`-producing `load` on the CPU and on Vulkan with the same random weights and inputs.
void check_network_agrees(const std::function<kernel::graph()>& load, bool all_on_gpu, float rtol,
                          float atol, bool fp16 = false) {
    const auto messages = kernel::vk::context::validation_messages();
    kernel::network_options opt;
    opt.random_seed = 5;
    opt.threads = 2;
    auto cpu = kernel::network::from_graph(load(), opt);
    opt.backend = "vulkan";
    opt.fp16 = fp16;
    auto gpu = kernel::network::from_graph(load(), opt);
    if (all_on_gpu) {  // every node has a kernel; only bindings over the device limit stay
        std::istringstream lines(gpu->explain());
        for (std::string line; std::getline(lines, line);)
            if (line.find("CPU, because") != std::string::npos)
                CHECK_THAT(line, Catch::Contains("maxStorageBufferRange"));
    }
    std::map<std::string, kernel::host_tensor> in;
    std::uint64_t seed = 1;
    for (int t : cpu->g().inputs)
        in[cpu->g().tensors[t].name] = testing::random_tensor(cpu->g().tensors[t].shape, seed++);
    const auto want = cpu->run(in), got = gpu->run(in);
    for (const auto& [name, w] : want) {
        INFO("output " << name);
        testing::check_close(got.at(name), w.shape,
                             std::vector<float>(w.f32(), w.f32() + w.shape.numel()), rtol, atol);
    }
    CHECK(kernel::vk::context::validation_messages() == messages);
}

kernel::registry& registry_with_test_plugins() {
    static kernel::registry reg;
    static const bool loaded = [] {
        reg.load_dir(CNNKIT_PLUGIN_DIR);
        for (const char* name : {"cpu_only", "pre_vulkan"})
            reg.load_file(std::string(CNNKIT_BINARY_DIR) + "/test-plugins/" + name + "/libcnnkit_" +
                          name + ".so");
        return true;
    }();
    (void)loaded;
    return reg;
}

const char* mixed_net = R"(
name: mixed
inputs:
  x: [1, 3, 9, 9]
nodes:
  - {name: a, type: conv, out_channels: 4, kernel: 3, pad: 1}
  - {name: b, type: test_double}
  - {name: c, type: relu}
  - {name: d, type: test_half}
  - {name: e, type: conv, out_channels: 2, kernel: 1, inputs: [c]}
  - {name: f, type: add, inputs: [d, c]}
  - {name: g, type: test_identity_v1, inputs: [e]}
outputs:
  y: f
  z: g
)";
}  // namespace

TEST_CASE("vulkan: every config in configs/ matches the CPU end to end", "[vulkan][configs]") {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(testing::source_path("configs")))
        if (e.path().extension() == ".yaml") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    REQUIRE(!files.empty());
    for (const auto& f : files) {
        INFO(f.string());
        kernel::load_options batch1;  // keeps lavapipe's share of CI time small
        batch1.batch = 1;
        check_network_agrees([&] { return kernel::load_yaml_file(testing::plugins(), f, batch1); },
                             true, 1e-3f, 1e-4f);
    }
}

TEST_CASE("vulkan: nodes without a Vulkan kernel run on the CPU with explicit transfers",
          "[vulkan][fallback]") {
    const auto load = [] {
        return kernel::load_yaml_text(registry_with_test_plugins(), mixed_net, "mixed.yaml");
    };
    check_network_agrees(load, false, 1e-4f, 1e-5f);
    kernel::network_options opt;
    opt.random_seed = 5;
    opt.backend = "vulkan";
    auto net = kernel::network::from_graph(load(), opt);
    CHECK(net->gpu_nodes() == 4);
    const std::string text = net->explain();
    CHECK_THAT(text, Catch::Contains("a (conv): GPU: conv"));
    CHECK_THAT(text, Catch::Contains("b (test_double): CPU, because no Vulkan kernel in"));
    CHECK_THAT(text, Catch::Contains("d (test_half): CPU, because the Vulkan kernel does not "
                                     "support this configuration: this test layer declines"));
    CHECK_THAT(text, Catch::Contains("transfer: upload 'x' {1, 3, 9, 9}"));
    CHECK_THAT(text, Catch::Contains("transfer: download 'a' {1, 4, 9, 9}"));
    CHECK_THAT(text, Catch::Contains("transfer: upload 'b'"));
    CHECK_THAT(text, Catch::Contains("transfer: download 'c'"));
    CHECK_THAT(text, Catch::Contains("transfer: upload 'd'"));
    CHECK_THAT(text, Catch::Contains("transfer: download 'f'"));
    CHECK_THAT(text, Catch::Contains("g (test_identity_v1): CPU, because no Vulkan kernel in"));
}

TEST_CASE("vulkan: --fp16 stores float16 on the device and matches the CPU within 1e-2",
          "[vulkan][fp16]") {
    // Host conversions: IEEE binary16 values (round to nearest even, overflow to inf,
    // subnormals), and back.
    using kernel::vk::from_half;
    using kernel::vk::to_half;
    CHECK(to_half(1.0f) == 0x3c00);
    CHECK(to_half(-2.5f) == 0xc100);
    CHECK(to_half(0.1f) == 0x2e66);
    CHECK(to_half(65504.0f) == 0x7bff);
    CHECK(to_half(65520.0f) == 0x7c00);
    CHECK(to_half(std::ldexp(1.0f, -24)) == 0x0001);
    CHECK(to_half(std::ldexp(1.0f, -26)) == 0x0000);
    CHECK(to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);     // a tie goes to even
    CHECK(to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // and up to even
    CHECK(std::isnan(from_half(to_half(std::nanf("")))));
    for (float f : {1.0f, -0.333251953125f, 65504.0f, std::ldexp(1.0f, -24), 0.0f})
        CHECK(from_half(to_half(f)) == f);
    // A config end to end, and the fallback network (conversions at every staging edge).
    kernel::load_options batch1;
    batch1.batch = 1;
    check_network_agrees(  // lenet5 only: lavapipe under validation is slow (CI time)
        [&] {
            return kernel::load_yaml_file(testing::plugins(),
                                          testing::source_path("configs/lenet5.yaml"), batch1);
        },
        true, 1e-2f, 2e-3f, true);
    const auto mixed = [] {
        return kernel::load_yaml_text(registry_with_test_plugins(), mixed_net, "mixed.yaml");
    };
    check_network_agrees(mixed, false, 1e-2f, 2e-3f, true);
    kernel::network_options opt;
    opt.random_seed = 5;
    opt.backend = "vulkan";
    opt.fp16 = true;
    auto net = kernel::network::from_graph(mixed(), opt);
    CHECK(net->gpu_nodes() == 4);
    CHECK_THAT(net->explain(), Catch::Contains("; fp16 storage (float tensors and weights as "
                                               "float16, fp32 arithmetic)"));
    const std::string dir = testing::temp_dir("vulkan_fp16");
    kernel::write_npy(dir + "/x.npy", testing::random_tensor({1, 1, 32, 32}, 3));
    std::string out;
    REQUIRE(testing::run_cnnkit("run " + testing::source_path("configs/lenet5.yaml") +
                                    " --random-weights 1 --fp16 --explain --input image=" + dir +
                                    "/x.npy --output-dir " + dir + "/out",
                                out) == 0);
    CHECK_THAT(out, Catch::Contains("backend: vulkan on '"));
    CHECK_THAT(out, Catch::Contains("fp16 storage"));
    // The probabilities still sum to 1 within float16 resolution.
    const auto prob = kernel::read_npy(dir + "/out/prob.npy");
    float sum = 0;
    for (std::int64_t i = 0; i < prob.shape.numel(); ++i) sum += prob.f32()[i];
    CHECK(std::fabs(sum - 1.0f) < 1e-2f);
}

TEST_CASE("vulkan: independent branches are recorded without barriers between them",
          "[vulkan][barriers]") {
    const char* net = R"(
name: branches
inputs:
  x: [1, 3, 8, 8]
nodes:
  - {name: p, type: conv, out_channels: 4, kernel: 1}
  - {name: q, type: conv, out_channels: 4, kernel: 3, pad: 1, inputs: [x]}
  - {name: r, type: pool, kernel: 3, stride: 1, pad: 1, inputs: [x]}
  - {name: s, type: concat, inputs: [p, q, r]}
outputs:
  y: s
)";
    kernel::network_options opt;
    opt.random_seed = 1;
    opt.backend = "vulkan";
    auto n =
        kernel::network::from_graph(kernel::load_yaml_text(testing::plugins(), net, "b.yaml"), opt);
    // p, q, r read only x: one barrier before concat, then two between its three dispatches.
    CHECK_THAT(n->explain(), Catch::Contains("1 command buffer(s), 6 dispatches, 3 barriers"));
}

TEST_CASE("vulkan: cnnkit run --backend vulkan --explain, devices, and device errors",
          "[vulkan][cli]") {
    const std::string dir = testing::temp_dir("vulkan_cli");
    kernel::write_npy(dir + "/x.npy", testing::random_tensor({1, 1, 32, 32}, 3));
    const std::string run = "run " + testing::source_path("configs/lenet5.yaml") +
                            " --random-weights 1 --input image=" + dir + "/x.npy --output-dir " +
                            dir + "/out";
    std::string out;
    REQUIRE(testing::run_cnnkit(run + " --backend vulkan --explain", out) == 0);
    CHECK_THAT(out, Catch::Contains("backend: vulkan on '"));
    CHECK_THAT(out, Catch::Contains("c1 (conv): GPU: conv"));
    CHECK_THAT(out, Catch::Contains("softmax (softmax): GPU: softmax"));
    CHECK_THAT(out, Catch::Contains("recorded: 1 command buffer(s), 9 dispatches"));
    CHECK_THAT(out, Catch::Contains("prob: 1x10"));
    CHECK(fs::exists(dir + "/out/prob.npy"));
    REQUIRE(testing::run_cnnkit("devices", out) == 0);
    CHECK_THAT(out, Catch::Contains("0: "));
    CHECK(testing::run_cnnkit(run + " --device 99", out) == 1);
    CHECK_THAT(out, Catch::Contains("--device 99: there are"));
    CHECK(testing::run_cnnkit(run + " --backend metal", out) == 1);
    CHECK_THAT(out, Catch::Contains("expected cpu, vulkan or auto"));
    // No driver: vulkan is an error naming the cause; auto warns once and runs on the CPU.
    const std::string no_driver = "VK_ICD_FILENAMES=" + dir + "/none.json ";
    const std::string exe = std::string(CNNKIT_BINARY_DIR) + "/cnnkit ";
    CHECK(testing::run_shell(no_driver + exe + run + " --backend vulkan", out) == 1);
    CHECK_THAT(out, Catch::Contains("error:"));
    CHECK_THAT(out, Catch::Contains("Vulkan"));
    CHECK(testing::run_shell(no_driver + exe + run + " --backend auto", out) == 0);
    CHECK_THAT(out, Catch::Contains("warning: Vulkan unavailable, running on the CPU"));
    CHECK_THAT(out, Catch::Contains("prob: 1x10"));
}

TEST_CASE("vulkan: the pipeline cache is written to disk", "[vulkan][cache]") {
    kernel::network_options opt;
    opt.random_seed = 1;
    opt.backend = "vulkan";
    auto n =
        kernel::network::load(testing::plugins(), testing::source_path("configs/lenet5.yaml"), opt);
    const char* dir = std::getenv("CNNKIT_CACHE_DIR");
    REQUIRE(dir != nullptr);
    bool found = false;
    for (const auto& e : fs::directory_iterator(dir))
        found |= e.path().filename().string().rfind("pipelines-", 0) == 0 && fs::file_size(e) > 0;
    CHECK(found);
}

TEST_CASE("vulkan: one network serves concurrent inferences from several threads",
          "[vulkan][threads]") {
    kernel::network_options opt;
    opt.random_seed = 3;
    opt.backend = "vulkan";
    auto net =
        kernel::network::load(testing::plugins(), testing::source_path("configs/lenet5.yaml"), opt);
    std::vector<kernel::host_tensor> xs;
    std::vector<std::map<std::string, kernel::host_tensor>> want;
    for (int i = 0; i < 4; ++i) {
        xs.push_back(testing::random_tensor({1, 1, 32, 32}, 10 + i));
        want.push_back(net->run({{"image", xs.back()}}));
    }
    std::vector<std::map<std::string, kernel::host_tensor>> got(xs.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < xs.size(); ++i)
        threads.emplace_back([&, i] {
            for (int r = 0; r < 5; ++r) got[i] = net->run({{"image", xs[i]}});
        });
    for (auto& t : threads) t.join();
    for (std::size_t i = 0; i < xs.size(); ++i)
        CHECK(got[i].at("prob").bytes == want[i].at("prob").bytes);
}
