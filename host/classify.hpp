// classify.hpp: `run --image`: an image through the network's preprocess block, and the top-k
// classes of each output as a table.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "network.hpp"

namespace cnnkit::host {

// The input tensor the network's `preprocess:` makes of `image`; prints what it did to `log`.
std::pair<std::string, kernel::host_tensor> image_input(const kernel::graph& g,
                                                        const std::string& image,
                                                        std::ostream& log);

// For each output, the `k` largest scores of batch item 0 with their labels. Scores that are
// already a distribution (all in [0, 1], sum 1) are shown as they are, others after softmax.
void print_top_k(std::ostream& os, const std::map<std::string, kernel::host_tensor>& outputs,
                 const std::vector<std::string>& labels, int k);

}  // namespace cnnkit::host
