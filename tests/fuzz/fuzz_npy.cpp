// fuzz_npy.cpp: libFuzzer target: the .npy reader.
#include <exception>

#include "io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto t = cnnkit::kernel::parse_npy(data, size, "fuzz.npy");
        // What was accepted must round-trip.
        const auto again = cnnkit::kernel::encode_npy(t);
        const auto back = cnnkit::kernel::parse_npy(again.data(), again.size(), "again.npy");
        if (back.bytes != t.bytes || !(back.shape == t.shape)) __builtin_trap();
    } catch (const std::exception&) {
    }
    return 0;
}
