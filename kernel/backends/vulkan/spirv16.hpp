// spirv16.hpp: fp16 storage for shaders written for 32-bit storage (`--fp16`). The plugin's SPIR-V
// is rewritten at load: the storage buffers at the chosen bindings hold 16-bit elements (float ->
// float16, uint -> uint16, int -> int16, vectors alike), every load widens to 32 bits and every
// store narrows (OpFConvert / OpUConvert / OpSConvert), so the arithmetic stays 32-bit. Needs the
// device's storageBuffer16BitAccess; plugins keep shipping one shader.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cnnkit::kernel::vk {

// The module with the storage buffers bound at descriptor set 0, binding b (bit b of `bindings`)
// narrowed to 16 bits. Throws cnnkit::error when the module uses such a buffer in a way the
// rewrite does not handle (atomics, pointer arithmetic, a buffer not of 32-bit scalars / vectors).
std::vector<std::uint32_t> narrow_storage(std::span<const std::uint32_t> spirv,
                                          std::uint32_t bindings);

// IEEE binary16 <-> binary32 on the host (round to nearest even; inf and NaN kept).
std::uint16_t to_half(float f);
float from_half(std::uint16_t h);

}  // namespace cnnkit::kernel::vk
