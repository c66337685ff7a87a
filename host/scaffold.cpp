// scaffold.cpp: `cnnkit new-plugin NAME`: an out-of-tree plugin folder that builds against the
// installed SDK and passes its own Catch2 test unchanged.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>

#include "commands.hpp"

namespace cnnkit::host {
namespace fs = std::filesystem;

namespace {

const char* cmake_template =
    R"(# @NAME@: an out-of-tree cnnkit plugin. Build against the installed SDK:
#   cmake -S . -B build -DCMAKE_PREFIX_PATH=<cnnkit prefix> && cmake --build build
#   ctest --test-dir build        # the plugin through its C ABI, against a reference
#   cnnkit run net.yaml --plugins build --random-weights 1 --input image=x.npy --output-dir out
cmake_minimum_required(VERSION 3.25)
project(@NAME@_plugin LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(cnnkit REQUIRED)
cnnkit_add_plugin(@NAME@ SOURCES @NAME@.cpp SHADERS @NAME@.comp)

find_package(Catch2 REQUIRED)  # Debian's catch2: Catch2 v2, single header
enable_testing()
add_executable(@NAME@_test @NAME@_test.cpp)
target_link_libraries(@NAME@_test PRIVATE cnnkit::sdk Catch2::Catch2 ${CMAKE_DL_LIBS})
target_compile_definitions(@NAME@_test PRIVATE PLUGIN_FILE="$<TARGET_FILE:cnnkit_@NAME@>")
add_dependencies(@NAME@_test cnnkit_@NAME@)
add_test(NAME @NAME@_test COMMAND @NAME@_test)
)";

const char* hpp_template =
    R"(// @NAME@.hpp: parameters of the @NAME@ layer: y = x * scale + shift (edit to taste).
#pragma once

#include <cnnkit/params.hpp>

namespace @NAME@_plugin {

struct params {  // a plain aggregate: ints, floats, bools, enum classes, glm::ivec2, std::array
    float scale = 1.0f;
    float shift = 0.0f;
};

}  // namespace @NAME@_plugin

// The field names, in declaration order (checked against the struct at compile time).
CNNKIT_PARAM_FIELDS(@NAME@_plugin::params, scale, shift);
)";

const char* cpp_template =
    R"(// @NAME@.cpp: shape rule, CPU kernel and registration of the @NAME@ layer.
#include "@NAME@.hpp"
#include "@NAME@_spv.h"  // @NAME@.comp compiled to SPIR-V by cnnkit_add_plugin(... SHADERS ...)

#include <cnnkit/layer.hpp>

namespace @NAME@_plugin {

struct @NAME@_layer {
    using params = @NAME@_plugin::params;
    static constexpr const char* type = "@NAME@";  // the YAML `type:`
    static constexpr const char* doc = "x * scale + shift, elementwise";
    static constexpr bool in_place = true;  // output 0 may share input 0's memory

    static cnnkit::sdk::shape infer(const params&, std::span<const cnnkit::sdk::shape> in) {
        cnnkit::sdk::expect(in.size() == 1, "@NAME@ takes 1 input, got ", in.size());
        return in[0];
    }
    static void run(const params& p, const cnnkit::sdk::call& c) {
        const float* x = c.in(0).f32();
        float* y = c.out(0).f32();
        c.host.parallel_for(0, c.in(0).numel(), [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t i = b; i < e; ++i) y[i] = x[i] * p.scale + p.shift;
        }, 4096);
    }
};

// The Vulkan backend will take the kernel from here; until then the SPIR-V is only built.
[[maybe_unused]] constexpr auto& spirv = @NAME@_spv;

}  // namespace @NAME@_plugin

CNNKIT_REGISTER_PLUGIN("@NAME@", "0.1", @NAME@_plugin::@NAME@_layer)
)";

const char* comp_template =
    R"(// @NAME@.comp: the @NAME@ layer on the GPU (stub mirroring the CPU kernel).
#version 450
layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float y[]; };
layout(push_constant) uniform Params { float scale; float shift; uint count; } p;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < p.count) y[i] = x[i] * p.scale + p.shift;
}
)";

const char* test_template =
    R"(// @NAME@_test.cpp: loads the built plugin as cnnkit does (dlopen, C ABI) and checks the layer
// against a reference computed here.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cnnkit/plugin_abi.h>

#include <dlfcn.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

const cnnkit_layer_api& load_layer() {
    void* lib = dlopen(PLUGIN_FILE, RTLD_NOW | RTLD_LOCAL);
    REQUIRE(lib != nullptr);
    auto entry = reinterpret_cast<cnnkit_plugin_entry_fn>(dlsym(lib, CNNKIT_PLUGIN_ENTRY_NAME));
    REQUIRE(entry != nullptr);
    const cnnkit_plugin* plugin = entry();
    REQUIRE(plugin->abi_version == CNNKIT_ABI_VERSION);
    REQUIRE(plugin->layer_count == 1);
    return *plugin->layers[0];
}

// Serial host services: enough for a test.
void serial_for(void*, int64_t b, int64_t e, int64_t, void (*body)(void*, int64_t, int64_t),
                void* user) {
    if (e > b) body(user, b, e);
}
void quiet(void*, int, const char*) {}
const cnnkit_host host{sizeof(cnnkit_host), nullptr, &serial_for, nullptr, &quiet};

}  // namespace

