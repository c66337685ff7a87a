// context.hpp: the importer's state shared by the model walk (importer.cpp) and the op mappings
// (ops.cpp): constants, the YAML reference of every ONNX value, attribute access, node emission.
#pragma once

#include <onnx/onnx_pb.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "onnx/importer.hpp"

namespace cnnkit::kernel::onnx_import_detail {

// An initializer or Constant output, kept on the host until a layer takes it as a weight or as
// a data input (then it becomes a `constant` node).
struct constant {
    std::vector<std::int64_t> dims;  // empty: a scalar
    std::vector<double> v;
    bool integer = false;
    std::int64_t numel() const;
};

// Elements of one constant (initializer, Constant, or a folded result: ConstantOfShape could
// otherwise ask for any size from a few bytes of model).
inline constexpr std::int64_t max_constant_elements = std::int64_t{1} << 24;

// One YAML param: key and flow text ("[3, 3]", "max", "0.5").
using param_list = std::vector<std::pair<std::string, std::string>>;
std::string fmt(double x);
std::string fmt_list(const std::vector<std::int64_t>& v);
std::string fmt_list(const std::vector<double>& v);

class context {
public:
    context(const registry& reg, std::string file)
        : reg_(reg), b_(reg, g_), file_(std::move(file)) {}

    int opset = 0;
    const onnx::NodeProto* node = nullptr;  // the node being mapped (for messages)
    std::int64_t folded = 0;  // elements constant folding computed so far (limits.hpp)

    [[noreturn]] void fail(const std::string& msg) const;
    std::string node_label() const;  // "node 'conv1'" or "the node making 'y'" when unnamed
    // Attributes of the current node: refuses any not listed, and reads them with defaults.
    void allow_attrs(const std::set<std::string>& names) const;
    const onnx::AttributeProto* attr(const std::string& name) const;
    std::int64_t attr_int(const std::string& name, std::int64_t fallback) const;
    float attr_float(const std::string& name, float fallback) const;
    std::string attr_string(const std::string& name, const std::string& fallback) const;
    std::vector<std::int64_t> attr_ints(const std::string& name,
                                        const std::vector<std::int64_t>& fallback) const;
    // Fails naming the attribute unless `ok`.
    void expect_attr(bool ok, const std::string& name, const std::string& why) const;

    // Inputs of the current node; an empty name is an absent optional input.
    bool has_in(int i) const;
    int n_in() const { return node->input_size(); }
    const constant* const_in(int i) const;  // null for a computed value
    const constant& need_const(int i, const std::string& what) const;
    std::string data_in(int i);  // the YAML reference; constants become nodes
    sdk::shape shape_in(int i);
    int n_out() const;  // outputs with a name (trailing optional outputs may be absent)

    // Adds a layer fed by `inputs`; binds its outputs to the node's first n outputs. Weights are
    // checked against what the plugin declares. Returns the new node's YAML name.
    std::string emit(const std::string& type, const std::vector<std::string>& inputs,
                     const param_list& params,
                     const std::vector<std::pair<std::string, constant>>& weights = {},
                     int outputs = 1, const std::string& suffix = "");
    // Makes ONNX value `name` a known constant / an alias of a YAML reference.
    void set_const(const std::string& name, constant c) { consts_[name] = std::move(c); }
    void bind(const std::string& onnx_name, const std::string& ref);

    // Model-level steps (importer.cpp).
    void add_input(const onnx::ValueInfoProto& v, std::optional<std::int64_t> batch);
    void add_output(const onnx::ValueInfoProto& v);
    onnx_import finish(const std::string& header, const std::string& name);

private:
    void add_node(const std::string& name, const std::string& type,
                  const std::vector<std::string>& inputs, const param_list& params,
                  const std::vector<std::pair<std::string, constant>>& weights = {});
    std::string unique_name(const std::string& raw);
    std::string ref_of(const std::string& onnx_name);

    const registry& reg_;
    graph g_;
    graph_builder b_;
    std::string file_;
    std::map<std::string, constant> consts_;
    std::map<std::string, std::string> refs_;  // ONNX value -> "node" / "node:1" / input name
    std::map<std::string, int> tensor_of_ref_;
    std::set<std::string> used_names_, inputs_;
    std::vector<std::string> input_lines_, node_lines_, output_lines_;
    onnx_import out_;
};

// Maps the current node of `c` (c.node) onto layers; throws for anything unsupported.
void map_node(context& c);
// Op mappings of ops_tensor.cpp, and the 2-D (NCHW) input check they share with ops.cpp.
void pad(context& c);
void resize(context& c);
void constant_node(context& c);
void need_2d(context& c, const std::string& what = "input");
// Runs the current node on the host when its inputs are constants (fold.cpp): true when it did.
bool fold_node(context& c);
// Reads an ONNX tensor (float, double, int32, int64) as a constant.
constant to_constant(const onnx::TensorProto& t, const std::string& what);
// Checks dims of a constant (each >= 0, at most max_constant_elements): its numel.
std::int64_t checked_dims(const std::vector<std::int64_t>& dims, const std::string& what);
// A constant's value as an integer, saturated to +-2^62 (no overflow); fails (naming `what`) on NaN.
std::int64_t int_of(const context& c, double v, const std::string& what);
std::string sanitize(const std::string& raw);

}  // namespace cnnkit::kernel::onnx_import_detail
