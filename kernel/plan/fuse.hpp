// fuse.hpp: load-time fusion of a bound graph for the CPU backend (results unchanged up to
// float rounding): conv + batch_norm folding (the conv's weights and bias are rewritten),
// conv + residual add, conv + relu/relu6/tanh/sigmoid. What cannot be fused stays as it is.
#pragma once

#include "graph/graph.hpp"
#include "weights/weights.hpp"

namespace cnnkit::kernel {

struct fuse_report {
    int batch_norms = 0;  // folded into the conv before them
    int residuals = 0;    // adds taken into the conv before them
    int activations = 0;  // taken into the conv's epilogue
};

// Rewrites `g` and `w` in place; removed nodes and tensors are gone and ids renumbered.
fuse_report fuse_graph(graph& g, weight_store& w);

}  // namespace cnnkit::kernel
