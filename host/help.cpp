// help.cpp: per-command help texts; every one ends with a runnable example.
#include "help.hpp"

#include <cstring>
#include <map>

namespace cnnkit::host {
namespace {

const char* common =
    "  --plugins DIR          also load the plugins in DIR (repeatable; and CNNKIT_PLUGIN_PATH)\n"
    "  --weights W.safetensors | --random-weights SEED\n"
    "  --threads N            worker threads (default: all cores)\n"
    "  --batch B              override dimension 0 of every input\n"
    "  --precision fp32|bf16  CPU: bf16 keeps fully connected weights as bfloat16 (half the\n"
    "                         bytes; float32 activations and sums); default fp32\n";

const std::map<std::string, std::string> texts = {
    {"run",
     std::string("usage: cnnkit run MODEL (--input NAME=X.npy ... | --image FILE) "
                 "[--output-dir DIR] [options]\n"
                 "Runs a network. --output-dir writes DIR/<output>.npy for every output; --image\n"
                 "decodes a PNG/JPEG/BMP through the network's preprocess: block and prints the\n"
                 "top classes.\n"
                 "  --input NAME=X.npy     a network input (repeatable)\n"
                 "  --output-dir DIR       where the outputs go (atomically written)\n"
                 "  --image FILE           an image for the input named in preprocess:\n"
                 "  --labels FILE          class names, one a line (default: labels: of the YAML)\n"
                 "  --top K                how many classes to print (default 5)\n"
                 "  --watch [--watch-max N]  re-run whenever the files or plugins change\n"
                 "  --backend cpu|vulkan|auto  where nodes run (default cpu; auto: Vulkan when\n"
                 "                         there is a device, else the CPU with one warning)\n"
                 "  --device N             the Vulkan device (cnnkit devices lists them)\n"
                 "  --fp16                 Vulkan: store tensors and weights as float16 (fp32\n"
                 "                         arithmetic); needs 16-bit storage buffers\n"
                 "  --explain              print where each node runs and why, and every transfer\n") +
         common +
         "example:\n  cnnkit run configs/lenet5.yaml --random-weights 1 --image digit.png "
         "--top 3\n"},
    {"check",
     std::string("usage: cnnkit check NET.yaml [--batch B] [--plugins DIR] [--watch]\n"
                 "Loads and checks a network: per node the output shape, parameters and\n"
                 "multiply-adds, then totals and the planned memory.\n"
                 "  --watch [--watch-max N]  check again whenever the file or a plugin changes\n") +
         "example:\n  cnnkit check configs/alexnet.yaml\n"},
    {"layers",
     "usage: cnnkit layers [TYPE] [--plugins DIR]\n"
     "Lists the layer types of the loaded plugins, or one type's params, kinds and defaults.\n"
     "example:\n  cnnkit layers conv\n"},
    {"bench",
     std::string(
         "usage: cnnkit bench NET [--runs N | --time SECONDS] [--warmup N] [--json] "
         "[options]\n"
         "Times whole inferences: min/median/p90 latency, throughput, GFLOP/s from the\n"
         "multiply-adds (2 FLOP each), peak RSS and arena bytes. Inputs are random unless\n"
         "given; weights are random (seed 1) unless given.\n"
         "  --runs N               timed runs (default 20)\n"
         "  --time SECONDS         run for this long instead\n"
         "  --warmup N             untimed runs first (default 3)\n"
         "  --input NAME=X.npy     a fixed input\n"
         "  --json                 one JSON object on stdout (progress stays on stderr)\n"
         "  --backend cpu|vulkan|auto  where nodes run (default cpu); a Vulkan run uploads\n"
         "                         the inputs and reads the outputs back every time\n"
         "  --device N             the Vulkan device (cnnkit devices lists them)\n"
         "  --fp16                 Vulkan with float16 storage\n") +
         common +
         "example:\n  cnnkit bench configs/alexnet.yaml --runs 50 --batch 8 --threads 4\n"},
    {"profile",
     std::string(
         "usage: cnnkit profile NET [--runs N] [--trace out.json] [options]\n"
         "Per-node time over N runs, sorted, with share of the total, GFLOP/s and backend.\n"
         "  --runs N               profiled runs (default 10)\n"
         "  --warmup N             untimed runs first (default 1)\n"
         "  --input NAME=X.npy     a fixed input\n"
         "  --trace FILE           Chrome/Perfetto trace: one span per node per run, one\n"
         "                         track per worker thread (ui.perfetto.dev)\n"
         "  --backend vulkan       GPU nodes timed with timestamp queries: a GPU track in\n"
         "                         the trace (nodes and transfers), vulkan in the table\n"
         "  --fp16                 Vulkan with float16 storage\n") +
         common +
         "example:\n  cnnkit profile configs/alexnet.yaml --runs 5 --trace alexnet.json\n"},
    {"graph",
     "usage: cnnkit graph NET.yaml -o FILE.svg|.png|.pdf|.dot [--batch B] [--plugins DIR]\n"
     "Draws the expanded graph with Graphviz: type, output shape and parameters per node,\n"
     "composite layers and blocks as clusters. .dot needs no Graphviz.\n"
     "  -o, --output FILE      the picture; the format follows the extension\n"
     "example:\n  cnnkit graph configs/lenet5.yaml -o lenet5.svg\n"},
    {"schema",
     "usage: cnnkit schema [--plugins DIR]\n"
     "Prints a JSON Schema (draft-07) of the YAML network format, from the reflected params\n"
     "of every loaded plugin, for editors (yaml-language-server) and validators.\n"
     "example:\n  cnnkit schema > cnnkit.schema.json\n"},
    {"import",
     "usage: cnnkit import MODEL.onnx -o NET.yaml --weights NET.safetensors [--batch B]\n"
     "Converts an ONNX model into a readable YAML network and its weights; an unsupported op\n"
     "or attribute is an error naming the node. (cnnkit run/check MODEL.onnx import on the fly.)\n"
     "  -o, --output NET.yaml  the network\n"
     "  --weights FILE         the weights (.safetensors)\n"
     "  --batch B              override dimension 0 of every input\n"
     "  --plugins DIR          also load the plugins in DIR\n"
     "example:\n  cnnkit import resnet50.onnx -o resnet50.yaml --weights resnet50.safetensors\n"},
    {"devices",
     "usage: cnnkit devices\n"
     "Lists the Vulkan devices, numbered as run's device option counts them (a discrete GPU is\n"
     "preferred by default).\n"
     "example:\n  cnnkit devices\n"},
    {"new-plugin",
     "usage: cnnkit new-plugin NAME [--dir DIR]\n"
     "Creates an out-of-tree plugin folder (default ./NAME): CMakeLists.txt using\n"
     "find_package(cnnkit), NAME.hpp (params), NAME.cpp (shape rule, CPU kernel), NAME.comp\n"
     "(GLSL stub), NAME_test.cpp (Catch2, through the C ABI) and net.yaml.\n"
     "example:\n  cnnkit new-plugin my_scale --dir plugins/my_scale\n"},
};

}  // namespace

const char* command_help(const std::string& command) {
    const auto it = texts.find(command);
    return it == texts.end() ? nullptr : it->second.c_str();
}

bool wants_help(int argc, char** argv) {
    for (int i = 2; i < argc; ++i)
        if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return true;
    return false;
}

}  // namespace cnnkit::host
