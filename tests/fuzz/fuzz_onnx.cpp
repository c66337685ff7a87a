// fuzz_onnx.cpp: libFuzzer target: the ONNX importer (protobuf parsing, initializers, attributes,
// constant folding of shape subgraphs, op mapping), then the loader on the YAML it writes.
#include <exception>
#include <string_view>

#include "fuzz_common.hpp"
#include "graph/yaml_loader.hpp"
#include "onnx/importer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto m = cnnkit::kernel::import_onnx_bytes(
            cnnkit::fuzz::plugins(), std::string_view(reinterpret_cast<const char*>(data), size),
            "fuzz.onnx");
        (void)cnnkit::kernel::load_yaml_text(cnnkit::fuzz::plugins(), m.yaml, "fuzz.yaml");
    } catch (const std::exception&) {
        // Refusing the input is the expected outcome; crashes and sanitizer reports are bugs.
    }
    return 0;
}
