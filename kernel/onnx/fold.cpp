// fold.cpp: constant folding at import. Exporters (torch.onnx) compute pads, sizes and shapes
// with small subgraphs (Shape, Gather, Slice, Concat, Cast, ...); shapes are static in cnnkit, so
// these run here on the host and their results become constants, never layers.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "onnx/context.hpp"
#include "util/limits.hpp"
#include "util/text.hpp"

namespace cnnkit::kernel::onnx_import_detail {
namespace {

using ints = std::vector<std::int64_t>;

std::int64_t norm_axis(context& c, std::int64_t axis, std::size_t rank) {
    const auto r = static_cast<std::int64_t>(rank);
    if (axis < -r || axis >= r) c.fail(cat("axis ", axis, " is outside a rank ", r, " tensor"));
    return axis < 0 ? axis + r : axis;
}

// out[i] = f(index of i in `dims`) for every element of a tensor of `dims` (checked first).
template <class F>
constant make(context& c, const ints& dims, bool integer, F&& f) {
    try {
        checked_dims(dims, "the folded result");
    } catch (const error& e) {
        c.fail(e.what());
    }
    constant out{dims, {}, integer};
    const std::int64_t n = out.numel();
    c.folded += n;
    if (c.folded > limits::max_folded_elements)
        c.fail(cat("constant folding would compute ", c.folded, " elements in this model (",
                   fmt_list(dims), " here), more than the ", limits::max_folded_elements,
                   " it allows"));
    out.v.reserve(static_cast<std::size_t>(n));
    ints idx(dims.size(), 0);  // row-major odometer: no division or allocation per element
    for (std::int64_t i = 0; i < n; ++i) {
        out.v.push_back(f(idx));
        for (std::size_t d = dims.size(); d-- > 0;) {
            if (++idx[d] < dims[d]) break;
            idx[d] = 0;
        }
    }
    return out;
}

double at(const constant& k, const ints& idx) {  // idx of k's rank; dims of 1 broadcast
    std::int64_t off = 0, stride = 1;  // innermost first: no strides vector per element
    for (std::size_t d = idx.size(); d-- > 0;) {
        off += (k.dims[d] == 1 ? 0 : idx[d]) * stride;
        stride *= k.dims[d];
    }
    return k.v[static_cast<std::size_t>(off)];
}

constant binary(context& c, const constant& a, const constant& b, const std::string& op) {
    const std::size_t r = std::max(a.dims.size(), b.dims.size());
    auto pad = [r](ints d) {
        d.insert(d.begin(), r - d.size(), 1);
        return d;
    };
    const ints da = pad(a.dims), db = pad(b.dims);
    ints out(r);
    for (std::size_t d = 0; d < r; ++d) {
        if (da[d] != db[d] && da[d] != 1 && db[d] != 1)
            c.fail(cat("constants ", fmt_list(a.dims), " and ", fmt_list(b.dims),
                       " do not broadcast"));
        out[d] = da[d] == 1 ? db[d] : da[d];  // 1 broadcasts to any extent, 0 included
    }
    const constant ea{da, a.v, a.integer}, eb{db, b.v, b.integer};
    const bool integer = a.integer && b.integer;
    return make(c, out, integer, [&](const ints& i) {
        const double x = at(ea, i), y = at(eb, i);
        if (op == "Add") return x + y;
        if (op == "Sub") return x - y;
        if (op == "Mul") return x * y;
        if (integer && y == 0) c.fail("integer division by zero");
        return integer ? std::trunc(x / y) : x / y;
    });
}

ints as_ints(context& c, const constant& k) {
    ints out;
    for (double v : k.v) out.push_back(int_of(c, v, "an integer input"));
    return out;
}

constant slice(context& c, const constant& x) {
    ints starts, ends, axes, steps;
    if (c.opset < 10) {
        starts = c.attr_ints("starts", {}), ends = c.attr_ints("ends", {});
        axes = c.attr_ints("axes", {});
    } else {
        starts = as_ints(c, c.need_const(1, "starts"));
        ends = as_ints(c, c.need_const(2, "ends"));
        if (c.has_in(3)) axes = as_ints(c, c.need_const(3, "axes"));
        if (c.has_in(4)) steps = as_ints(c, c.need_const(4, "steps"));
    }
    if (axes.empty())
        for (std::size_t i = 0; i < starts.size(); ++i)
            axes.push_back(static_cast<std::int64_t>(i));
    steps.resize(starts.size(), 1);
    ints first(x.dims.size(), 0), step(x.dims.size(), 1), dims = x.dims;
    for (std::size_t i = 0; i < starts.size() && i < ends.size() && i < axes.size(); ++i) {
        const auto a = static_cast<std::size_t>(norm_axis(c, axes[i], x.dims.size()));
        const std::int64_t n = x.dims[a];
        if (steps[i] == 0) c.fail("a Slice step of 0");
        if (n == 0) continue;  // nothing to take
        // A step longer than the axis takes at most one element: clamp it (no overflow below).
        const std::int64_t s = std::clamp<std::int64_t>(steps[i], -n, n);
        auto clampi = [&](std::int64_t v, std::int64_t lo, std::int64_t hi) {
            if (v < 0) v += n;
            return std::clamp(v, lo, hi);
        };
        const std::int64_t b = s > 0 ? clampi(starts[i], 0, n) : clampi(starts[i], 0, n - 1);
        const std::int64_t e = s > 0 ? clampi(ends[i], 0, n) : clampi(ends[i], -1, n - 1);
        first[a] = b, step[a] = s;
        dims[a] = std::max<std::int64_t>(0, s > 0 ? (e - b + s - 1) / s : (b - e - s - 1) / -s);
    }
    ints src(dims.size());  // reused for every element
    return make(c, dims, x.integer, [&](const ints& i) {
        for (std::size_t d = 0; d < i.size(); ++d) src[d] = first[d] + i[d] * step[d];
        return at(x, src);
    });
}

constant fold(context& c, const std::string& op) {
    auto in = [&](int i) -> const constant& { return c.need_const(i, cat("input ", i)); };
    if (op == "Shape") {
        ints dims = c.const_in(0) ? c.const_in(0)->dims : ints{};
        if (!c.const_in(0)) {
            const auto shape = c.shape_in(0);  // dims() views it: keep it alive for the loop
            for (auto d : shape.dims()) dims.push_back(d);
        }
        const auto r = static_cast<std::int64_t>(dims.size());
        auto edge = [r](std::int64_t v) {
            return std::clamp<std::int64_t>(v < 0 ? v + r : v, 0, r);
        };
        const std::int64_t b = edge(c.attr_int("start", 0)), e = edge(c.attr_int("end", r));
        constant k{{std::max<std::int64_t>(0, e - b)}, {}, true};
        for (std::int64_t d = b; d < e; ++d) k.v.push_back(static_cast<double>(dims[d]));
        return k;
    }
    if (op == "Identity") return in(0);
    if (op == "Cast") {
        const auto to = c.attr_int("to", 1);
        constant k = in(0);
        if (to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE) {
            k.integer = false;
        } else if (to == onnx::TensorProto::INT64 || to == onnx::TensorProto::INT32) {
            k.integer = true;
            for (double& v : k.v) v = std::trunc(v);
        } else {
            c.fail(cat("attribute 'to' value ", to, " is not supported (float, int32, int64)"));
        }
        return k;
    }
    if (op == "ConstantOfShape") {
        constant fill{{}, {0.0}, false};
        if (const auto* a = c.attr("value")) fill = to_constant(a->t(), "ConstantOfShape value");
        if (fill.v.size() != 1) c.fail("attribute 'value' must hold one element");
        return make(c, as_ints(c, in(0)), fill.integer, [&](const ints&) { return fill.v[0]; });
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div")
        return binary(c, in(0), in(1), op);
    if (op == "Unsqueeze" || op == "Squeeze") {
        constant k = in(0);
        ints axes = c.opset >= 13 && c.has_in(1) ? as_ints(c, in(1)) : c.attr_ints("axes", {});
        const std::size_t rank = k.dims.size() + (op == "Unsqueeze" ? axes.size() : 0);
        for (auto& a : axes) a = norm_axis(c, a, rank);
        std::sort(axes.begin(), axes.end());
        if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
            c.fail(cat("axes ", fmt_list(axes), " repeat an axis"));
        if (op == "Unsqueeze") {
            for (auto a : axes) k.dims.insert(k.dims.begin() + a, 1);
        } else {
            // A named axis must have extent 1 (ONNX): dropping a 0 from [0, 2] left dims [2]
            // over no values, and folding read past them (found by fuzz_onnx).
            for (auto a : axes)
                if (k.dims[static_cast<std::size_t>(a)] != 1)
                    c.fail(cat("Squeeze axis ", a, " of a ", fmt_list(k.dims),
                               " constant has extent ", k.dims[static_cast<std::size_t>(a)],
                               ", not 1"));
            ints keep;
            for (std::size_t d = 0; d < k.dims.size(); ++d)
                if (axes.empty() ? k.dims[d] != 1
                                 : !std::binary_search(axes.begin(), axes.end(), d))
                    keep.push_back(k.dims[d]);
            k.dims = keep;
        }
        return k;
    }
    if (op == "Reshape") {
        constant k = in(0);
        ints shape = as_ints(c, in(1));
        std::int64_t infer = -1;
        for (std::size_t i = 0; i < shape.size(); ++i) {
            if (shape[i] == 0 && i < k.dims.size() && !c.attr_int("allowzero", 0))
                shape[i] = k.dims[i];
            if (shape[i] < -1 || (shape[i] == -1 && infer >= 0))
                c.fail(cat("Reshape shape ", fmt_list(shape), " is not valid"));
            if (shape[i] == -1) infer = static_cast<std::int64_t>(i);
        }
        if (infer >= 0) {
            ints rest = shape;
            rest[static_cast<std::size_t>(infer)] = 1;
            const std::int64_t known = checked_dims(rest, "Reshape shape");
            shape[static_cast<std::size_t>(infer)] = known ? k.numel() / known : 0;
        }
        checked_dims(shape, "Reshape shape");
        k.dims = shape;
        if (k.numel() != static_cast<std::int64_t>(k.v.size()))
            c.fail(cat("cannot reshape ", k.v.size(), " values to ", fmt_list(shape)));
        return k;
    }
    if (op == "Concat") {
        std::vector<const constant*> parts;
        for (int i = 0; i < c.n_in(); ++i) parts.push_back(&in(i));
        const auto axis =
            static_cast<std::size_t>(norm_axis(c, c.attr_int("axis", 0), parts[0]->dims.size()));
        ints dims = parts[0]->dims;
        dims[axis] = 0;
        bool integer = true;
        for (const auto* p : parts) {
            ints other = p->dims;
            if (other.size() == dims.size()) other[axis] = 0;
            if (other != dims)
                c.fail(cat("Concat of constants ", fmt_list(parts[0]->dims), " and ",
                           fmt_list(p->dims), " along axis ", axis));
        }
        for (const auto* p : parts) dims[axis] += p->dims[axis], integer &= p->integer;
        ints i;  // reused for every element
        return make(c, dims, integer, [&](const ints& at_out) {
            i = at_out;
            for (const auto* p : parts) {
                if (i[axis] < p->dims[axis]) return at(*p, i);
                i[axis] -= p->dims[axis];
            }
            return 0.0;
        });
    }
    if (op == "Gather") {
        const constant& x = in(0);
        const constant& idx = in(1);
        const auto axis =
            static_cast<std::size_t>(norm_axis(c, c.attr_int("axis", 0), x.dims.size()));
        ints dims(x.dims.begin(), x.dims.begin() + static_cast<std::ptrdiff_t>(axis));
        dims.insert(dims.end(), idx.dims.begin(), idx.dims.end());
        dims.insert(dims.end(), x.dims.begin() + static_cast<std::ptrdiff_t>(axis) + 1,
                    x.dims.end());
        return make(c, dims, x.integer, [&](const ints& i) {
            ints src(i.begin(), i.begin() + static_cast<std::ptrdiff_t>(axis));
            const ints ii(i.begin() + static_cast<std::ptrdiff_t>(axis),
                          i.begin() + static_cast<std::ptrdiff_t>(axis + idx.dims.size()));
            auto j = int_of(c, idx.dims.empty() ? idx.v[0] : at(idx, ii), "a Gather index");
            if (j < 0) j += x.dims[axis];
            if (j < 0 || j >= x.dims[axis]) c.fail(cat("Gather index ", j, " is out of range"));
            src.push_back(j);
            src.insert(src.end(), i.begin() + static_cast<std::ptrdiff_t>(axis + idx.dims.size()),
                       i.end());
            return at(x, src);
        });
    }
    if (op == "Transpose") {
        const constant& x = in(0);
        ints perm = c.attr_ints("perm", {});
        if (perm.empty())
            for (std::size_t d = x.dims.size(); d-- > 0;)
                perm.push_back(static_cast<std::int64_t>(d));
        ints sorted = perm;
        std::sort(sorted.begin(), sorted.end());
        for (std::size_t d = 0; d < sorted.size(); ++d)
            if (sorted.size() != x.dims.size() || sorted[d] != static_cast<std::int64_t>(d))
                c.fail(cat("perm ", fmt_list(perm), " is not a permutation of a rank ",
                           x.dims.size(), " tensor's axes"));
        ints dims;
        for (auto p : perm) dims.push_back(x.dims[static_cast<std::size_t>(p)]);
        ints src(dims.size());  // reused for every element
        return make(c, dims, x.integer, [&](const ints& i) {
            for (std::size_t d = 0; d < i.size(); ++d)
                src[static_cast<std::size_t>(perm[d])] = i[d];
            return at(x, src);
        });
    }
    return slice(c, in(0));  // "Slice"
}

}  // namespace

bool fold_node(context& c) {
    static const std::set<std::string> only_constant = {
        "Shape", "Cast", "ConstantOfShape", "Unsqueeze", "Squeeze", "Gather", "Transpose", "Slice"};
    static const std::set<std::string> also_layers = {"Add",     "Sub",    "Mul",     "Div",
                                                      "Reshape", "Concat", "Identity"};
    static const std::map<std::string, std::set<std::string>> attrs = {
        {"Shape", {"start", "end"}},
        {"Cast", {"to"}},
        {"ConstantOfShape", {"value"}},
        {"Unsqueeze", {"axes"}},
        {"Squeeze", {"axes"}},
        {"Gather", {"axis"}},
        {"Transpose", {"perm"}},
        {"Slice", {"starts", "ends", "axes"}},
        {"Reshape", {"allowzero"}},
        {"Concat", {"axis"}},
        {"Identity", {}},
        {"Add", {}},
        {"Sub", {}},
        {"Mul", {}},
        {"Div", {}}};
    const std::string& op = c.node->op_type();
    const bool only = only_constant.count(op) != 0;
    if (!only && !also_layers.count(op)) return false;
    if (only) c.allow_attrs(attrs.at(op));
    bool all_const = c.n_in() > 0;
    for (int i = 0; i < c.n_in(); ++i) all_const &= !c.has_in(i) || c.const_in(i) != nullptr;
    if (op == "Shape") all_const = true;  // shapes are static: Shape of anything is known
    if (!all_const) {
        if (only)
            c.fail(cat("op '", op,
                       "' is supported only on constants (shape arithmetic), and "
                       "an input here is computed"));
        return false;
    }
    c.allow_attrs(attrs.at(op));  // a layer's legacy attributes (broadcast, allowzero) refused too
    c.set_const(c.node->output(0), fold(c, op));
    return true;
}

}  // namespace cnnkit::kernel::onnx_import_detail
