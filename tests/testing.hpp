// testing.hpp: shared helpers for layer and kernel tests: the in-tree plugin registry, one-layer
// networks with random weights, random tensors, and element-wise comparison with tolerances.
#pragma once

#include "network.hpp"

#include <cstdlib>
#include <string>
#include <vector>

namespace cnnkit::testing {

// Sets an environment variable for one scope, unset again however the scope ends (plugins read
// CNNKIT_CONV_*, CNNKIT_POOL_ISA when a network loads or runs).
struct scoped_env {
    std::string name;
    scoped_env(const char* n, const char* v) : name(n) { ::setenv(n, v, 1); }
    ~scoped_env() { ::unsetenv(name.c_str()); }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;
};

// The registry of the build's plugin folder (loaded once).
const kernel::registry& plugins();

kernel::host_tensor random_tensor(const sdk::shape& s, std::uint64_t seed, float lo = -1.0f,
                                  float hi = 1.0f);
kernel::host_tensor make_tensor(const sdk::shape& s, const std::vector<float>& values);

struct layer_result {
    std::vector<kernel::host_tensor> outputs;
    std::vector<std::vector<float>> weights;  // in the order the layer declared them
    std::vector<sdk::shape> weight_shapes;
};

// Runs one layer of `type` with params given as a YAML flow map ("{kernel: 3}") on `inputs`.
// Weights come from `weights` when given (in declaration order), else random from `seed`.
layer_result run_layer(const std::string& type, const std::string& params,
                       const std::vector<kernel::host_tensor>& inputs, std::uint64_t seed = 7,
                       int threads = 2, const std::vector<std::vector<float>>& weights = {});

// run_layer on the CPU with a network precision (network_options::precision: "fp32", "bf16").
layer_result run_layer_at(const std::string& precision, const std::string& type,
                          const std::string& params,
                          const std::vector<kernel::host_tensor>& inputs, std::uint64_t seed = 7,
                          int threads = 2, const std::vector<std::vector<float>>& weights = {});

// Runs one layer with the same inputs and weights on the CPU and on Vulkan; REQUIREs a Vulkan
// device and that the layer ran on the GPU, then CHECKs every output (int64 exactly) and that
// the validation layer reported nothing.
// CNNKIT_TEST_FP16=1 (the vulkan_layers_fp16 ctest entry): check_backends_agree runs the
// Vulkan side with fp16 storage and compares at rtol 1e-2 (atol 2e-3).
bool vulkan_fp16();
void check_backends_agree(const std::string& type, const std::string& params,
                          const std::vector<kernel::host_tensor>& inputs, std::uint64_t seed = 7,
                          float rtol = 1e-4f, float atol = 1e-5f);

// The output shapes `type` infers for these input shapes (throws what the plugin throws).
std::vector<sdk::shape> infer_layer(const std::string& type, const std::string& params,
                                    const std::vector<sdk::shape>& inputs);

// CHECKs shape and every element: |got - want| <= atol + rtol * |want|; reports the first miss.
void check_close(const kernel::host_tensor& got, const sdk::shape& want_shape,
                 const std::vector<float>& want, float rtol = 1e-4f, float atol = 1e-5f);

// Runs the cnnkit executable; returns its exit code, with stdout+stderr in `output`.
int run_cnnkit(const std::string& args, std::string& output);
// Runs a shell command line the same way (stdout+stderr in `output`).
int run_shell(const std::string& command, std::string& output);

std::string source_path(const std::string& relative);
std::string temp_dir(const std::string& name);  // a fresh folder under the build tree

}  // namespace cnnkit::testing
