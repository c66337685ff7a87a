// builder.cpp: adding layers to a graph: create, infer shapes, declare weights, expand composites.
#include "graph/graph.hpp"
#include "graph/params.hpp"
#include "util/limits.hpp"

#include <cctype>
#include <cstring>
#include <optional>

namespace cnnkit::kernel {

namespace {
std::string file_of(const layer_type& type) {
    return type.plugin_path.substr(type.plugin_path.rfind('/') + 1);
}
}  // namespace

void check_status(cnnkit_status s, const cnnkit_diag& d, const layer_type& type,
                  const char* what) {
    if (s == CNNKIT_STATUS_OK) return;
    std::string text(d.text, strnlen(d.text, sizeof d.text));
    if (text.empty()) text = cat(what, " failed with status ", static_cast<int>(s));
    throw error(cat(file_of(type), ": ", text));
}

std::shared_ptr<void> create_layer(const layer_type& type,
                                   const std::vector<cnnkit_param_value>& params) {
    void* self = nullptr;
    cnnkit_diag d{};
    check_status(type.api->create(params.data(), static_cast<std::uint32_t>(params.size()), &self,
                                  &d),
                 d, type, "create");
    const cnnkit_layer_api* api = type.api;
    return std::shared_ptr<void>(self, [api](void* p) { api->destroy(p); });
}

bool is_type(const node& n, const char* type) {
    return std::strcmp(n.type->api->type, type) == 0;
}

int param_index(const node& n, const char* name) {
    for (std::uint32_t i = 0; i < n.type->api->param_count; ++i)
        if (std::strcmp(n.type->api->params[i].name, name) == 0) return static_cast<int>(i);
    return -1;
}

double param_value(const node& n, const char* name) {
    const int i = param_index(n, name);
    return i < 0 ? 0.0 : n.params[i].v[0];
}

std::int64_t graph::param_count(const node& n) const {
    std::int64_t total = 0;
    for (int w : n.weights) total += weights[w].buffer ? 0 : weights[w].shape.numel();
    return total;
}

std::int64_t graph::buffer_count(const node& n) const {
    std::int64_t total = 0;
    for (int w : n.weights) total += weights[w].buffer ? weights[w].shape.numel() : 0;
    return total;
}

int graph_builder::add_input(const std::string& name, const sdk::shape& shape) {
    for (const auto& t : g_.tensors)
        if (t.name == name) throw error(cat("duplicate input name '", name, "'"));
    for (std::uint32_t i = 0; i < shape.rank(); ++i)
        sdk::expect(shape[i] > 0 && shape[i] <= limits::max_dim, "input '", name,
                    "' has a bad dimension ", shape[i], " in ", shape);
    sdk::expect(limits::checked_numel(shape).has_value(), "input '", name, "' ", shape,
                " is over the ", limits::max_tensor_bytes, "-byte tensor limit");
    g_.tensors.push_back({name, shape, -1, {}});
    g_.inputs.push_back(static_cast<int>(g_.tensors.size() - 1));
    return g_.inputs.back();
}

void graph_builder::add_output(const std::string& name, int tensor) {
    for (const auto& [n, _] : g_.outputs)
        if (n == name) throw error(cat("duplicate output name '", name, "'"));
    g_.outputs.emplace_back(name, tensor);
}

std::vector<int> graph_builder::add_layer(const std::string& name, const layer_type& type,
                                          std::vector<cnnkit_param_value> params,
                                          const std::vector<int>& inputs, const source_loc& where,
                                          const std::string& group,
                                          const std::vector<source_loc>& input_where) {
    try {
        if (node_names_.count(name)) throw error(cat("duplicate node name '", name, "'"));
        auto self = create_layer(type, params);
        if (type.api->flags & CNNKIT_LAYER_COMPOSITE) {
            node_names_.emplace(name, -1);
            g_.groups[name] = type.api->type;
            auto outs = expand(name, type, self.get(), inputs, where, input_where);
            for (std::size_t i = 0; i < outs.size(); ++i)  // named as the file refers to them
                show_as(outs[i], i ? cat(name, ':', i) : name);
            return outs;
        }
        return add_primitive(name, type, std::move(params), std::move(self), inputs, where, group,
                             input_where);
    } catch (const located_error&) {
        throw;  // already points at the user's file
    } catch (...) {
        std::throw_with_nested(
            located_error(where, cat("layer '", name, "' (", type.api->type, ")")));
    }
}

std::vector<int> graph_builder::add_primitive(const std::string& name, const layer_type& type,
                                              std::vector<cnnkit_param_value> params,
                                              std::shared_ptr<void> self,
                                              const std::vector<int>& inputs,
                                              const source_loc& where, const std::string& group,
                                              const std::vector<source_loc>& input_where) {
    const cnnkit_layer_api& api = *type.api;
    std::vector<cnnkit_shape> in;
    for (int t : inputs) in.push_back(g_.tensors[t].shape.raw);
    const auto n_in = static_cast<std::uint32_t>(in.size());

    cnnkit_shape out[8]{};
    std::uint32_t n_out = 0;
    cnnkit_diag d{};
    const cnnkit_status inferred = api.infer(self.get(), in.data(), n_in, out, 8, &n_out, &d);
    if (inferred == CNNKIT_STATUS_BAD_SHAPE)
        refuse_shape(name, type, std::string(d.text, strnlen(d.text, sizeof d.text)), inputs,
                     where, input_where);
    check_status(inferred, d, type, "infer");
    sdk::expect(n_out >= 1 && n_out <= 8, "layer produced ", n_out, " outputs (1 to 8)");
    for (std::uint32_t i = 0; i < n_out; ++i) {
        const sdk::shape s(out[i]);
        sdk::expect(s.rank() >= 1 && s.rank() <= CNNKIT_MAX_RANK, "output ", i, " has rank ",
                    s.rank());
        for (std::uint32_t k = 0; k < s.rank(); ++k)
            sdk::expect(s[k] > 0 && s[k] <= limits::max_dim, "output ", i,
                        " has a bad dimension: ", s);
        sdk::expect(limits::checked_numel(s).has_value(), "output ", i, " ", s, " is over the ",
                    limits::max_tensor_bytes, "-byte tensor limit");
    }
    sdk::expect(g_.nodes.size() < limits::max_nodes, "the network has more than ",
                limits::max_nodes, " nodes");

    node nd;
    nd.name = name;
    nd.type = &type;
    nd.params = std::move(params);
    nd.inputs = inputs;
    nd.where = where;
    nd.group = group;
    if (api.weights) {
        cnnkit_weight_desc w[16]{};
        std::uint32_t n_w = 0;
        check_status(api.weights(self.get(), in.data(), n_in, w, 16, &n_w, &d), d, type,
                     "weights");
        sdk::expect(n_w <= 16, "layer declared ", n_w, " weights (at most 16)");
        for (std::uint32_t i = 0; i < n_w; ++i) {
            const sdk::shape ws(w[i].shape);
            sdk::expect(ws.rank() >= 1 && ws.rank() <= CNNKIT_MAX_RANK &&
                            limits::checked_numel(ws).has_value(),
                        "weight '", w[i].name, "' has a bad shape or is over the ",
                        limits::max_tensor_bytes, "-byte tensor limit");
            g_.weights.push_back(
                {cat(name, '.', w[i].name), w[i].shape,
                 static_cast<cnnkit_weight_init>(w[i].init & CNNKIT_WEIGHT_INIT_MASK),
                 static_cast<int>(g_.nodes.size()), (w[i].init & CNNKIT_WEIGHT_BUFFER) != 0});
            nd.weights.push_back(static_cast<int>(g_.weights.size() - 1));
        }
    }
    if (api.macs) check_status(api.macs(self.get(), in.data(), n_in, &nd.macs, &d), d, type, "macs");
    if (api.workspace)
        check_status(api.workspace(self.get(), in.data(), n_in, &nd.workspace, &d), d, type,
                     "workspace");
    nd.self = std::move(self);
    const int id = static_cast<int>(g_.nodes.size());
    for (int t : inputs) g_.tensors[t].consumers.push_back(id);
    for (std::uint32_t i = 0; i < n_out; ++i) {
        g_.tensors.push_back({i == 0 ? name : cat(name, ':', i), out[i], id, {}});
        nd.outputs.push_back(static_cast<int>(g_.tensors.size() - 1));
    }
    node_names_.emplace(name, id);
    g_.nodes.push_back(std::move(nd));
    return g_.nodes.back().outputs;
}

void graph_builder::refuse_shape(const std::string& name, const layer_type& type,
                                 const std::string& text, const std::vector<int>& inputs,
                                 const source_loc& where,
                                 const std::vector<source_loc>& input_where) const {
    const auto shown = [&](std::size_t i) {
        const auto it = shown_.find(inputs[i]);
        return cat('\'', it != shown_.end() ? it->second : g_.tensors[inputs[i]].name, '\'');
    };
    // "input #N" (sdk::input_ref) becomes the tensor's name; the first one named is the culprit.
    const std::string token = "input #";
    std::string named;
    std::optional<std::size_t> first;
    std::size_t pos = 0;
    for (std::size_t at; (at = text.find(token, pos)) != std::string::npos;) {
        std::size_t end = at + token.size(), i = 0;
        while (end < text.size() && end < at + token.size() + 3 && std::isdigit(text[end]))
            i = i * 10 + static_cast<std::size_t>(text[end++] - '0');
        if (end == at + token.size() || i >= inputs.size()) {
            named += text.substr(pos, end - pos);
        } else {
            named += text.substr(pos, at - pos) + shown(i);
            if (!first) first = i;
        }
        pos = end;
    }
    named += text.substr(pos);
    const std::string layer = cat("layer '", name, "' (", type.api->type, ")");
    if (first) {
        const bool at_input = *first < input_where.size() && input_where[*first].line > 0;
        throw shape_error(at_input ? input_where[*first] : where, layer, named);
    }
    if (named.empty()) named = "infer failed with status BAD_SHAPE";
    if (inputs.size() >= 2) {  // a plugin that does not name its inputs: list them
        named += " (inputs:";
        for (std::size_t i = 0; i < inputs.size(); ++i)
            named += cat(i ? ", " : " ", shown(i), ' ', g_.tensors[inputs[i]].shape);
        named += ")";
    }
    throw error(cat(file_of(type), ": ", named));
}

namespace {
// The state behind the cnnkit_builder a composite expands through.
struct expansion {
    graph_builder* b;
    graph* g;
    std::string prefix;
    source_loc where;
    std::map<std::string, std::vector<int>> names;  // "@0" and added nodes -> tensors
    std::vector<int> output;
    bool has_output = false;
    std::exception_ptr failure;  // a located error from a node it added, rethrown as it is

