// fuzz_yaml.cpp: libFuzzer target: the YAML network loader (parse, blocks, params, shapes).
#include <exception>
#include <string>

#include "fuzz_common.hpp"
#include "graph/yaml_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        (void)cnnkit::kernel::load_yaml_text(cnnkit::fuzz::plugins(), text, "fuzz.yaml");
    } catch (const std::exception&) {
        // Refusing the input is the expected outcome; crashes and sanitizer reports are bugs.
    }
    return 0;
}
