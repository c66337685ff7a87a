// fuse.cpp: load-time rewrites of a bound graph that leave every result unchanged (up to float
// rounding): batch norm folded into the conv before it, activations and residual adds fused
// into the conv's epilogue. Each rewrite checks that nothing else reads the tensor it removes.
#include "plan/fuse.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace cnnkit::kernel {
namespace {

// Sets enum param `name` to the value called `value`; false if the layer has no such value.
bool set_enum(node& n, const char* name, const char* value) {
    const int i = param_index(n, name);
    if (i < 0) return false;
    const cnnkit_param_info& info = n.type->api->params[i];
    for (std::uint32_t e = 0; e < info.enum_count; ++e)
        if (std::strcmp(info.enum_names[e], value) == 0) {
            n.params[i].v[0] = e;
            return true;
        }
    return false;
}

bool set_value(node& n, const char* name, double value) {
    const int i = param_index(n, name);
    if (i < 0) return false;
    n.params[i].v[0] = value;
    return true;
}

class fuser {
public:
    fuser(graph& g, weight_store& w) : g_(g), w_(w), dead_(g.nodes.size(), false) {}

    fuse_report run() {
        for (std::size_t c = 0; c < g_.nodes.size(); ++c) {
            if (dead_[c] || !is_type(g_.nodes[c], "conv")) continue;
            int next = only_reader(c);
            if (next >= 0 && is_type(g_.nodes[next], "batch_norm") && fold_batch_norm(c, next))
                next = only_reader(c);
            if (next >= 0 && is_type(g_.nodes[next], "add") && fuse_residual(c, next))
                next = only_reader(c);
            if (next >= 0) fuse_activation(c, next);
        }
        compact();
        return report_;
    }

private:
    bool public_output(int t) const {
        return std::any_of(g_.outputs.begin(), g_.outputs.end(),
                           [&](const auto& o) { return o.second == t; });
    }

    // The one node reading conv `c`'s output, when exactly one does and it is not public.
    int only_reader(std::size_t c) const {
        const node& n = g_.nodes[c];
        if (n.outputs.size() != 1) return -1;
        const tensor_info& t = g_.tensors[n.outputs[0]];
        if (t.consumers.size() != 1 || public_output(n.outputs[0])) return -1;
        const int r = t.consumers[0];
        const node& rn = g_.nodes[r];
        return dead_[r] || rn.outputs.size() != 1 ? -1 : r;
    }

    // Removes node `r`, whose output `b` becomes the conv's output tensor `a` everywhere.
    void bypass(int r, int conv) {
        const int a = g_.nodes[conv].outputs[0], b = g_.nodes[r].outputs[0];
        for (int reader : g_.tensors[b].consumers)
            std::replace(g_.nodes[reader].inputs.begin(), g_.nodes[reader].inputs.end(), b, a);
        for (auto& o : g_.outputs)
            if (o.second == b) o.second = a;
        g_.tensors[a].consumers = g_.tensors[b].consumers;
        g_.tensors[b].consumers.clear();
        for (int in : g_.nodes[r].inputs) {
            auto& cons = g_.tensors[in].consumers;
            cons.erase(std::remove(cons.begin(), cons.end(), r), cons.end());
        }
        dead_[r] = true;
    }

    // Recreates the conv's layer object after its params changed (validates them again).
    void recreate(node& n) { n.self = create_layer(*n.type, n.params); }

    bool plain_conv(const node& n) const {
        return param_value(n, "activation") == 0 && n.inputs.size() == 1;
    }

    bool fold_batch_norm(int c, int bn);
    bool fuse_residual(int c, int add);
    void fuse_activation(int c, int act);
    void compact();

