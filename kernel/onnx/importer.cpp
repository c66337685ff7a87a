// importer.cpp: reading the ModelProto, constants, names, and writing the YAML network; every
// layer goes through graph_builder as it is emitted, so shapes are known to the op mappings.
#include "onnx/importer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "graph/params.hpp"
#include "onnx/context.hpp"
#include "util/limits.hpp"
#include "util/text.hpp"

namespace cnnkit::kernel {
namespace onnx_import_detail {

std::int64_t constant::numel() const {
    std::int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
}

std::string fmt(double x) {
    if (std::isinf(x)) return x > 0 ? "3.40282347e+38" : "-3.40282347e+38";
    std::ostringstream os;
    os.precision(9);
    os << x;
    return os.str();
}

std::string fmt_list(const std::vector<std::int64_t>& v) {
    std::vector<std::string> parts;
    for (auto x : v) parts.push_back(std::to_string(x));
    return cat("[", join(parts, ", "), "]");
}

std::string fmt_list(const std::vector<double>& v) {
    std::vector<std::string> parts;
    for (auto x : v) parts.push_back(fmt(x));
    return cat("[", join(parts, ", "), "]");
}

std::int64_t checked_dims(const std::vector<std::int64_t>& dims, const std::string& what) {
    const auto n = limits::checked_numel(dims, 8);
    if (!n || *n > max_constant_elements)
        throw error(cat(what, ": dims ", fmt_list(dims), " are negative or over ",
                        max_constant_elements, " elements (the limit for an ONNX constant)"));
    return *n;
}

std::int64_t int_of(const context& c, double v, const std::string& what) {
    // Exporters write INT64_MIN / INT64_MAX for "to the end" (Slice): saturate, and let the
    // checks downstream refuse what is too large for its use.
    constexpr double bound = 4611686018427387904.0;  // 2^62
    if (std::isnan(v)) c.fail(cat(what, " value ", fmt(v), " is not a usable integer"));
    return static_cast<std::int64_t>(std::clamp(v, -bound, bound));
}

constant to_constant(const onnx::TensorProto& t, const std::string& what) {
    constant c;
    for (auto d : t.dims()) c.dims.push_back(d);
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
        throw error(cat(what, ": external tensor data is not supported"));
    const std::int64_t n = checked_dims(c.dims, what);
    const std::string& raw = t.raw_data();
    auto from_raw = [&](auto sample) {
        using T = decltype(sample);
        if (raw.size() != static_cast<std::size_t>(n) * sizeof(T))
            throw error(cat(what, ": raw data holds ", raw.size(), " bytes, dims need ",
                            n * static_cast<std::int64_t>(sizeof(T))));
        for (std::int64_t i = 0; i < n; ++i) {
            T x;
            std::memcpy(&x, raw.data() + i * sizeof(T), sizeof(T));
            c.v.push_back(static_cast<double>(x));
        }
    };
    switch (t.data_type()) {
        case onnx::TensorProto::FLOAT:
            if (!raw.empty())
                from_raw(float{});
            else
                for (float x : t.float_data()) c.v.push_back(x);
            break;
        case onnx::TensorProto::DOUBLE:
            if (!raw.empty())
                from_raw(double{});
            else
                for (double x : t.double_data()) c.v.push_back(x);
            break;
        case onnx::TensorProto::INT64:
            c.integer = true;
            if (!raw.empty())
                from_raw(std::int64_t{});
            else
                for (auto x : t.int64_data()) c.v.push_back(static_cast<double>(x));
            break;
        case onnx::TensorProto::INT32:
            c.integer = true;
            if (!raw.empty())
                from_raw(std::int32_t{});
            else
                for (auto x : t.int32_data()) c.v.push_back(x);
            break;
        default:
            throw error(cat(what, ": element type ",
                            onnx::TensorProto::DataType_Name(
                                static_cast<onnx::TensorProto::DataType>(t.data_type())),
                            " is not supported (float, double, int32, int64)"));
    }
    if (static_cast<std::int64_t>(c.v.size()) != n)
        throw error(cat(what, ": holds ", c.v.size(), " values, dims need ", n));
    return c;
}

std::string context::node_label() const {
    return !node->name().empty() ? cat("node '", node->name(), "'")
           : node->output_size() ? cat("the node making '", node->output(0), "'")
                                 : std::string("a node");
}

void context::fail(const std::string& msg) const {
    if (!node) throw error(cat(file_, ": ", msg));
    throw error(cat(file_, ": ", node_label(), " (", node->op_type(), "): ", msg));
}

void context::allow_attrs(const std::set<std::string>& names) const {
    for (const auto& a : node->attribute())
        if (!names.count(a.name()))
            fail(cat(
                "attribute '", a.name(), "' is not supported",
                names.empty()
                    ? std::string(" (this op takes none)")
                    : cat(" (supported: ",
                          join(std::vector<std::string>(names.begin(), names.end()), ", "), ")")));
}

const onnx::AttributeProto* context::attr(const std::string& name) const {
    for (const auto& a : node->attribute())
        if (a.name() == name) return &a;
    return nullptr;
}

std::int64_t context::attr_int(const std::string& name, std::int64_t fallback) const {
    const auto* a = attr(name);
    if (!a) return fallback;
    expect_attr(a->type() == onnx::AttributeProto::INT, name, "must be an int");
    return a->i();
}

float context::attr_float(const std::string& name, float fallback) const {
    const auto* a = attr(name);
    if (!a) return fallback;
    expect_attr(a->type() == onnx::AttributeProto::FLOAT, name, "must be a float");
    return a->f();
}

std::string context::attr_string(const std::string& name, const std::string& fallback) const {
    const auto* a = attr(name);
    if (!a) return fallback;
    expect_attr(a->type() == onnx::AttributeProto::STRING, name, "must be a string");
    return a->s();
}

std::vector<std::int64_t> context::attr_ints(const std::string& name,
                                             const std::vector<std::int64_t>& fallback) const {
    const auto* a = attr(name);
    if (!a) return fallback;
    expect_attr(a->type() == onnx::AttributeProto::INTS, name, "must be a list of ints");
    return {a->ints().begin(), a->ints().end()};
}

void context::expect_attr(bool ok, const std::string& name, const std::string& why) const {
    if (!ok) fail(cat("attribute '", name, "' ", why));
}

bool context::has_in(int i) const {
    return i < node->input_size() && !node->input(i).empty();
}

const constant* context::const_in(int i) const {
    if (!has_in(i)) return nullptr;
    const auto it = consts_.find(node->input(i));
    return it == consts_.end() ? nullptr : &it->second;
}

const constant& context::need_const(int i, const std::string& what) const {
    if (!has_in(i)) fail(cat("input ", i, " (", what, ") is missing"));
    const constant* c = const_in(i);
    if (!c)
        fail(cat("input ", i, " (", what, ") '", node->input(i),
                 "' must be a constant (an initializer or a Constant node); it is computed"));
    return *c;
}

std::string context::data_in(int i) {
    if (!has_in(i)) fail(cat("input ", i, " is missing"));
    return ref_of(node->input(i));
}

sdk::shape context::shape_in(int i) {
    return g_.tensors[tensor_of_ref_.at(data_in(i))].shape;
}

int context::n_out() const {
    int n = node->output_size();
    while (n > 0 && node->output(n - 1).empty()) --n;
    return n;
}

// A name YAML and the loader accept: letters, digits and '_', starting with a letter.
std::string sanitize(const std::string& raw) {
    std::string s;
    for (char ch : raw) s += std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' ? ch : '_';
    while (!s.empty() && s.front() == '_') s.erase(s.begin());
    if (s.empty() || !std::isalpha(static_cast<unsigned char>(s.front()))) s.insert(0, "n");
    return s;
}

std::string context::unique_name(const std::string& raw) {
    const std::string s = sanitize(raw);
    std::string name = s;
    for (int k = 2; used_names_.count(name); ++k) name = cat(s, '_', k);
    used_names_.insert(name);
    return name;
}

// The YAML reference of ONNX value `onnx_name`; a constant becomes a `constant` node on first use.
std::string context::ref_of(const std::string& onnx_name) {
    if (const auto it = refs_.find(onnx_name); it != refs_.end()) return it->second;
    const auto c = consts_.find(onnx_name);
    if (c == consts_.end())
        fail(cat("input '", onnx_name,
                 "' is not produced by any earlier node (the "
                 "graph must be in topological order) nor an initializer"));
    constant k = c->second;
    if (k.dims.empty()) k.dims = {1};
    const std::string name = unique_name(onnx_name);
    const auto* saved = node;
    node = nullptr;
    std::vector<std::int64_t> shape = k.dims;
    if (shape.size() > 8) fail(cat("constant '", onnx_name, "' has rank ", shape.size(), " > 8"));
    shape.resize(8, 0);
    const param_list p = {{"shape", fmt_list(shape)},
                          {"rank", std::to_string(k.dims.size())},
                          {"dtype", k.integer ? "i64" : "f32"}};
    add_node(name, "constant", {}, p, {{"value", k}});
    node = saved;
    bind(onnx_name, name);
    return name;
}

void context::bind(const std::string& onnx_name, const std::string& ref) {
    refs_[onnx_name] = ref;
    if (const auto it = tensor_of_ref_.find(ref); it != tensor_of_ref_.end())
        b_.show_as(it->second, onnx_name);  // shape errors name the model's tensors
}

std::string context::emit(const std::string& type, const std::vector<std::string>& inputs,
                          const param_list& params,
                          const std::vector<std::pair<std::string, constant>>& weights, int outputs,
                          const std::string& suffix) {
    const std::string base = node->name().empty() ? node->output(0) : node->name();
    const std::string name = unique_name(base + suffix);
    try {
        add_node(name, type, inputs, params, weights);
    } catch (const shape_error& e) {  // named with the model's tensor names (show_as)
        throw error(cat(file_, ": shape mismatch in ", node_label(), " (", node->op_type(),
                        "): ", e.detail()));
    } catch (...) {  // e.g. shapes that do not fit: name the ONNX node, keep the layer's reason
        std::throw_with_nested(error(cat(file_, ": ", node_label(), " (", node->op_type(),
                                         ") as layer '", name, "' (", type, ")")));
    }
    for (int i = 0; i < outputs && i < node->output_size(); ++i)
        if (!node->output(i).empty()) bind(node->output(i), i ? cat(name, ':', i) : name);
    return name;
}

// One YAML line, parsed back through the loader's own param parser and added to the graph.
void context::add_node(const std::string& name, const std::string& type,
                       const std::vector<std::string>& inputs, const param_list& params,
                       const std::vector<std::pair<std::string, constant>>& weights) {
    const std::string head =
        cat("{name: ", name, ", type: ", type, ", inputs: [", join(inputs, ", "), "]");
    std::string line = head;
    for (const auto& [k, v] : params) line += cat(", ", k, ": ", v);
    const layer_type* t = reg_.find(type);
    if (!t) fail(cat("layer type '", type, "' is not loaded (is its plugin on the path?)"));
    std::vector<int> in;
    for (const auto& r : inputs) in.push_back(tensor_of_ref_.at(r));
    const std::size_t first_weight = g_.weights.size();
    const std::string where = file_ + " (imported)";
    auto values =
        parse_params(*t, YAML::Load(line + "}"), {"name", "type", "inputs"}, nullptr, where, name);
    // The YAML keeps only what differs from the layer's defaults.
    const auto defaults = default_params(*t);
    line = head;
    for (const auto& [k, v] : params) {
        for (std::uint32_t i = 0; i < t->api->param_count; ++i)
            if (k == t->api->params[i].name &&
                !std::equal(values[i].v, values[i].v + values[i].count, defaults[i].v))
                line += cat(", ", k, ": ", v);
    }
    line += "}";
    const auto outs = b_.add_layer(name, *t, std::move(values), in, {where, 0, 0});
    for (std::size_t i = 0; i < outs.size(); ++i)
        tensor_of_ref_[i ? cat(name, ':', i) : name] = outs[i];
    if (g_.weights.size() - first_weight != weights.size())
        fail(cat("layer '", name, "' (", type, ") expects ", g_.weights.size() - first_weight,
                 " weight(s), the model gives ", weights.size()));
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const weight_info& w = g_.weights[first_weight + i];
        const constant& c = weights[i].second;
        if (w.name != cat(name, '.', weights[i].first) || w.shape.numel() != c.numel())
            fail(cat("weight '", weights[i].first, "' ", fmt_list(c.dims), " does not fit ", w.name,
                     " ", w.shape));
        host_tensor h;
        h.shape = w.shape;
        h.bytes.resize(static_cast<std::size_t>(c.numel()) * 4);
        for (std::int64_t j = 0; j < c.numel(); ++j) h.f32()[j] = static_cast<float>(c.v[j]);
        out_.weights.emplace_back(w.name, std::move(h));
    }
    node_lines_.push_back(cat("  - ", line));
}

void context::add_input(const onnx::ValueInfoProto& v, std::optional<std::int64_t> batch) {
    const auto& tt = v.type().tensor_type();
    if (!v.type().has_tensor_type() || tt.elem_type() != onnx::TensorProto::FLOAT)
        fail(cat("graph input '", v.name(),
                 "' is not a float32 tensor (only float32 network "
                 "inputs are supported)"));
    std::vector<std::int64_t> dims;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
        const auto& d = tt.shape().dim(i);
        std::int64_t x = d.has_dim_value() ? d.dim_value() : 0;
        if (i == 0 && batch) x = *batch;
        if (x <= 0 && i == 0) x = 1;  // a symbolic batch: one sample unless --batch says
        if (x <= 0)
            fail(cat("graph input '", v.name(), "' has a symbolic or unknown dimension ", i,
                     d.has_dim_param() ? cat(" ('", d.dim_param(), "')") : std::string(),
                     "; cnnkit needs static shapes"));
        dims.push_back(x);
    }
    if (dims.empty() || dims.size() > 8)
        fail(cat("graph input '", v.name(), "' has rank ", dims.size(), " (1..8 supported)"));
    const std::string name = unique_name(v.name());
    sdk::shape s = sdk::shape::of_rank(static_cast<std::uint32_t>(dims.size()));
    for (std::size_t i = 0; i < dims.size(); ++i) s[i] = dims[i];
    tensor_of_ref_[name] = b_.add_input(name, s);
    b_.show_as(tensor_of_ref_[name], v.name());
    refs_[v.name()] = name;
    inputs_.insert(name);
    input_lines_.push_back(cat("  ", name, ": ", fmt_list(dims)));
}

