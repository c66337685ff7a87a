// vulkan_faults_test.cpp: injected GPU faults (backends/vulkan/faults.hpp). For small networks,
// every fallible Vulkan call of context creation + load + one inference fails in turn with
// out-of-device-memory and with device-lost: --backend vulkan must throw a clean error naming the
// call and the VkResult, --backend auto must fall back to the CPU with the right result, and once
// the network and the context are gone no Vulkan object may be left alive. The validation layer
// stays on throughout (CNNKIT_VULKAN_VALIDATION=1 from ctest) and must report nothing.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "backends/vulkan/context.hpp"
#include "backends/vulkan/faults.hpp"
#include "testing.hpp"
#include "util/located.hpp"

using namespace cnnkit;
namespace faults = kernel::vk::faults;

namespace {

// conv, two pools on the same tensor, a concat and an fc: branches, barriers, several pipelines.
const char* branches_net = R"(
name: branches
inputs:
  x: [1, 2, 8, 8]
nodes:
  - {name: a, type: conv, out_channels: 4, kernel: 3, pad: 1, activation: relu}
  - {name: p, type: pool, mode: max, kernel: 2, stride: 2}
  - {name: q, type: pool, mode: avg, kernel: 2, stride: 2, inputs: [a]}
  - {name: c, type: concat, inputs: [p, q]}
  - {name: f, type: fc, out_features: 5}
outputs:
  y: f
)";

std::string live_objects() {
    std::ostringstream os;
    for (const auto& [type, n] : faults::live()) os << type << '=' << n << ' ';
    return os.str();
}

struct sweep {
    kernel::graph g;
    std::map<std::string, kernel::host_tensor> in, want;

    // One load + inference on `backend`; the outputs, or the error's full message.
    std::map<std::string, kernel::host_tensor> run(const std::string& backend,
                                                   std::string& err) const {
        kernel::network_options opt;
        opt.random_seed = 7;
        opt.threads = 1;
        opt.backend = backend;
        std::map<std::string, kernel::host_tensor> out;
        try {
            const auto net = kernel::network::from_graph(g, opt);
            out = net->run(in);
        } catch (const std::exception& e) {
            err = kernel::full_message(e);
        }
        kernel::vk::context::forget_all();  // the last user gone: the context is destroyed too
        return out;
    }

    void check_outputs(const std::map<std::string, kernel::host_tensor>& got) const {
        REQUIRE(got.size() == want.size());
        for (const auto& [name, w] : want)
            testing::check_close(got.at(name), w.shape,
                                 std::vector<float>(w.f32(), w.f32() + w.shape.numel()), 1e-4f,
                                 1e-5f);
    }

    // Returns the number of fallible calls of one clean load + inference.
    std::uint64_t count() const {
        faults::arm(-1, VK_SUCCESS);
        std::string err;
        check_outputs(run("vulkan", err));
        REQUIRE(err.empty());
        CHECK(live_objects().empty());
        return faults::calls();
    }

    void inject(std::uint64_t index, VkResult r, const std::string& backend) const {
        const char* result = kernel::vk::result_name(r);
        INFO(backend << ": call " << index << " fails with " << result);
        const auto messages = kernel::vk::context::validation_messages();
        faults::arm(static_cast<std::int64_t>(index), r);
        std::string err;
        std::ostringstream warnings;
        auto* saved = std::cerr.rdbuf(warnings.rdbuf());
        const auto got = run(backend, err);
        std::cerr.rdbuf(saved);
        const bool fired = faults::fired();
        const std::string call = faults::fired_call();
        faults::arm(-1, VK_SUCCESS);
        INFO("hit " << call << "; error: " << err << "; warnings: " << warnings.str());
        REQUIRE(fired);
        if (err.empty()) {  // tolerated (an unreadable pipeline cache), or the CPU fallback
            check_outputs(got);
        } else {
            CHECK(backend == "vulkan");
            // Out of memory: the call that failed is named. A lost device stays lost, and when the
            // call that hit it tolerates failure (the pipeline cache), the next one reports it.
            CHECK_THAT(err,
                       Catch::Matches(r == VK_ERROR_DEVICE_LOST ? ".*vk[A-Za-z]+ failed with .*"
                                                                : ".*" + call + " failed with .*"));
            CHECK_THAT(err, Catch::Contains(result));
        }
        const std::string w = warnings.str();
        if (backend == "vulkan") CHECK(w.empty());
        if (!w.empty()) {  // auto fell back: one warning line naming the call and the result
            CHECK(std::count(w.begin(), w.end(), '\n') == 1);
            CHECK_THAT(
                w, Catch::Matches(r == VK_ERROR_DEVICE_LOST ? ".*vk[A-Za-z]+ failed with .*\n"
                                                            : ".*" + call + " failed with .*\n"));
            CHECK_THAT(w, Catch::Contains(result));
        }
        CHECK(live_objects() == "");
        CHECK(kernel::vk::context::validation_messages() == messages);
    }
};

