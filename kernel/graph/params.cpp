// params.cpp: parsing and printing of reflected params.
#include "graph/params.hpp"

#include "util/text.hpp"

#include <cmath>
#include <sstream>

namespace cnnkit::kernel {

source_loc loc_of(const YAML::Node& n, const std::string& file) {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return {file, 0, 0};
    return {file, m.line + 1, m.column + 1};
}

void check_unique_keys(const YAML::Node& map, const std::string& file) {
    if (!map.IsMap()) return;
    std::map<std::string, YAML::Node> seen;
    for (const auto& kv : map) {
        const std::string key = kv.first.Scalar();
        if (const auto it = seen.find(key); it != seen.end())
            throw located_error(loc_of(kv.first, file),
                                cat("duplicate key '", key, "' (first at line ",
                                    loc_of(it->second, file).line, ")"));
        seen.emplace(key, kv.first);
    }
}

YAML::Node resolve(const YAML::Node& value, const substitutions* subst, const std::string& file) {
    YAML::Node v = value;
    for (int depth = 0; v.IsScalar() && !v.Scalar().empty() && v.Scalar()[0] == '$'; ++depth) {
        const std::string name = v.Scalar().substr(1);
        if (!subst || depth > 16)
            throw located_error(loc_of(v, file), cat("'$", name, "' used outside a block"));
        const auto it = subst->find(name);
        if (it == subst->end()) {
            std::vector<std::string> known;
            for (const auto& [k, _] : *subst) known.push_back(k);
            throw located_error(loc_of(v, file), cat("unknown block parameter '$", name, "'",
                                                     did_you_mean(name, known)));
        }
        v.reset(it->second);  // rebind: Node::operator= would overwrite the referenced node
    }
    return v;
}

std::vector<cnnkit_param_value> default_params(const layer_type& type) {
    std::vector<cnnkit_param_value> out(type.api->param_count);
    for (std::uint32_t i = 0; i < type.api->param_count; ++i) {
        const cnnkit_param_info& p = type.api->params[i];
        out[i].count = p.count;
        for (std::uint32_t j = 0; j < p.count && j < CNNKIT_MAX_PARAM_VALUES; ++j)
            out[i].v[j] = p.defaults[j];
    }
    return out;
}

std::string describe_kind(const cnnkit_param_info& p) {
    std::string base;
    switch (p.kind) {
        case CNNKIT_PARAM_INT: base = "int"; break;
        case CNNKIT_PARAM_FLOAT: base = "float"; break;
        case CNNKIT_PARAM_BOOL: base = "bool"; break;
        default: {
            std::vector<std::string> names(p.enum_names, p.enum_names + p.enum_count);
            base = "enum{" + join(names, "|") + "}";
        }
    }
    return p.count > 1 ? cat(base, '[', p.count, ']') : base;
}

namespace {

// Parses one scalar of param p; `what` names the key and node for messages.
double parse_scalar(const cnnkit_param_info& p, const YAML::Node& n, const std::string& file,
                    const std::string& what) {
    if (!n.IsScalar())
        throw located_error(loc_of(n, file), cat(what, ": expected ", describe_kind(p),
                                                 ", got a ", n.IsMap() ? "map" : "list"));
    const std::string s = n.Scalar();
    auto bad = [&](const std::string& extra = "") {
        return located_error(loc_of(n, file),
                             cat(what, ": expected ", describe_kind(p), ", got '", s, "'", extra));
    };
    switch (p.kind) {
        case CNNKIT_PARAM_BOOL:
            if (s == "true") return 1;
            if (s == "false") return 0;
            throw bad();
        case CNNKIT_PARAM_ENUM: {
            for (std::uint32_t i = 0; i < p.enum_count; ++i)
                if (s == p.enum_names[i]) return i;
            throw bad(did_you_mean(s, std::vector<std::string>(p.enum_names,
                                                               p.enum_names + p.enum_count)));
        }
        default: {
            double v = 0;
            std::size_t used = 0;
            try {
                v = std::stod(s, &used);
            } catch (const std::exception&) {
                throw bad();
            }
            if (used != s.size() || !std::isfinite(v)) throw bad();
            if (p.kind == CNNKIT_PARAM_INT &&
                (v != std::floor(v) || std::fabs(v) > 2147483647.0))
                throw bad(" (not a 32-bit integer)");
            return v;
        }
    }
}

}  // namespace

std::vector<cnnkit_param_value> parse_params(const layer_type& type, const YAML::Node& map,
                                             const std::set<std::string>& reserved,
                                             const substitutions* subst, const std::string& file,
                                             const std::string& node_name) {
    std::vector<cnnkit_param_value> values = default_params(type);
    const cnnkit_layer_api& api = *type.api;
    check_unique_keys(map, file);
    for (const auto& kv : map) {
        const std::string key = kv.first.Scalar();
        if (reserved.count(key)) continue;
        std::uint32_t idx = api.param_count;
        for (std::uint32_t i = 0; i < api.param_count; ++i)
            if (key == api.params[i].name) idx = i;
        if (idx == api.param_count) {
            std::vector<std::string> known(reserved.begin(), reserved.end());
            for (std::uint32_t i = 0; i < api.param_count; ++i) known.push_back(api.params[i].name);
            throw located_error(loc_of(kv.first, file),
                                cat("unknown key '", key, "' in layer '", node_name, "' (",
                                    api.type, ")", did_you_mean(key, known)));
        }
        const cnnkit_param_info& p = api.params[idx];
        const std::string what = cat("key '", key, "' of layer '", node_name, "' (", api.type, ")");
        const YAML::Node v = resolve(kv.second, subst, file);
        cnnkit_param_value& out = values[idx];
        out.count = p.count;
        if (v.IsSequence()) {
            const std::size_t n = v.size();
            if (p.count == 1 || n == 0 || n > p.count || p.count % n != 0)
                throw located_error(loc_of(v, file), cat(what, ": expected ", describe_kind(p),
                                                         ", got a list of ", n));
            for (std::size_t j = 0; j < n; ++j) {
                const double x = parse_scalar(p, resolve(v[j], subst, file), file, what);
                for (std::size_t r = j; r < p.count; r += n) out.v[r] = x;  // tile [h, w]
            }
        } else {
            const double x = parse_scalar(p, v, file, what);
            for (std::uint32_t j = 0; j < p.count; ++j) out.v[j] = x;  // scalars expand
        }
    }
    return values;
}

std::string format_param(const cnnkit_param_info& p, const cnnkit_param_value& value) {
    auto one = [&](double x) -> std::string {
        if (p.kind == CNNKIT_PARAM_BOOL) return x != 0 ? "true" : "false";
        if (p.kind == CNNKIT_PARAM_ENUM) {
            const auto i = static_cast<std::uint32_t>(x);
            return i < p.enum_count ? p.enum_names[i] : "?";
        }
        std::ostringstream os;
        os.precision(9);
        os << x;
        return os.str();
    };
    if (p.count == 1) return one(value.v[0]);
    std::vector<std::string> parts;
    for (std::uint32_t i = 0; i < p.count; ++i) parts.push_back(one(value.v[i]));
    return "[" + join(parts, ", ") + "]";
}

}  // namespace cnnkit::kernel