void context::add_output(const onnx::ValueInfoProto& v) {
    std::string ref = ref_of(v.name());
    if (inputs_.count(ref)) {  // an output that is a graph input: copy it through a layer
        const auto* saved = node;
        node = nullptr;
        const std::string name = unique_name(v.name() + "_out");
        add_node(name, "identity", {ref}, {});
        node = saved;
        ref = name;
    }
    b_.add_output(sanitize(v.name()), tensor_of_ref_.at(ref));
    output_lines_.push_back(cat("  ", sanitize(v.name()), ": ", ref));
}

onnx_import context::finish(const std::string& header, const std::string& name) {
    std::ostringstream y;
    y << header << "name: " << sanitize(name) << "\ninputs:\n";
    for (const auto& l : input_lines_) y << l << '\n';
    y << "nodes:\n";
    for (const auto& l : node_lines_) y << l << '\n';
    y << "outputs:\n";
    for (const auto& l : output_lines_) y << l << '\n';
    out_.yaml = y.str();
    return std::move(out_);
}

}  // namespace onnx_import_detail

namespace {

onnx_import import_model(const registry& reg, const onnx::ModelProto& m,
                         const std::filesystem::path& model, std::optional<std::int64_t> batch) {
    using namespace onnx_import_detail;
    const std::string file = model.string();
    context c(reg, file);
    for (const auto& o : m.opset_import())
        if (o.domain().empty() || o.domain() == "ai.onnx") c.opset = static_cast<int>(o.version());
    if (!c.opset) throw error(cat(file, ": the model imports no default-domain opset"));
    const auto& g = m.graph();
    std::set<std::string> initialized;
    for (const auto& t : g.initializer()) {
        c.set_const(t.name(), to_constant(t, cat(file, ": initializer '", t.name(), "'")));
        initialized.insert(t.name());
    }
    if (g.sparse_initializer_size())
        throw error(cat(file, ": sparse initializers are not supported"));
    for (const auto& v : g.input())
        if (!initialized.count(v.name())) c.add_input(v, batch);
    for (const auto& n : g.node()) {
        c.node = &n;
        if (!n.domain().empty() && n.domain() != "ai.onnx")
            c.fail(cat("op domain '", n.domain(), "' is not supported (only the default domain)"));
        if (n.output_size() == 0 || n.output(0).empty()) c.fail("the node has no output");
        map_node(c);
    }
    c.node = nullptr;
    for (const auto& v : g.output()) c.add_output(v);
    const std::string header =
        cat("# imported from ", model.filename().string(), " by cnnkit import (producer ",
            m.producer_name().empty() ? "unknown" : m.producer_name() + " " + m.producer_version(),
            ", opset ", c.opset, ")\n");
    return c.finish(header, g.name().empty() ? "onnx_model" : g.name());
}

}  // namespace

onnx_import import_onnx(const registry& reg, const std::filesystem::path& model,
                        std::optional<std::int64_t> batch) {
    const std::string file = model.string();
    std::ifstream in(model, std::ios::binary);
    if (!in) throw error(cat(file, ": cannot open ONNX model"));
    onnx::ModelProto m;
    if (!m.ParseFromIstream(&in))
        throw error(cat(file, ": not an ONNX model (protobuf parse failed)"));
    return import_model(reg, m, model, batch);
}

onnx_import import_onnx_bytes(const registry& reg, std::string_view bytes,
                              const std::filesystem::path& name,
                              std::optional<std::int64_t> batch) {
    onnx::ModelProto m;
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        !m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
        throw error(cat(name.string(), ": not an ONNX model (protobuf parse failed)"));
    return import_model(reg, m, name, batch);
}

}  // namespace cnnkit::kernel