void run_sweep(const std::string& yaml) {
    faults::enable();
    kernel::vk::context::forget_all();
    sweep s;
    s.g = kernel::load_yaml_text(testing::plugins(), yaml, "faults.yaml");
    std::uint64_t seed = 1;
    for (int t : s.g.inputs)
        s.in[s.g.tensors[t].name] = testing::random_tensor(s.g.tensors[t].shape, seed++);
    {
        kernel::network_options opt;
        opt.random_seed = 7;
        s.want = kernel::network::from_graph(s.g, opt)->run(s.in);
    }
    const std::uint64_t n = s.count();
    INFO(n << " fallible calls");
    CHECK(n > 20);
    std::cerr << s.g.name << ": " << n << " fallible Vulkan calls, each failed 3 ways\n";
    for (std::uint64_t i = 0; i < n; ++i) {
        s.inject(i, VK_ERROR_OUT_OF_DEVICE_MEMORY, "vulkan");
        s.inject(i, VK_ERROR_DEVICE_LOST, "vulkan");
        s.inject(i, i % 2 ? VK_ERROR_DEVICE_LOST : VK_ERROR_OUT_OF_DEVICE_MEMORY, "auto");
    }
}

}  // namespace

TEST_CASE("vulkan faults: lenet5, every fallible call failing in turn", "[vulkan][faults]") {
    std::ifstream in(testing::source_path("configs/lenet5.yaml"));
    run_sweep(std::string(std::istreambuf_iterator<char>(in), {}));
}

TEST_CASE("vulkan faults: conv, pools and concat, every fallible call failing in turn",
          "[vulkan][faults]") {
    run_sweep(branches_net);
}

TEST_CASE("vulkan faults: no Vulkan loader at all: auto runs on the CPU with one warning",
          "[vulkan][faults][cli]") {
    const std::string dir = testing::temp_dir("vulkan_no_loader");
    kernel::write_npy(dir + "/x.npy", testing::random_tensor({1, 1, 32, 32}, 3));
    const std::string args = "run " + testing::source_path("configs/lenet5.yaml") +
                             " --random-weights 1 --input image=" + dir + "/x.npy --output-dir " +
                             dir + "/";
    const std::string exe = std::string(CNNKIT_BINARY_DIR) + "/cnnkit ";
    std::string cpu, out;
    REQUIRE(testing::run_cnnkit(args + "cpu", cpu) == 0);
    // No loader library at all, then a loader that finds no driver.
    for (const std::string env :
         {"CNNKIT_VULKAN_LOADER=/nonexistent/libvulkan.so.1 ", "VK_ICD_FILENAMES=/nonexistent "}) {
        INFO(env);
        REQUIRE(testing::run_shell(env + exe + args + "auto --backend auto", out) == 0);
        CHECK_THAT(out, Catch::Contains("warning: Vulkan unavailable, running on the CPU"));
        CHECK(out.find("warning:") == out.rfind("warning:"));  // exactly one
        CHECK_THAT(out, Catch::Contains("prob: 1x10"));
        CHECK(testing::run_shell(env + exe + args + "vk --backend vulkan", out) == 1);
        CHECK_THAT(out, Catch::Contains("error:"));
        if (env.starts_with("CNNKIT_VULKAN_LOADER"))
            CHECK_THAT(out, Catch::Contains("no Vulkan loader: /nonexistent/libvulkan.so.1"));
    }
    const auto a = kernel::read_npy(dir + "/cpu/prob.npy"),
               b = kernel::read_npy(dir + "/auto/prob.npy");
    CHECK(a.bytes == b.bytes);
}
