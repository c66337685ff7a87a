// draw.hpp: `cnnkit graph`: the expanded graph as Graphviz DOT, rendered by the `dot` program.
#pragma once

#include <string>

#include "graph/graph.hpp"

namespace cnnkit::host {

// DOT text: inputs and outputs as ellipses, nodes labelled with name, type, output shape and
// parameter count, composite layers and blocks as nested clusters.
std::string to_dot(const kernel::graph& g);

int cmd_graph(int argc, char** argv);

}  // namespace cnnkit::host