    graph& g_;
    weight_store& w_;
    std::vector<bool> dead_;
    fuse_report report_;
};

// y = (conv(x) + b - mean) * s + beta with s = gamma / sqrt(var + eps): scale each output
// channel's filter by s and set the bias to (b - mean) * s + beta.
bool fuser::fold_batch_norm(int c, int bn) {
    node& conv = g_.nodes[c];
    const node& norm = g_.nodes[bn];
    if (!plain_conv(conv) || norm.weights.size() != 4 || conv.weights.empty()) return false;
    const int wid = conv.weights[0];
    const std::int64_t oc = g_.weights[wid].shape[0];
    const std::int64_t per = g_.weights[wid].shape.numel() / oc;
    for (int id : norm.weights)
        if (g_.weights[id].shape.numel() != oc) return false;
    const double eps = param_value(norm, "epsilon");
    const float* gamma = w_.data[norm.weights[0]];
    const float* beta = w_.data[norm.weights[1]];
    const float* mean = w_.data[norm.weights[2]];
    const float* var = w_.data[norm.weights[3]];
    const bool had_bias = conv.weights.size() > 1;
    std::vector<float> wt(w_.data[wid], w_.data[wid] + oc * per), bias(oc);
    for (std::int64_t o = 0; o < oc; ++o) {
        const double s = gamma[o] / std::sqrt(double(var[o]) + eps);
        for (std::int64_t i = 0; i < per; ++i)
            wt[o * per + i] = static_cast<float>(wt[o * per + i] * s);
        const double b = had_bias ? w_.data[conv.weights[1]][o] : 0.0;
        bias[o] = static_cast<float>((b - mean[o]) * s + beta[o]);
    }
    if (!had_bias) {
        if (!set_value(conv, "bias", 1)) return false;
        recreate(conv);
        g_.weights.push_back({cat(conv.name, ".bias"), sdk::shape{oc}, CNNKIT_INIT_ZERO, c});
        conv.weights.push_back(static_cast<int>(g_.weights.size()) - 1);
        w_.data.push_back(nullptr);
    }
    w_.owned.push_back(std::move(wt));
    w_.data[wid] = w_.owned.back().data();
    w_.owned.push_back(std::move(bias));
    w_.data[conv.weights[1]] = w_.owned.back().data();
    bypass(bn, c);
    ++report_.batch_norms;
    return true;
}

// conv -> add(conv, other) of equal shapes: the conv reads `other` and adds it in its epilogue.
bool fuser::fuse_residual(int c, int add) {
    node& conv = g_.nodes[c];
    const node& sum = g_.nodes[add];
    if (!plain_conv(conv) || param_index(conv, "residual") < 0 || sum.inputs.size() != 2)
        return false;
    const int a = conv.outputs[0];
    const int other = sum.inputs[0] == a ? sum.inputs[1] : sum.inputs[0];
    // The conv must come after whatever produces `other`: the planner walks nodes in order.
    if (other == a || g_.tensors[other].shape != g_.tensors[a].shape ||
        g_.tensors[other].producer >= c)
        return false;
    set_value(conv, "residual", 1);
    recreate(conv);
    conv.inputs.push_back(other);
    g_.tensors[other].consumers.push_back(c);
    bypass(add, c);
    ++report_.residuals;
    return true;
}

void fuser::fuse_activation(int c, int act) {
    node& conv = g_.nodes[c];
    const node& a = g_.nodes[act];
    if (param_value(conv, "activation") != 0) return;
    const char* fn = nullptr;
    if (is_type(a, "relu") || is_type(a, "tanh") || is_type(a, "sigmoid"))
        fn = a.type->api->type;
    else if (is_type(a, "clip") && param_value(a, "min") == 0.0 && param_value(a, "max") == 6.0)
        fn = "relu6";
    if (!fn || !set_enum(conv, "activation", fn)) return;
    recreate(conv);
    bypass(act, c);
    ++report_.activations;
}

// Drops dead nodes and the tensors only they produced; renumbers every reference.
void fuser::compact() {
    std::vector<int> node_id(g_.nodes.size(), -1), tensor_id(g_.tensors.size(), -1);
    std::vector<node> nodes;
    for (std::size_t n = 0; n < g_.nodes.size(); ++n)
        if (!dead_[n]) {
            node_id[n] = static_cast<int>(nodes.size());
            nodes.push_back(std::move(g_.nodes[n]));
        }
    std::vector<tensor_info> tensors;
    for (std::size_t t = 0; t < g_.tensors.size(); ++t) {
        const int p = g_.tensors[t].producer;
        if (p >= 0 && dead_[p]) continue;
        tensor_id[t] = static_cast<int>(tensors.size());
        tensors.push_back(std::move(g_.tensors[t]));
        tensor_info& ti = tensors.back();
        if (ti.producer >= 0) ti.producer = node_id[ti.producer];
        for (int& r : ti.consumers) r = node_id[r];
    }
    for (node& n : nodes) {
        for (int& t : n.inputs) t = tensor_id[t];
        for (int& t : n.outputs) t = tensor_id[t];
    }
    for (int& t : g_.inputs) t = tensor_id[t];
    for (auto& o : g_.outputs) o.second = tensor_id[o.second];
    for (auto& w : g_.weights)
        if (w.node >= 0) w.node = node_id[w.node];
    g_.nodes = std::move(nodes);
    g_.tensors = std::move(tensors);
}

}  // namespace

fuse_report fuse_graph(graph& g, weight_store& w) {
    return fuser(g, w).run();
}

}  // namespace cnnkit::kernel
