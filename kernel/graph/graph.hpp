// graph.hpp: the checked graph IR (nodes in topological order, tensors with inferred shapes,
// the weights each node expects) and graph_builder, which creates layers and checks as it adds.
#pragma once

#include "graph/preprocess.hpp"
#include "plugins/registry.hpp"
#include "util/located.hpp"

#include <cnnkit/tensor.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cnnkit::kernel {

struct node {
    std::string name;  // full dotted path: "layer1.0.conv1"
    const layer_type* type = nullptr;
    std::shared_ptr<void> self;  // the plugin's layer object (destroyed through its API)
    std::vector<cnnkit_param_value> params;
    std::vector<int> inputs, outputs, weights;  // tensor ids, weight ids
    std::int64_t macs = 0;
    std::uint64_t workspace = 0;
    source_loc where;
    std::string group;  // the composite or block this node was expanded from ("" = top level)
};

// Whether `n` is a layer of type `type`; the index of its param `name` in the layer's schema
// (-1 if it has none); that param's first value (0 if it has none).
bool is_type(const node& n, const char* type);
int param_index(const node& n, const char* name);
double param_value(const node& n, const char* name);

struct tensor_info {
    std::string name;  // "conv1" for a node's first output, "pool1:1" for its second
    sdk::shape shape;
    int producer = -1;  // node id; -1 for a network input
    std::vector<int> consumers;
};

struct weight_info {
    std::string name;  // "<node>.<weight>"
    sdk::shape shape;
    cnnkit_weight_init init = CNNKIT_INIT_FAN_IN;
    int node = -1;
    bool buffer = false;  // state such as running statistics, not a learned parameter
};

struct graph {
    std::string name;
    std::string file;
    std::vector<node> nodes;  // topological order
    std::vector<tensor_info> tensors;
    std::vector<weight_info> weights;
    std::vector<int> inputs;                           // tensor ids, in declaration order
    std::vector<std::pair<std::string, int>> outputs;  // public name -> tensor id
    std::optional<preprocess_spec> preprocess;          // `preprocess:` (images -> input)
    std::vector<std::string> labels;                    // `labels:` (class names)
    std::map<std::string, std::string> groups;          // node.group -> composite/block type

    std::int64_t param_count(const node& n) const;   // learned values of n's weights
    std::int64_t buffer_count(const node& n) const;  // the rest: state such as running stats
};

// A layer's shape rule refused its inputs. detail() names them as the network does
// ("'c2' {1, 4, 30, 30} does not broadcast with 'c1' {1, 8, 30, 30}: ..."); the location is
// the offending input's entry in `inputs:` when the file has one, else the node.
class shape_error : public located_error {
public:
    shape_error(source_loc loc, const std::string& layer, std::string detail)
        : located_error(std::move(loc), "shape mismatch in " + layer + ": " + detail),
          detail_(std::move(detail)) {}
    const std::string& detail() const { return detail_; }

private:
    std::string detail_;
};

// Adds inputs and layers to a graph, inferring shapes and expanding composites as it goes.
class graph_builder {
public:
    graph_builder(const registry& reg, graph& g) : reg_(reg), g_(g) {}

    int add_input(const std::string& name, const sdk::shape& shape);
    // Creates `type` with `params`, checks and infers it on `inputs`; returns its output tensor ids
    // (for a composite, the outputs of its expansion). Errors are nested under the node's name;
    // a refused shape is a shape_error at input_where[i] (each input's reference, if known).
    std::vector<int> add_layer(const std::string& name, const layer_type& type,
                               std::vector<cnnkit_param_value> params,
                               const std::vector<int>& inputs, const source_loc& where,
                               const std::string& group = "",
                               const std::vector<source_loc>& input_where = {});
    // Messages call tensor `id` `shown` (an ONNX value name) instead of its graph name.
    void show_as(int id, const std::string& shown) { shown_[id] = shown; }
    void add_output(const std::string& name, int tensor);
    const registry& types() const { return reg_; }

private:
    std::vector<int> add_primitive(const std::string& name, const layer_type& type,
                                   std::vector<cnnkit_param_value> params,
                                   std::shared_ptr<void> self, const std::vector<int>& inputs,
                                   const source_loc& where, const std::string& group,
                                   const std::vector<source_loc>& input_where);
    [[noreturn]] void refuse_shape(const std::string& name, const layer_type& type,
                                   const std::string& text, const std::vector<int>& inputs,
                                   const source_loc& where,
                                   const std::vector<source_loc>& input_where) const;
    std::vector<int> expand(const std::string& name, const layer_type& type, const void* self,
                            const std::vector<int>& inputs, const source_loc& where,
                            const std::vector<source_loc>& input_where);

    const registry& reg_;
    graph& g_;
    std::map<std::string, int> node_names_;
    std::map<int, std::string> shown_;
};

// Creates a plugin layer object from parsed values; throws with the plugin's diagnostic.
std::shared_ptr<void> create_layer(const layer_type& type,
                                   const std::vector<cnnkit_param_value>& params);
// Turns a non-OK status from a plugin call into cnnkit::error naming the plugin.
void check_status(cnnkit_status s, const cnnkit_diag& d, const layer_type& type, const char* what);

}  // namespace cnnkit::kernel
