// schema.cpp: JSON Schema generation from cnnkit_param_info (no per-layer code).
#include "graph/schema.hpp"

#include <nlohmann/json.hpp>

#include "graph/params.hpp"

namespace cnnkit::kernel {
namespace {

using json = nlohmann::json;

const json ref = {{"type", "string"},
                  {"pattern", "^\\$[A-Za-z_][A-Za-z0-9_]*$"},
                  {"description", "a block parameter"}};

json scalar_value(const cnnkit_param_info& p, double v) {
    switch (p.kind) {
        case CNNKIT_PARAM_INT:
            return static_cast<std::int64_t>(v);
        case CNNKIT_PARAM_BOOL:
            return v != 0;
        case CNNKIT_PARAM_ENUM: {
            const auto i = static_cast<std::uint32_t>(v);
            return i < p.enum_count ? json(p.enum_names[i]) : json(nullptr);
        }
        default:
            return v;
    }
}

json scalar_schema(const cnnkit_param_info& p) {
    switch (p.kind) {
        case CNNKIT_PARAM_INT:
            return {{"type", "integer"}};
        case CNNKIT_PARAM_FLOAT:
            return {{"type", "number"}};
        case CNNKIT_PARAM_BOOL:
            return {{"type", "boolean"}};
        default:
            return {{"enum", std::vector<std::string>(p.enum_names, p.enum_names + p.enum_count)}};
    }
}

// A scalar (expanded to every element) or a list whose length divides `count` (tiled).
json param_schema(const cnnkit_param_info& p) {
    const json one = {{"anyOf", {scalar_schema(p), ref}}};
    json s;
    if (p.count == 1) {
        s = one;
        s["default"] = scalar_value(p, p.defaults[0]);
    } else {
        json lists = json::array({one});
        for (std::uint32_t n = 1; n <= p.count; ++n)
            if (p.count % n == 0)
                lists.push_back(
                    {{"type", "array"}, {"items", one}, {"minItems", n}, {"maxItems", n}});
        lists.push_back(ref);
        s = {{"anyOf", lists}};
        json d = json::array();
        for (std::uint32_t i = 0; i < p.count; ++i) d.push_back(scalar_value(p, p.defaults[i]));
        s["default"] = d;
    }
    s["description"] = describe_kind(p);
    return s;
}

json node_common() {
    return {
        {"name", {{"type", "string"}, {"pattern", "^[^.:@$ ]+$"}}},
        {"type", {{"type", "string"}}},
        {"inputs",
         {{"anyOf", {{{"type", "string"}}, {{"type", "array"}, {"items", {{"type", "string"}}}}}}}},
        {"repeat", {{"anyOf", {{{"type", "integer"}, {"minimum", 1}}, ref}}}}};
}

json layer_schema(const layer_type& t) {
    json props = node_common();
    props["type"] = {{"const", t.api->type}};
    for (std::uint32_t i = 0; i < t.api->param_count; ++i)
        props[t.api->params[i].name] = param_schema(t.api->params[i]);
    return {{"type", "object"},
            {"description", cat(t.api->doc ? t.api->doc : "", " (", t.plugin_path, ")")},
            {"properties", props},
            {"additionalProperties", false}};
}

json preprocess_schema() {
    const json size = {{"type", "integer"}, {"minimum", 1}, {"maximum", 65536}};
    const json pair = {
        {"anyOf", {size, {{"type", "array"}, {"items", size}, {"minItems", 2}, {"maxItems", 2}}}}};
    const json triple = {
        {"anyOf",
         {{{"type", "number"}},
          {{"type", "array"}, {"items", {{"type", "number"}}}, {"minItems", 3}, {"maxItems", 3}}}}};
    return {{"type", "object"},
            {"additionalProperties", false},
            {"properties",
             {{"input", {{"type", "string"}}},
              {"resize", pair},
              {"crop", pair},
              {"scale", {{"type", "number"}}},
              {"mean", triple},
              {"std", triple},
              {"channels", {{"enum", {"rgb", "bgr"}}}}}}};
}

}  // namespace

std::string network_schema(const registry& reg) {
    json defs, cases = json::array(), names = json::array();
    for (const layer_type* t : reg.types()) {
        const std::string type = t->api->type;
        names.push_back(type);
        defs["layer_" + type] = layer_schema(*t);
        cases.push_back(
            {{"if", {{"properties", {{"type", {{"const", type}}}}}, {"required", {"type"}}}},
             {"then", {{"$ref", "#/definitions/layer_" + type}}}});
    }
    json node_props = node_common();
    node_props["type"] = {{"anyOf", {{{"enum", names}}, {{"type", "string"}}}},
                          {"description", "a layer type, or a block of this file"}};
    defs["node"] = {
        {"type", "object"}, {"required", {"type"}}, {"properties", node_props}, {"allOf", cases}};
    defs["shape"] = {{"type", "array"},
                     {"items", {{"type", "integer"}, {"minimum", 1}}},
                     {"minItems", 1},
                     {"maxItems", CNNKIT_MAX_RANK}};
    defs["nodes"] = {
        {"type", "array"}, {"minItems", 1}, {"items", {{"$ref", "#/definitions/node"}}}};
    defs["block"] = {{"type", "object"},
                     {"required", {"nodes"}},
                     {"additionalProperties", false},
                     {"properties",
                      {{"params", {{"type", "object"}}},
                       {"inputs", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                       {"nodes", {{"$ref", "#/definitions/nodes"}}},
                       {"output", {{"type", "string"}}}}}};
    const json schema = {
        {"$schema", "http://json-schema.org/draft-07/schema#"},
        {"title", "cnnkit network"},
        {"description",
         "A cnnkit YAML network; generated by `cnnkit schema` from the loaded plugins."},
        {"type", "object"},
        {"required", {"inputs", "nodes"}},
        {"additionalProperties", false},
        {"properties",
         {{"name", {{"type", "string"}}},
          {"description", {{"type", "string"}}},
          {"inputs",
           {{"type", "object"},
            {"minProperties", 1},
            {"additionalProperties", {{"$ref", "#/definitions/shape"}}}}},
          {"nodes", {{"$ref", "#/definitions/nodes"}}},
          {"outputs",
           {{"anyOf",
             {{{"type", "object"}, {"additionalProperties", {{"type", "string"}}}},
              {{"type", "array"}, {"items", {{"type", "string"}}}}}}}},
          {"blocks",
           {{"type", "object"}, {"additionalProperties", {{"$ref", "#/definitions/block"}}}}},
          {"preprocess", preprocess_schema()},
          {"labels",
           {{"anyOf",
             {{{"type", "string"}},
              {{"type", "array"}, {"minItems", 1}, {"items", {{"type", "string"}}}}}}}}}},
        {"definitions", defs}};
    return schema.dump(2);
}

}  // namespace cnnkit::kernel
