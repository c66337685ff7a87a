// gpu.hpp: how a layer describes its Vulkan compute kernels: SPIR-V (embedded by
// cnnkit_add_plugin's SHADERS), bindings, specialization constants, a reflected push-constant
// struct and a workgroup grid. The plugin never touches a Vulkan object; the host builds them.
//
// A layer opts in with a static member
//   static std::vector<gpu::dispatch> vulkan(const params&, const gpu::call&);
// and throws gpu::unsupported for a configuration it has no kernel for (the node then runs on
// the CPU, and `cnnkit run --explain` shows the reason).
#pragma once

#include <cnnkit/plugin_abi.h>

#include <algorithm>
#include <array>
#include <bit>
#include <boost/pfr.hpp>
#include <cnnkit/error.hpp>
#include <cnnkit/tensor.hpp>
#include <cstring>
#include <glm/vec2.hpp>
#include <glm/vec4.hpp>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <type_traits>

namespace cnnkit::sdk::gpu {

// A compiled shader inside the plugin: CNNKIT_GPU_KERNEL(conv) names conv.comp's embedded words.
struct kernel {
    const char* name;
    const std::uint32_t* spirv;
    std::uint32_t words;
};
#define CNNKIT_GPU_KERNEL(stem)             \
    ::cnnkit::sdk::gpu::kernel {            \
#stem, stem##_spv, stem##_spv_words \
    }

// Thrown by vulkan() when there is no kernel for this configuration: the node runs on the CPU.
struct unsupported : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What vulkan() sees: the node's input and output shapes.
struct call {
    std::span<const shape> in;
    std::span<const shape> out;
};

inline cnnkit_gpu_binding in(std::uint32_t i) {
    return {CNNKIT_GPU_INPUT, i};
}
inline cnnkit_gpu_binding out(std::uint32_t i) {
    return {CNNKIT_GPU_OUTPUT, i};
}
inline cnnkit_gpu_binding weight(std::uint32_t i) {
    return {CNNKIT_GPU_WEIGHT, i};
}

// A float specialization constant, as the 32-bit word Vulkan takes.
inline std::uint32_t spec_float(float f) {
    return std::bit_cast<std::uint32_t>(f);
}

inline std::uint32_t div_up(std::int64_t a, std::int64_t b) {
    return static_cast<std::uint32_t>((a + b - 1) / b);
}

// Shaders index with 32-bit ints: a larger tensor (count elements or words) is declined.
inline void check_indexable(std::int64_t count) {
    if (count >= (std::int64_t{1} << 31))
        throw unsupported(cat(count, " elements: the shaders index with 32-bit integers"));
}

// Workgroups covering `count` invocations of `local` each, folded into x and y so that neither
// exceeds 65535 (declines counts of 2^31 or more). Shaders index with gl_GlobalInvocationID.x + y *
// gl_NumWorkGroups.x * local.
inline std::array<std::uint32_t, 3> grid(std::int64_t count, std::uint32_t local) {
    check_indexable(count);
    const std::int64_t blocks = std::max<std::int64_t>(1, (count + local - 1) / local);
    const std::int64_t x = std::min<std::int64_t>(blocks, 65535);
    const std::int64_t y = (blocks + x - 1) / x;
    if (y > 65535)
        throw unsupported(cat("tensor of ", count, " elements is too large for one dispatch"));
    return {static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y), 1u};
}

namespace detail {
// std430 alignment of a push-constant field type; 0 if the type is not allowed.
template <class F>
constexpr std::size_t std430_align() {
    if constexpr (std::is_same_v<F, std::int32_t> || std::is_same_v<F, std::uint32_t> ||
                  std::is_same_v<F, float>)
        return 4;
    else if constexpr (std::is_same_v<F, glm::ivec2> || std::is_same_v<F, glm::uvec2> ||
                       std::is_same_v<F, glm::vec2>)
        return 8;
    else if constexpr (std::is_same_v<F, glm::ivec4> || std::is_same_v<F, glm::uvec4> ||
                       std::is_same_v<F, glm::vec4>)
        return 16;
    else
        return 0;
}

// True when the C++ layout of T equals the std430 layout GLSL gives the same member list.
template <class T, std::size_t... I>
consteval bool push_layout_matches(std::index_sequence<I...>) {
    std::size_t cpp = 0, glsl = 0;
    bool ok = true;
    auto field = [&]<class F>(F*) {
        constexpr std::size_t a = std430_align<F>();
        if (a == 0) ok = false;
        cpp = (cpp + alignof(F) - 1) / alignof(F) * alignof(F);
        glsl = (glsl + a - 1) / a * a;
        ok = ok && cpp == glsl;
        cpp += sizeof(F);
        glsl += sizeof(F);
    };
    (field(static_cast<boost::pfr::tuple_element_t<I, T>*>(nullptr)), ...);
    return ok && cpp == sizeof(T);
}
}  // namespace detail

// Push constants are a plain aggregate of int32/uint32/float and glm 2- and 4-vectors whose
// C++ layout equals std430 (reflected with Boost.PFR, checked at compile time).
template <class T>
concept push_constants = std::is_aggregate_v<T> && std::is_trivially_copyable_v<T> &&
                         sizeof(T) <= CNNKIT_GPU_MAX_PUSH&& detail::push_layout_matches<T>(
                                          std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});

// One dispatch, built from a kernel, its bindings, push constants, a grid and spec constants.
struct dispatch {
    cnnkit_gpu_dispatch raw{};

    template <push_constants Push>
    dispatch(const kernel& k, std::initializer_list<cnnkit_gpu_binding> bindings, const Push& push,
             std::array<std::uint32_t, 3> groups, std::initializer_list<std::uint32_t> spec = {}) {
        expect(bindings.size() <= CNNKIT_GPU_MAX_BINDINGS, k.name, ": too many bindings");
        expect(spec.size() <= CNNKIT_GPU_MAX_SPEC, k.name, ": too many specialization constants");
        raw.struct_size = sizeof(cnnkit_gpu_dispatch);
        raw.name = k.name;
        raw.spirv = k.spirv;
        raw.spirv_words = k.words;
        raw.binding_count = static_cast<std::uint32_t>(bindings.size());
        std::copy(bindings.begin(), bindings.end(), raw.bindings);
        raw.spec_count = static_cast<std::uint32_t>(spec.size());
        std::copy(spec.begin(), spec.end(), raw.spec);
        raw.push_bytes = sizeof(Push);
        std::memcpy(raw.push, &push, sizeof(Push));
        for (int i = 0; i < 3; ++i) {
            if (groups[i] < 1 || groups[i] > 65535)  // the minimum limit every device has
                throw unsupported(
                    cat(k.name, ": workgroup count ", groups[i], " outside 1..65535"));
            raw.groups[i] = groups[i];
        }
    }
};

}  // namespace cnnkit::sdk::gpu