TEST_CASE("@NAME@: params are reflected with their defaults", "[@NAME@]") {
    const cnnkit_layer_api& api = load_layer();
    CHECK(std::string(api.type) == "@NAME@");
    REQUIRE(api.param_count == 2);
    CHECK(std::string(api.params[0].name) == "scale");
    CHECK(api.params[0].defaults[0] == 1.0);
    CHECK(std::string(api.params[1].name) == "shift");
}

TEST_CASE("@NAME@: scale 2, shift 0.5 on a 1x3x4x5 tensor matches the reference", "[@NAME@]") {
    const cnnkit_layer_api& api = load_layer();
    cnnkit_param_value values[2] = {};
    values[0].v[0] = 2.0;
    values[0].count = 1;
    values[1].v[0] = 0.5;
    values[1].count = 1;
    cnnkit_diag diag{};
    void* self = nullptr;
    REQUIRE(api.create(values, 2, &self, &diag) == CNNKIT_STATUS_OK);
    cnnkit_shape shape{4, CNNKIT_DTYPE_F32, {1, 3, 4, 5}};
    cnnkit_shape out_shape{};
    uint32_t n_out = 0;
    REQUIRE(api.infer(self, &shape, 1, &out_shape, 1, &n_out, &diag) == CNNKIT_STATUS_OK);
    REQUIRE(n_out == 1);
    CHECK(std::memcmp(&out_shape, &shape, sizeof shape) == 0);
    std::vector<float> x(60), y(60, -1.0f);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.25f - 7.0f;
    cnnkit_tensor in{shape, x.data()}, out{out_shape, y.data()};
    REQUIRE(api.run_cpu(self, &host, &in, 1, nullptr, 0, &out, 1, nullptr, &diag) ==
            CNNKIT_STATUS_OK);
    for (std::size_t i = 0; i < x.size(); ++i) CHECK(y[i] == Approx(x[i] * 2.0f + 0.5f));
    api.destroy(self);
}

TEST_CASE("@NAME@: two inputs are refused with a message", "[@NAME@]") {
    const cnnkit_layer_api& api = load_layer();
    cnnkit_param_value values[2] = {};
    values[0].count = values[1].count = 1;
    cnnkit_diag diag{};
    void* self = nullptr;
    REQUIRE(api.create(values, 2, &self, &diag) == CNNKIT_STATUS_OK);
    cnnkit_shape in[2] = {{1, CNNKIT_DTYPE_F32, {3}}, {1, CNNKIT_DTYPE_F32, {3}}};
    cnnkit_shape out{};
    uint32_t n_out = 0;
    CHECK(api.infer(self, in, 2, &out, 1, &n_out, &diag) != CNNKIT_STATUS_OK);
    CHECK(std::string(diag.text).find("@NAME@ takes 1 input, got 2") != std::string::npos);
    api.destroy(self);
}
)";

const char* net_template =
    R"(# A network that uses @NAME@: cnnkit run net.yaml --plugins build --random-weights 1 ...
name: @NAME@_example
inputs:
  image: [1, 3, 8, 8]
nodes:
  - {name: conv, type: conv, out_channels: 4, kernel: 3, pad: 1}
  - {name: @NAME@, type: @NAME@, scale: 2.0, shift: 0.5}
outputs:
  out: @NAME@
)";

std::string fill(std::string text, const std::string& name) {
    for (std::size_t at; (at = text.find("@NAME@")) != std::string::npos;)
        text.replace(at, 6, name);
    return text;
}

}  // namespace

int cmd_new_plugin(int argc, char** argv) {
    const args a(argc, argv, 2, {"dir", "plugins"}, {});
    if (a.positional().size() != 1) throw error("usage: cnnkit new-plugin NAME [--dir DIR]");
    const std::string name = a.positional()[0];
    if (!std::regex_match(name, std::regex("[a-z][a-z0-9_]{0,39}")))
        throw error(cat("plugin name '", name,
                        "': use lower case letters, digits and _, "
                        "starting with a letter (it becomes the YAML type and a C++ namespace)"));
    const auto reg = load_plugins(a);
    if (const kernel::layer_type* t = reg->find(name))
        throw error(cat("a layer type '", name, "' exists already (", t->plugin_path,
                        "); choose another name"));
    const fs::path dir = a.get("dir") ? fs::path(*a.get("dir")) : fs::path(name);
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
        throw error(cat(dir.string(), ": folder exists and is not empty; choose another --dir"));
    const std::vector<std::pair<std::string, const char*>> files = {
        {"CMakeLists.txt", cmake_template},  {name + ".hpp", hpp_template},
        {name + ".cpp", cpp_template},       {name + ".comp", comp_template},
        {name + "_test.cpp", test_template}, {"net.yaml", net_template}};
    fs::create_directories(dir, ec);
    if (ec) throw error(cat(dir.string(), ": cannot create folder: ", ec.message()));
    for (const auto& [file, text] : files) {
        const std::string body = fill(text, name);
        kernel::write_file_atomic(dir / file, std::vector<unsigned char>(body.begin(), body.end()));
        std::cout << "created " << (dir / file).string() << '\n';
    }
    std::cout << "next:\n  cmake -S " << dir.string() << " -B " << (dir / "build").string()
              << " -DCMAKE_PREFIX_PATH=<cnnkit install prefix>\n  cmake --build "
              << (dir / "build").string() << " && ctest --test-dir " << (dir / "build").string()
              << "\n  cnnkit run " << (dir / "net.yaml").string() << " --plugins "
              << (dir / "build").string()
              << " --random-weights 1 --input image=x.npy --output-dir out\n";
    return 0;
}

}  // namespace cnnkit::host
