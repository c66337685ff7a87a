// fuzz_safetensors.cpp: libFuzzer target: the safetensors reader (through a memfd, as it maps
// files), every accepted entry read to its last byte.
#include <sys/mman.h>
#include <unistd.h>

#include <exception>
#include <string>

#include "weights/weights.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const int fd = ::memfd_create("fuzz.safetensors", MFD_CLOEXEC);
    if (fd < 0) return 0;
    if (::write(fd, data, size) != static_cast<ssize_t>(size)) {
        ::close(fd);
        return 0;
    }
    try {
        const auto f =
            cnnkit::kernel::safetensors_file::open("/proc/self/fd/" + std::to_string(fd));
        unsigned sum = 0;
        for (const auto& [name, e] : f->entries())
            for (std::size_t i = 0; i < e.bytes; ++i) sum += e.data[i];
        (void)sum;
    } catch (const std::exception&) {
    }
    ::close(fd);
    return 0;
}
