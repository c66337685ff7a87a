// fuzz_run.cpp: libFuzzer target: load a YAML network with random weights and run it once on a
// fixed input. Networks over a small budget are skipped so that each run stays fast.
#include <exception>
#include <string>

#include "fuzz_common.hpp"
#include "network.hpp"

using namespace cnnkit::kernel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        graph g = load_yaml_text(cnnkit::fuzz::plugins(), text, "fuzz.yaml");
        std::int64_t macs = 0, elements = 0;
        for (const auto& n : g.nodes) macs += n.macs;
        for (const auto& t : g.tensors) elements += t.shape.numel();
        for (const auto& w : g.weights) elements += w.shape.numel();
        if (g.nodes.size() > 64 || macs > 2000000 || elements > 1000000) return 0;
        std::map<std::string, host_tensor> inputs;
        for (int t : g.inputs) {
            host_tensor x;
            x.shape = g.tensors[t].shape;
            x.bytes.resize(static_cast<std::size_t>(x.shape.numel()) *
                           element_size(x.shape.type()));
            for (std::size_t i = 0; i < x.bytes.size(); ++i)
                x.bytes[i] = static_cast<unsigned char>(i * 37 % 61);  // small finite floats
            inputs[g.tensors[t].name] = std::move(x);
        }
        network_options o;
        o.random_seed = 1;
        o.threads = 1;
        const auto net = network::from_graph(std::move(g), o);
        (void)net->run(inputs);
    } catch (const std::exception&) {
    }
    return 0;
}
