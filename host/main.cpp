// main.cpp: `cnnkit COMMAND ...`: dispatch, help, and the one place errors become exit codes.
#include "bench.hpp"
#include "commands.hpp"
#include "draw.hpp"
#include "help.hpp"
#include "report.hpp"
#include "backends/cpu/blas_core.hpp"

#include <cnnkit/plugin_abi.h>

#include <cstring>
#include <iostream>

namespace {

const char* usage =
    "usage: cnnkit COMMAND [ARGS]\n"
    "commands:\n"
    "  run MODEL --input NAME=X.npy --output-dir DIR [--weights W.safetensors |\n"
    "      --random-weights SEED] [--threads N] [--batch B] [--plugins DIR]\n"
    "      [--backend cpu|vulkan|auto] [--device N] [--explain]\n"
    "                      run a network; writes DIR/<output>.npy for each output\n"
    "  check MODEL         per-node table: output shape, parameters, multiply-adds\n"
    "  layers [TYPE]       the registered layer types and their params\n"
    "  import MODEL.onnx -o NET.yaml --weights NET.safetensors\n"
    "                      an ONNX model as a YAML network and its weights\n"
    "  devices             the Vulkan devices (--device N picks one)\n"
    "  bench NET           latency, throughput, GFLOP/s and memory of whole inferences\n"
    "  profile NET         per-node times; --trace out.json for Perfetto\n"
    "  graph NET -o F.svg  draw the expanded graph (Graphviz)\n"
    "  schema              JSON Schema of the network format, from the loaded plugins\n"
    "  new-plugin NAME     scaffold an out-of-tree plugin folder\n"
    "  COMMAND --help      a command's options and an example\n"
    "  --version           print the version and the plugin ABI version\n"
    "example:\n"
    "  cnnkit run configs/lenet5.yaml --random-weights 1 --input image=x.npy --output-dir out\n";

}  // namespace

int main(int argc, char** argv) {
    cnnkit::kernel::reexec_with_better_blas_core(argv);  // OpenBLAS on CPUs newer than it
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::cout << usage;
        return argc < 2 ? 1 : 0;
    }
    const std::string cmd = argv[1];
    if (cmd == "--version") {
        std::cout << "cnnkit " << CNNKIT_VERSION << " (plugin ABI " << CNNKIT_ABI_VERSION << ")\n";
        return 0;
    }
    if (cnnkit::host::wants_help(argc, argv))
        if (const char* text = cnnkit::host::command_help(cmd)) {
            std::cout << text;
            return 0;
        }
    try {
        if (cmd == "run") return cnnkit::host::cmd_run(argc, argv);
        if (cmd == "check") return cnnkit::host::cmd_check(argc, argv);
        if (cmd == "layers") return cnnkit::host::cmd_layers(argc, argv);
        if (cmd == "bench") return cnnkit::host::cmd_bench(argc, argv);
        if (cmd == "profile") return cnnkit::host::cmd_profile(argc, argv);
        if (cmd == "import") return cnnkit::host::cmd_import(argc, argv);
        if (cmd == "graph") return cnnkit::host::cmd_graph(argc, argv);
        if (cmd == "schema") return cnnkit::host::cmd_schema(argc, argv);
        if (cmd == "devices") return cnnkit::host::cmd_devices(argc, argv);
        if (cmd == "new-plugin") return cnnkit::host::cmd_new_plugin(argc, argv);
        std::cerr << "error: unknown command '" << cmd << "'\n" << usage;
        return 1;
    } catch (const std::exception& e) {
        cnnkit::host::print_error(std::cerr, e);
        return 1;
    } catch (...) {
        std::cerr << "error: unknown failure\n";
        return 1;
    }
}
