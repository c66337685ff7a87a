// ops.cpp: each supported ONNX op mapped onto plugin layer types and params. Every attribute an
// op may carry is either mapped, checked to have the one value we support, or refused by name.
#include <cmath>
#include <functional>

#include "onnx/context.hpp"
#include "util/limits.hpp"
#include "util/text.hpp"

namespace cnnkit::kernel::onnx_import_detail {

void need_2d(context& c, const std::string& what) {
    const sdk::shape s = c.shape_in(0);
    if (s.rank() != 4) c.fail(cat("only 2-D (NCHW) ", what, "s are supported, got ", s));
}

namespace {

using ints = std::vector<std::int64_t>;

ints pair_attr(context& c, const std::string& name, std::int64_t fallback) {
    const ints v = c.attr_ints(name, {fallback, fallback});
    c.expect_attr(v.size() == 2, name, cat("must have 2 values (2-D), got ", fmt_list(v)));
    return v;
}

ints pads_attr(context& c) {
    const ints v = c.attr_ints("pads", {0, 0, 0, 0});
    c.expect_attr(v.size() == 4, "pads", cat("must have 4 values (2-D), got ", fmt_list(v)));
    for (auto x : v) c.expect_attr(x >= 0, "pads", cat("must be >= 0, got ", fmt_list(v)));
    return v;  // ONNX order [h_begin, w_begin, h_end, w_end] is cnnkit's [top, left, bottom, right]
}

std::string auto_pad(context& c) {
    const std::string a = c.attr_string("auto_pad", "NOTSET");
    if (a == "NOTSET") return "explicit_pads";
    if (a == "SAME_UPPER") return "same_upper";
    if (a == "SAME_LOWER") return "same_lower";
    if (a == "VALID") return "valid";
    c.fail(cat("attribute 'auto_pad' value '", a, "' is not supported"));
}

// Pads that SAME_UPPER / SAME_LOWER / VALID give for a window on `in` (layers without auto_pad).
ints resolved_pads(context& c, const sdk::shape& in, const ints& k, const ints& s, const ints& d) {
    for (const auto& [name, v] : {std::pair{"kernel_shape", k}, {"strides", s}, {"dilations", d}})
        for (auto x : v)
            c.expect_attr(x >= 1 && x <= limits::max_dim, name,
                          cat("must be in 1..", limits::max_dim, ", got ", fmt_list(v)));
    const std::string mode = auto_pad(c);
    if (mode == "explicit_pads") return pads_attr(c);
    ints p{0, 0, 0, 0};
    if (mode == "valid") return p;
    for (int a = 0; a < 2; ++a) {
        const std::int64_t x = in[2 + a], out = (x + s[a] - 1) / s[a];
        const std::int64_t total =
            std::max<std::int64_t>(0, (out - 1) * s[a] + (k[a] - 1) * d[a] + 1 - x);
        const std::int64_t small = total / 2, big = total - small;
        p[a] = mode == "same_upper" ? small : big;
        p[a + 2] = mode == "same_upper" ? big : small;
    }
    return p;
}

constant transposed(const constant& m) {  // a 2-D matrix
    constant t{{m.dims[1], m.dims[0]}, std::vector<double>(m.v.size()), m.integer};
    for (std::int64_t i = 0; i < m.dims[0]; ++i)
        for (std::int64_t j = 0; j < m.dims[1]; ++j)
            t.v[j * m.dims[0] + i] = m.v[i * m.dims[1] + j];
    return t;
}

void conv(context& c) {
    c.allow_attrs({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
    need_2d(c);
    const constant& w = c.need_const(1, "W");
    if (w.dims.size() != 4) c.fail(cat("W must be 4-D, got ", fmt_list(w.dims)));
    const ints k{w.dims[2], w.dims[3]};
    c.expect_attr(pair_attr(c, "kernel_shape", 0) == k || !c.attr("kernel_shape"), "kernel_shape",
                  cat("does not match W ", fmt_list(w.dims)));
    param_list p = {{"out_channels", std::to_string(w.dims[0])},
                    {"kernel", fmt_list(k)},
                    {"stride", fmt_list(pair_attr(c, "strides", 1))},
                    {"dilation", fmt_list(pair_attr(c, "dilations", 1))},
                    {"groups", std::to_string(c.attr_int("group", 1))},
                    {"bias", c.has_in(2) ? "true" : "false"}};
    const std::string ap = auto_pad(c);
    if (ap == "explicit_pads")
        p.push_back({"pad", fmt_list(pads_attr(c))});
    else
        p.push_back({"auto_pad", ap});
    std::vector<std::pair<std::string, constant>> weights = {{"weight", w}};
    if (c.has_in(2)) weights.push_back({"bias", c.need_const(2, "B")});
    c.emit("conv", {c.data_in(0)}, p, weights);
}

void conv_transpose(context& c) {
    c.allow_attrs({"auto_pad", "dilations", "group", "kernel_shape", "output_padding",
                   "output_shape", "pads", "strides"});
    need_2d(c);
    const sdk::shape x = c.shape_in(0);
    const constant& w = c.need_const(1, "W");
    if (w.dims.size() != 4) c.fail(cat("W must be 4-D, got ", fmt_list(w.dims)));
    const std::int64_t groups = c.attr_int("group", 1);
    const ints k{w.dims[2], w.dims[3]}, s = pair_attr(c, "strides", 1);
    c.expect_attr(groups >= 1 && groups <= limits::max_dim, "group", "must be positive");
    for (auto x : s)
        c.expect_attr(x >= 1 && x <= limits::max_dim, "strides",
                      cat("must be in 1..", limits::max_dim, ", got ", fmt_list(s)));
    c.expect_attr(pair_attr(c, "kernel_shape", 0) == k || !c.attr("kernel_shape"), "kernel_shape",
                  cat("does not match W ", fmt_list(w.dims)));
    param_list p = {{"out_channels", std::to_string(w.dims[1] * groups)},
                    {"kernel", fmt_list(k)},
                    {"stride", fmt_list(s)},
                    {"dilation", fmt_list(pair_attr(c, "dilations", 1))},
                    {"groups", std::to_string(groups)},
                    {"output_padding", fmt_list(pair_attr(c, "output_padding", 0))},
                    {"bias", c.has_in(2) ? "true" : "false"}};
    ints out = c.attr_ints("output_shape", {});
    if (out.size() > 2) out = ints(out.end() - 2, out.end());
    c.expect_attr(out.empty() || out.size() == 2, "output_shape", "must have 2 values (2-D)");
    const std::string ap = auto_pad(c);
    if (ap == "same_upper" || ap == "same_lower") {
        c.expect_attr(ap == "same_upper" || !out.empty(), "auto_pad",
                      "SAME_LOWER without output_shape is not supported");
        if (out.empty()) out = {x[2] * s[0], x[3] * s[1]};
    } else if (ap == "explicit_pads") {
        p.push_back({"pad", fmt_list(pads_attr(c))});
    }
    if (!out.empty()) p.push_back({"output_size", fmt_list(out)});
    std::vector<std::pair<std::string, constant>> weights = {{"weight", w}};
    if (c.has_in(2)) weights.push_back({"bias", c.need_const(2, "B")});
    c.emit("conv_transpose", {c.data_in(0)}, p, weights);
}

void pool(context& c, const std::string& mode) {
    const std::string op = c.node->op_type();
    if (op == "MaxPool")
        c.allow_attrs({"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads",
                       "storage_order", "strides"});
    else if (op == "AveragePool")
        c.allow_attrs(
            {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"});
    else
        c.allow_attrs({"auto_pad", "kernel_shape", "p", "pads", "strides"});
    need_2d(c);
    c.expect_attr(c.attr_int("p", 2) == 2, "p", "must be 2 (L2 pooling)");
    c.expect_attr(c.attr("kernel_shape") != nullptr, "kernel_shape", "is required");
    const ints k = pair_attr(c, "kernel_shape", 0), s = pair_attr(c, "strides", 1),
               d = pair_attr(c, "dilations", 1);
    const bool indices = c.n_out() > 1;
    param_list p = {{"mode", mode},
                    {"kernel", fmt_list(k)},
                    {"stride", fmt_list(s)},
                    {"pad", fmt_list(resolved_pads(c, c.shape_in(0), k, s, d))},
                    {"dilation", fmt_list(d)},
                    {"ceil_mode", c.attr_int("ceil_mode", 0) ? "true" : "false"},
                    {"count_include_pad", c.attr_int("count_include_pad", 0) ? "true" : "false"},
                    {"indices", indices ? "true" : "false"},
                    {"column_major", c.attr_int("storage_order", 0) ? "true" : "false"}};
    c.emit("pool", {c.data_in(0)}, p, {}, indices ? 2 : 1);
}

void global_pool(context& c, const std::string& mode) {
    c.allow_attrs({});
    need_2d(c);
    c.emit("pool", {c.data_in(0)}, {{"mode", mode}, {"global", "true"}});
}

void max_unpool(context& c) {
    c.allow_attrs({"kernel_shape", "pads", "strides"});
    need_2d(c);
    param_list p = {{"kernel", fmt_list(pair_attr(c, "kernel_shape", 0))},
                    {"stride", fmt_list(pair_attr(c, "strides", 1))},
                    {"pad", fmt_list(pads_attr(c))}};
    if (c.has_in(2)) {
        const constant& o = c.need_const(2, "output_shape");
        if (o.v.size() != 4) c.fail(cat("output_shape must have 4 values, got ", o.v.size()));
        p.push_back({"output_size", fmt_list(ints{int_of(c, o.v[2], "output_shape"),
                                                  int_of(c, o.v[3], "output_shape")})});
    }
    c.emit("max_unpool", {c.data_in(0), c.data_in(1)}, p);
}

void batch_norm(context& c) {
    c.allow_attrs(
        {"epsilon", "momentum", "spatial", "training_mode", "is_test", "consumed_inputs"});
    c.expect_attr(c.attr_int("training_mode", 0) == 0, "training_mode",
                  "value 1 is not supported (inference only)");
    c.expect_attr(c.attr_int("spatial", 1) == 1, "spatial", "value 0 is not supported");
    if (c.n_out() > 1) c.fail("the training outputs (running mean / var) are not supported");
    // momentum only updates running statistics in training: it has no effect at inference.
    c.emit("batch_norm", {c.data_in(0)}, {{"epsilon", fmt(c.attr_float("epsilon", 1e-5f))}},
           {{"weight", c.need_const(1, "scale")},
            {"bias", c.need_const(2, "B")},
            {"running_mean", c.need_const(3, "input_mean")},
            {"running_var", c.need_const(4, "input_var")}});
}

void lrn(context& c) {
    c.allow_attrs({"alpha", "beta", "bias", "size"});
    c.expect_attr(c.attr("size") != nullptr, "size", "is required");
    c.emit("lrn", {c.data_in(0)},
           {{"size", std::to_string(c.attr_int("size", 0))},
            {"alpha", fmt(c.attr_float("alpha", 1e-4f))},
            {"beta", fmt(c.attr_float("beta", 0.75f))},
            {"bias", fmt(c.attr_float("bias", 1.0f))}});
}

// An elementwise op whose attributes map one to one onto the layer's params (with ONNX defaults).
void unary(context& c, const std::string& type,
           const std::vector<std::pair<std::string, float>>& attrs = {}) {
    std::set<std::string> names;
    for (const auto& [a, _] : attrs) names.insert(a);
    if (c.opset < 6) names.insert("consumed_inputs");
    c.allow_attrs(names);
    param_list p;
    for (const auto& [a, def] : attrs) p.push_back({a, fmt(c.attr_float(a, def))});
    c.emit(type, {c.data_in(0)}, p);
}

void clip(context& c) {
    param_list p;
    if (c.opset < 11) {
        c.allow_attrs({"min", "max", "consumed_inputs"});
        if (c.attr("min")) p.push_back({"min", fmt(c.attr_float("min", 0))});
        if (c.attr("max")) p.push_back({"max", fmt(c.attr_float("max", 0))});
    } else {
        c.allow_attrs({});
        const char* names[] = {"", "min", "max"};
        for (int i = 1; i <= 2; ++i) {
            if (!c.has_in(i)) continue;
            const constant& v = c.need_const(i, names[i]);
            if (v.numel() != 1) c.fail(cat("input '", names[i], "' must be a scalar"));
            p.push_back({names[i], fmt(v.v[0])});
        }
    }
    c.emit("clip", {c.data_in(0)}, p);
}

void softmax(context& c, const std::string& type) {
    c.allow_attrs({"axis"});
    const sdk::shape s = c.shape_in(0);
    const auto r = static_cast<std::int64_t>(s.rank());
    std::int64_t axis = c.attr_int("axis", c.opset >= 13 ? -1 : 1);
    if (axis < -r || axis >= r) c.fail(cat("axis ", axis, " is outside the rank ", r, " input"));
    if (axis < 0) axis += r;
    if (c.opset >= 13 || axis == r - 1) {
        c.emit(type, {c.data_in(0)}, {{"axis", std::to_string(axis)}});
        return;
    }
    // Before opset 13 the op works on the input flattened to 2-D at `axis`.
    const std::string flat =
        c.emit("flatten", {c.data_in(0)}, {{"axis", std::to_string(axis)}}, {}, 0, "_flat");
    const std::string soft = c.emit(type, {flat}, {{"axis", "1"}}, {}, 0, "_2d");
    ints dims(s.dims().begin(), s.dims().end());
    dims.resize(8, 0);
    c.emit("reshape", {soft}, {{"shape", fmt_list(dims)}, {"rank", std::to_string(r)}});
}

void gemm(context& c) {
    c.allow_attrs({"alpha", "beta", "transA", "transB", "broadcast"});
    const float alpha = c.attr_float("alpha", 1), beta = c.attr_float("beta", 1);
    const bool ta = c.attr_int("transA", 0) != 0, tb = c.attr_int("transB", 0) != 0;
    const constant* b = c.const_in(1);
    const constant* bias = c.const_in(2);
    const sdk::shape a = c.shape_in(0);
    if (!ta && alpha == 1 && b && b->dims.size() == 2 && a.rank() == 2 &&
        (!c.has_in(2) || (bias && beta == 1 && bias->numel() == b->dims[tb ? 0 : 1] &&
                          bias->dims.size() >= 1 && bias->dims.back() == bias->numel()))) {
        const constant w = tb ? *b : transposed(*b);  // fc weight is [out, in]
        std::vector<std::pair<std::string, constant>> weights = {{"weight", w}};
        if (c.has_in(2)) weights.push_back({"bias", *bias});
        c.emit(
            "fc", {c.data_in(0)},
            {{"out_features", std::to_string(w.dims[0])}, {"bias", c.has_in(2) ? "true" : "false"}},
            weights);
        return;
    }
    std::vector<std::string> in = {c.data_in(0), c.data_in(1)};
    if (c.has_in(2)) in.push_back(c.data_in(2));
    c.emit("gemm", in,
           {{"trans_a", ta ? "true" : "false"},
            {"trans_b", tb ? "true" : "false"},
            {"alpha", fmt(alpha)},
            {"beta", fmt(beta)}});
}

void matmul(context& c) {
    c.allow_attrs({});
    const constant* b = c.const_in(1);
    const sdk::shape a = c.shape_in(0);
    if (!b || b->dims.size() != 2 || a.rank() != 2)
        c.fail(
            cat("only a fully connected MatMul is supported: A [M, K] times a constant "
                "B [K, N]; got A ",
                a, ", B ", b ? fmt_list(b->dims) : "computed"));
    const constant w = transposed(*b);
    c.emit("fc", {c.data_in(0)}, {{"out_features", std::to_string(w.dims[0])}, {"bias", "false"}},
           {{"weight", w}});
}

void variadic(context& c, const std::string& type) {
    c.allow_attrs(c.opset < 7 ? std::set<std::string>{"broadcast", "axis", "consumed_inputs"}
                              : std::set<std::string>{});
    c.expect_attr(!c.attr("axis"), "axis", "(legacy broadcast axis) is not supported");
    std::vector<std::string> in;
    for (int i = 0; i < c.n_in(); ++i) in.push_back(c.data_in(i));
    c.emit(type, in, {});
}

void concat(context& c) {
    c.allow_attrs({"axis"});
    std::vector<std::string> in;
    for (int i = 0; i < c.n_in(); ++i) in.push_back(c.data_in(i));
    c.emit("concat", in, {{"axis", std::to_string(c.attr_int("axis", 1))}});
}

void dropout(context& c) {
    c.allow_attrs({"ratio", "seed", "is_test"});
    float ratio = c.attr_float("ratio", 0.5f);
    if (c.has_in(1)) ratio = static_cast<float>(c.need_const(1, "ratio").v.at(0));
    if (c.has_in(2) && c.need_const(2, "training_mode").v.at(0) != 0)
        c.fail("training_mode true is not supported (inference only)");
    if (c.n_out() > 1) c.fail("the mask output is not supported");
    // seed only drives the random mask in training: no effect at inference.
    c.emit("dropout", {c.data_in(0)}, {{"ratio", fmt(ratio)}});
}

void flatten(context& c) {
    c.allow_attrs({"axis"});
    c.emit("flatten", {c.data_in(0)}, {{"axis", std::to_string(c.attr_int("axis", 1))}});
}

void reshape(context& c) {
    c.allow_attrs({"allowzero", "shape", "consumed_inputs"});
    ints shape;
    if (c.opset < 5) {
        shape = c.attr_ints("shape", {});
    } else {
        for (double v : c.need_const(1, "shape").v) shape.push_back(int_of(c, v, "shape"));
    }
    if (c.attr_int("allowzero", 0) != 0)
        for (auto d : shape)
            c.expect_attr(d != 0, "allowzero", "value 1 with a 0 in the shape is not supported");
    if (shape.empty() || shape.size() > 8) c.fail(cat("shape has rank ", shape.size(), " (1..8)"));
    const auto r = shape.size();
    shape.resize(8, 0);
    c.emit("reshape", {c.data_in(0)}, {{"shape", fmt_list(shape)}, {"rank", std::to_string(r)}});
}

using mapper = std::function<void(context&)>;

const std::map<std::string, mapper>& mappers() {
    static const std::map<std::string, mapper> m = {
        {"Conv", conv},
        {"ConvTranspose", conv_transpose},
        {"MaxPool", [](context& c) { pool(c, "max"); }},
        {"AveragePool", [](context& c) { pool(c, "avg"); }},
        {"LpPool", [](context& c) { pool(c, "l2"); }},
        {"GlobalAveragePool", [](context& c) { global_pool(c, "avg"); }},
        {"GlobalMaxPool", [](context& c) { global_pool(c, "max"); }},
        {"MaxUnpool", max_unpool},
        {"BatchNormalization", batch_norm},
        {"LRN", lrn},
        {"Relu", [](context& c) { unary(c, "relu"); }},
        {"Tanh", [](context& c) { unary(c, "tanh"); }},
        {"Sigmoid", [](context& c) { unary(c, "sigmoid"); }},
        {"LeakyRelu",
         [](context& c) {
             unary(c, "leaky_relu", {{"alpha", 0.01f}});
         }},
        {"Elu",
         [](context& c) {
             unary(c, "elu", {{"alpha", 1.0f}});
         }},
        {"Selu",
         [](context& c) {
             unary(c, "selu",
                   {{"alpha", 1.67326319217681884765625f}, {"gamma", 1.05070102214813232421875f}});
         }},
        {"HardSigmoid",
         [](context& c) {
             unary(c, "hard_sigmoid", {{"alpha", 0.2f}, {"beta", 0.5f}});
         }},
        {"PRelu",
         [](context& c) {
             c.allow_attrs({});
             c.emit("prelu", {c.data_in(0), c.data_in(1)}, {});
         }},
        {"Clip", clip},
        {"Softmax", [](context& c) { softmax(c, "softmax"); }},
        {"LogSoftmax", [](context& c) { softmax(c, "log_softmax"); }},
        {"Gemm", gemm},
        {"MatMul", matmul},
        {"Concat", concat},
        {"Add", [](context& c) { variadic(c, "add"); }},
        {"Sum", [](context& c) { variadic(c, "add"); }},
        {"Mul", [](context& c) { variadic(c, "mul"); }},
        {"Sub", [](context& c) { variadic(c, "sub"); }},
        {"Div", [](context& c) { variadic(c, "div"); }},
        {"Dropout", dropout},
        {"Flatten", flatten},
        {"Reshape", reshape},
        {"Pad", pad},
        {"Upsample", resize},
        {"Resize", resize},
        {"Identity",
         [](context& c) {
             c.allow_attrs({});
             if (const constant* k = c.const_in(0))  // torch.onnx shares initializers this way
                 c.set_const(c.node->output(0), *k);
             else
                 c.emit("identity", {c.data_in(0)}, {});
         }},
        {"Constant", constant_node},
    };
    return m;
}

}  // namespace

void map_node(context& c) {
    if (fold_node(c)) return;
    const auto& m = mappers();
    const auto it = m.find(c.node->op_type());
    if (it == m.end()) {
        std::vector<std::string> known;
        for (const auto& [k, _] : m) known.push_back(k);
        c.fail(cat("op '", c.node->op_type(), "' is not supported (supported: ", join(known, ", "),
                   "; on constants only: Shape, Cast, ConstantOfShape, Unsqueeze, Squeeze, "
                   "Gather, Transpose, Slice)"));
    }
    it->second(c);
}

}  // namespace cnnkit::kernel::onnx_import_detail
