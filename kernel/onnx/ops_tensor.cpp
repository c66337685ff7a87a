// ops_tensor.cpp: the ONNX ops that reshape, pad, resize or hold tensors (Pad, Upsample/Resize,
// Constant), mapped onto plugin layer types like those of ops.cpp.
#include "onnx/context.hpp"
#include "util/text.hpp"

namespace cnnkit::kernel::onnx_import_detail {

using ints = std::vector<std::int64_t>;

void pad(context& c) {
    c.allow_attrs({"mode", "pads", "value", "paddings"});
    need_2d(c);
    const std::string mode = c.attr_string("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge")
        c.fail(cat("attribute 'mode' value '", mode, "' is not supported"));
    ints pads;
    double value = 0;
    if (c.opset < 11) {
        pads = c.attr_ints(c.attr("paddings") ? "paddings" : "pads", {});
        value = c.attr_float("value", 0);
    } else {
        for (double v : c.need_const(1, "pads").v) pads.push_back(int_of(c, v, "pads"));
        if (c.has_in(2)) value = c.need_const(2, "constant_value").v.at(0);
        if (c.has_in(3)) c.fail("input 'axes' is not supported");
    }
    if (pads.size() != 8 || pads[0] || pads[1] || pads[4] || pads[5])
        c.fail(cat("pads ", fmt_list(pads), ": only H and W of an NCHW input may be padded"));
    for (auto x : pads)
        if (x < 0) c.fail(cat("negative pads ", fmt_list(pads), " (cropping) are not supported"));
    c.emit("pad", {c.data_in(0)},
           {{"mode", mode},
            {"pad", fmt_list(ints{pads[2], pads[3], pads[6], pads[7]})},
            {"value", fmt(value)}});
}

void resize(context& c) {
    const bool upsample = c.node->op_type() == "Upsample";
    c.allow_attrs({"mode", "scales", "coordinate_transformation_mode", "nearest_mode",
                   "cubic_coeff_a", "exclude_outside", "extrapolation_value", "height_scale",
                   "width_scale"});
    need_2d(c);
    const std::string mode = c.attr_string("mode", "nearest");
    if (mode != "nearest" && mode != "linear" && mode != "bilinear" && mode != "cubic")
        c.fail(
            cat("attribute 'mode' value '", mode, "' is not supported (nearest, linear, cubic)"));
    const bool v11 = !upsample && c.opset >= 11;
    const std::string ctm =
        c.attr_string("coordinate_transformation_mode", v11 ? "half_pixel" : "asymmetric");
    if (ctm != "half_pixel" && ctm != "pytorch_half_pixel" && ctm != "align_corners" &&
        ctm != "asymmetric")
        c.fail(
            cat("attribute 'coordinate_transformation_mode' value '", ctm, "' is not supported"));
    // extrapolation_value only acts in tf_crop_and_resize, refused above.
    const std::string nm = c.attr_string("nearest_mode", v11 ? "round_prefer_floor" : "floor");
    param_list p = {{"mode", mode == "nearest" ? "nearest"
                             : mode == "cubic" ? "bicubic"
                                               : "bilinear"},
                    {"coordinate", ctm},
                    {"nearest_mode", nm},
                    {"cubic_coeff_a", fmt(c.attr_float("cubic_coeff_a", -0.75f))},
                    {"exclude_outside", c.attr_int("exclude_outside", 0) ? "true" : "false"}};
    std::vector<double> scales;
    if (c.attr("scales")) {
        for (float f : c.attr("scales")->floats()) scales.push_back(f);
    } else if (c.attr("height_scale")) {
        scales = {1, 1, c.attr_float("height_scale", 1), c.attr_float("width_scale", 1)};
    } else {
        const int at = v11 ? 2 : 1;
        if (c.has_in(at) && c.need_const(at, "scales").numel() > 0)
            scales = c.need_const(at, "scales").v;
    }
    if (!scales.empty()) {
        if (scales.size() != 4 || scales[0] != 1 || scales[1] != 1)
            c.fail(cat("scales ", fmt_list(scales), ": only H and W of an NCHW input may scale"));
        p.push_back({"scale", fmt_list(std::vector<double>{scales[2], scales[3]})});
    } else if (v11 && c.has_in(3)) {
        const constant& s = c.need_const(3, "sizes");
        const sdk::shape x = c.shape_in(0);
        if (s.v.size() != 4 || s.v[0] != x[0] || s.v[1] != x[1])
            c.fail(cat("sizes ", fmt_list(s.v), ": only H and W of an NCHW input may change"));
        p.push_back(
            {"size", fmt_list(ints{int_of(c, s.v[2], "sizes"), int_of(c, s.v[3], "sizes")})});
    } else {
        c.fail("neither scales nor sizes are given");
    }
    c.emit("upsample", {c.data_in(0)}, p);
}

void constant_node(context& c) {
    c.allow_attrs({"value", "value_float", "value_floats", "value_int", "value_ints"});
    if (c.node->attribute_size() != 1) c.fail("needs exactly one value attribute");
    const onnx::AttributeProto& a = c.node->attribute(0);
    constant k;
    if (a.name() == "value") {
        k = to_constant(a.t(), cat("node '", c.node->name(), "' (Constant)"));
    } else if (a.name() == "value_float") {
        k.v = {a.f()};
    } else if (a.name() == "value_int") {
        k = {{}, {double(a.i())}, true};
    } else if (a.name() == "value_floats") {
        k.v.assign(a.floats().begin(), a.floats().end());
        k.dims = {static_cast<std::int64_t>(k.v.size())};
    } else {
        for (auto x : a.ints()) k.v.push_back(static_cast<double>(x));
        k.dims = {static_cast<std::int64_t>(k.v.size())};
        k.integer = true;
    }
    c.set_const(c.node->output(0), std::move(k));
}

}  // namespace cnnkit::kernel::onnx_import_detail