    int lookup(const std::string& ref) const {
        const auto colon = ref.rfind(':');
        std::string base = ref;
        std::size_t index = 0;
        if (colon != std::string::npos && ref[0] != '@') {
            base = ref.substr(0, colon);
            index = std::stoul(ref.substr(colon + 1));
        }
        const auto it = names.find(base);
        sdk::expect(it != names.end() && index < it->second.size(), "expansion refers to '", ref,
                    "', which it has not defined");
        return it->second[index];
    }
};

cnnkit_status expansion_add(void* ctx, const char* name, const char* type, const char* params,
                            const char* const* inputs, std::uint32_t n_inputs, cnnkit_diag* d) {
    auto& x = *static_cast<expansion*>(ctx);
    try {
        std::vector<int> in;
        for (std::uint32_t i = 0; i < n_inputs; ++i) in.push_back(x.lookup(inputs[i]));
        const layer_type& t = x.b->types().get(type);
        const YAML::Node map = YAML::Load(params && *params ? params : "{}");
        const std::string full = x.prefix + name;
        auto values = parse_params(t, map, {}, nullptr, "<expansion of " + x.prefix + ">", full);
        x.names[name] = x.b->add_layer(full, t, std::move(values), in, x.where,
                                       x.prefix.substr(0, x.prefix.size() - 1));
        return CNNKIT_STATUS_OK;
    } catch (const located_error& e) {
        if (!x.failure) x.failure = std::current_exception();
        std::snprintf(d->text, sizeof d->text, "%s", e.what());
        return CNNKIT_STATUS_BAD_PARAM;
    } catch (const std::exception& e) {
        std::snprintf(d->text, sizeof d->text, "%s", e.what());
        return CNNKIT_STATUS_BAD_PARAM;
    }
}

cnnkit_status expansion_output(void* ctx, const char* tensor, cnnkit_diag* d) {
    auto& x = *static_cast<expansion*>(ctx);
    try {
        x.output = {x.lookup(tensor)};
        x.has_output = true;
        return CNNKIT_STATUS_OK;
    } catch (const std::exception& e) {
        std::snprintf(d->text, sizeof d->text, "%s", e.what());
        return CNNKIT_STATUS_BAD_PARAM;
    }
}
}  // namespace

std::vector<int> graph_builder::expand(const std::string& name, const layer_type& type,
                                       const void* self, const std::vector<int>& inputs,
                                       const source_loc& where,
                                       const std::vector<source_loc>& input_where) {
    expansion x{this, &g_, name + ".", where, {}, {}, false, nullptr};
    std::vector<cnnkit_shape> in;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        x.names["@" + std::to_string(i)] = {inputs[i]};
        in.push_back(g_.tensors[inputs[i]].shape.raw);
    }
    cnnkit_builder b{sizeof(cnnkit_builder), &x, &expansion_add, &expansion_output};
    cnnkit_diag d{};
    const cnnkit_status s =
        type.api->expand(self, in.data(), static_cast<std::uint32_t>(in.size()), &b, &d);
    if (s != CNNKIT_STATUS_OK && x.failure) std::rethrow_exception(x.failure);
    // A composite checks its inputs' shapes as it expands (status BAD_PARAM from the SDK).
    if (s != CNNKIT_STATUS_OK && std::strstr(d.text, "input #"))
        refuse_shape(name, type, std::string(d.text, strnlen(d.text, sizeof d.text)), inputs,
                     where, input_where);
    check_status(s, d, type, "expand");
    sdk::expect(x.has_output, "composite layer set no output");
    return x.output;
}

}  // namespace cnnkit::kernel
