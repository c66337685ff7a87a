// yaml_loader.cpp: network files: inputs, nodes (sequential default, explicit inputs, repeat),
// user blocks, outputs. Nodes of a list may come in any order; they are sorted by their inputs.
#include "graph/yaml_loader.hpp"

#include "graph/params.hpp"
#include "util/limits.hpp"
#include "util/text.hpp"

#include <yaml-cpp/depthguard.h>

#include <fstream>
#include <set>
#include <sstream>

namespace cnnkit::kernel {
namespace {

const std::set<std::string> node_keys = {"name", "type", "inputs", "repeat"};
const std::vector<std::string> top_keys = {"name", "description", "inputs", "nodes", "outputs",
                                           "blocks", "preprocess", "labels"};
const std::vector<std::string> block_keys = {"params", "inputs", "nodes", "output"};

struct scope {
    std::string prefix;                                 // "" or "layer1.0."
    std::map<std::string, std::vector<int>> names;      // local name -> output tensors
    const substitutions* subst = nullptr;
    std::string group;
};

class loader {
public:
    loader(const registry& reg, graph& g, std::string file)
        : reg_(reg), g_(g), b_(reg, g), file_(std::move(file)) {}

    void load(const YAML::Node& root, const load_options& opt);

private:
    [[noreturn]] void fail(const YAML::Node& at, const std::string& msg) const {
        throw located_error(loc_of(at, file_), msg);
    }
    void expect_map(const YAML::Node& n, const std::string& what) const {
        if (!n.IsMap()) fail(n, cat(what, " must be a map"));
        check_unique_keys(n, file_);
    }
    void check_keys(const YAML::Node& map, const std::vector<std::string>& allowed,
                    const std::string& where) const {
        for (const auto& kv : map) {
            const std::string key = kv.first.Scalar();
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
                fail(kv.first, cat("unknown key '", key, "' in ", where,
                                   did_you_mean(key, allowed)));
        }
    }
    // Outputs become files DIR/<name>.npy: a name must not leave DIR.
    void check_output_name(const YAML::Node& n) const {
        const std::string name = n.IsScalar() ? n.Scalar() : "";
        if (name.empty() || name.find_first_of("/\\") != std::string::npos ||
            name.find('\0') != std::string::npos || name == "." || name == "..")
            fail(n, cat("output name '", name, "' must be a plain file name (no '/' or '\\')"));
    }
    std::int64_t as_int(const YAML::Node& n, const std::string& what, std::int64_t lo,
                        std::int64_t hi) const;
    sdk::shape as_shape(const YAML::Node& n, const std::string& what) const;
    std::vector<int> lookup(const scope& s, const YAML::Node& ref) const;
    std::vector<int> run_nodes(scope& s, const YAML::Node& list, std::vector<int> first_input);
    std::vector<int> add_any(scope& s, const std::string& local, const YAML::Node& node,
                             const std::string& type, const std::vector<int>& inputs,
                             const std::vector<source_loc>& input_where);
    std::vector<int> add_block(scope& s, const std::string& full, const YAML::Node& node,
                               const YAML::Node& block, const std::vector<int>& inputs);

    const registry& reg_;
    graph& g_;
    graph_builder b_;
    std::string file_;
    YAML::Node blocks_;
    int block_depth_ = 0;
};

std::int64_t loader::as_int(const YAML::Node& n, const std::string& what, std::int64_t lo,
                            std::int64_t hi) const {
    if (!n.IsScalar()) fail(n, cat(what, " must be an integer"));
    std::int64_t v = 0;
    try {
        std::size_t used = 0;
        v = std::stoll(n.Scalar(), &used);
        if (used != n.Scalar().size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
        fail(n, cat(what, " must be an integer, got '", n.Scalar(), "'"));
    }
    if (v < lo || v > hi) fail(n, cat(what, " must be in ", lo, "..", hi, ", got ", v));
    return v;
}

sdk::shape loader::as_shape(const YAML::Node& n, const std::string& what) const {
    if (!n.IsSequence() || n.size() < 1 || n.size() > CNNKIT_MAX_RANK)
        fail(n, cat(what, " must be a list of 1 to ", CNNKIT_MAX_RANK, " dimensions"));
    auto s = sdk::shape::of_rank(static_cast<std::uint32_t>(n.size()));
    for (std::size_t i = 0; i < n.size(); ++i)
        s[i] = as_int(n[i], cat(what, " dimension ", i), 1, std::int64_t{1} << 31);
    return s;
}

std::vector<int> loader::lookup(const scope& s, const YAML::Node& ref) const {
    if (!ref.IsScalar()) fail(ref, "an input reference must be a name");
    const std::string r = ref.Scalar();
    std::string base = r;
    std::size_t index = 0;
    if (const auto colon = r.rfind(':'); colon != std::string::npos) {
        base = r.substr(0, colon);
        try {
            index = std::stoul(r.substr(colon + 1));
        } catch (const std::exception&) {
            fail(ref, cat("bad output index in '", r, "'"));
        }
    }
    const auto it = s.names.find(base);
    if (it == s.names.end()) {
        std::vector<std::string> known;
        for (const auto& [k, _] : s.names) known.push_back(k);
        fail(ref, cat("input '", r, "' is not defined", did_you_mean(base, known)));
    }
    if (index >= it->second.size())
        fail(ref, cat("'", base, "' has ", it->second.size(), " output(s); '", r,
                      "' does not exist"));
    return {it->second[index]};
}

void loader::load(const YAML::Node& root, const load_options& opt) {
    expect_map(root, "a network file");
    check_keys(root, top_keys, "the network");
    g_.name = root["name"] ? root["name"].Scalar() : "";
    if (root["blocks"]) {
        expect_map(root["blocks"], "blocks");
        blocks_ = root["blocks"];
        for (const auto& kv : blocks_) {
            const std::string name = kv.first.Scalar();
            if (reg_.find(name)) fail(kv.first, cat("block '", name, "' hides the layer type '",
                                                    name, "' of a plugin"));
            expect_map(kv.second, cat("block '", name, "'"));
            check_keys(kv.second, block_keys, cat("block '", name, "'"));
            if (!kv.second["nodes"]) fail(kv.second, cat("block '", name, "' has no nodes"));
        }
    }
    const YAML::Node inputs = root["inputs"];
    if (!inputs || !inputs.IsMap() || inputs.size() == 0)
        fail(inputs ? inputs : root, "a network needs 'inputs:', a map of name: [shape]");
    check_unique_keys(inputs, file_);
    scope top;
    std::vector<int> first;
    for (const auto& kv : inputs) {
        sdk::shape s = as_shape(kv.second, cat("input '", kv.first.Scalar(), "'"));
        if (opt.batch) s[0] = *opt.batch;
        const int id = b_.add_input(kv.first.Scalar(), s);
        top.names[kv.first.Scalar()] = {id};
        if (first.empty()) first = {id};
    }
    if (const YAML::Node pre = root["preprocess"]) {
        std::vector<std::pair<std::string, sdk::shape>> shapes;
        for (int t : g_.inputs) shapes.emplace_back(g_.tensors[t].name, g_.tensors[t].shape);
        g_.preprocess = parse_preprocess(pre, file_, shapes);
    }
    if (const YAML::Node labels = root["labels"]) g_.labels = parse_labels(labels, file_);
    const YAML::Node nodes = root["nodes"];
    if (!nodes || !nodes.IsSequence() || nodes.size() == 0)
        fail(nodes ? nodes : root, "a network needs 'nodes:', a non-empty list");
    const std::vector<int> last = run_nodes(top, nodes, first);

    const YAML::Node outs = root["outputs"];
    if (!outs) {
        b_.add_output("out", last[0]);
    } else if (outs.IsMap()) {
        check_unique_keys(outs, file_);
        for (const auto& kv : outs) {
            check_output_name(kv.first);
            b_.add_output(kv.first.Scalar(), lookup(top, kv.second)[0]);
        }
    } else if (outs.IsSequence()) {
        for (const auto& ref : outs) {
            check_output_name(ref);
            b_.add_output(ref.Scalar(), lookup(top, ref)[0]);
        }
    } else {
        fail(outs, "'outputs:' must be a map of name: tensor or a list of tensors");
    }
}

std::vector<int> loader::run_nodes(scope& s, const YAML::Node& list, std::vector<int> first) {
    if (!list.IsSequence()) fail(list, "'nodes:' must be a list");
    struct item {
        YAML::Node node;
        std::string name, type;
        std::vector<YAML::Node> refs;  // explicit input references
        std::string implicit;          // previous item's name when no inputs: are given
        bool no_inputs = false;        // `inputs: []`: a source node (constant)
    };
    std::vector<item> items;
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const YAML::Node n = list[i];
        expect_map(n, "a node");
        item it{n, "", "", {}, "", false};
        if (!n["type"]) fail(n, "node has no 'type'");
        it.type = n["type"].Scalar();
        it.name = n["name"] ? n["name"].Scalar() : cat(it.type, i);
        if (it.name.empty() || it.name.find_first_of(".:@$ ") != std::string::npos)
            fail(n["name"], cat("bad node name '", it.name, "' (no '.', ':', '@', '$' or spaces)"));
        if (index.count(it.name) || s.names.count(it.name))
            fail(n["name"] ? n["name"] : n, cat("duplicate node name '", it.name, "'"));
        if (const YAML::Node in = n["inputs"]) {
            if (in.IsScalar()) it.refs.push_back(in);
            else if (in.IsSequence()) for (const auto& r : in) it.refs.push_back(r);
            else fail(in, "'inputs:' must be a name or a list of names");
            it.no_inputs = it.refs.empty();
        } else if (i > 0) {
            it.implicit = items.back().name;
        }
        index[it.name] = items.size();
        items.push_back(std::move(it));
    }
    // Kahn's algorithm over references to sibling nodes, stable in file order.
    std::vector<std::vector<std::size_t>> users(items.size());
    std::vector<int> pending(items.size(), 0);
    for (std::size_t i = 0; i < items.size(); ++i) {
        auto dep = [&](const std::string& ref) {
            const std::string base = ref.substr(0, ref.rfind(':'));
            if (const auto it = index.find(base); it != index.end()) {
                users[it->second].push_back(i);
                ++pending[i];
            }
        };
        for (const auto& r : items[i].refs) dep(r.Scalar());
        if (!items[i].implicit.empty()) dep(items[i].implicit);
    }
    std::vector<std::size_t> order;
    std::set<std::size_t> ready;
    for (std::size_t i = 0; i < items.size(); ++i)
        if (!pending[i]) ready.insert(i);
    while (!ready.empty()) {
        const std::size_t i = *ready.begin();
        ready.erase(ready.begin());
        order.push_back(i);
        for (std::size_t u : users[i])
            if (--pending[u] == 0) ready.insert(u);
    }
    if (order.size() != items.size()) {
        std::vector<std::string> stuck;
        for (std::size_t i = 0; i < items.size(); ++i)
            if (pending[i]) stuck.push_back(items[i].name);
        const std::size_t at = index[stuck.front()];
        fail(items[at].node, cat("the inputs of nodes ", join(stuck, ", "), " form a cycle"));
    }
    for (std::size_t i : order) {
        const item& it = items[i];
        std::vector<int> in;
        std::vector<source_loc> in_where;  // each explicit reference, for shape errors
        if (!it.refs.empty()) {
            for (const auto& r : it.refs) {
                in.push_back(lookup(s, r)[0]);
                in_where.push_back(loc_of(r, file_));
            }
        } else if (it.no_inputs) {
        } else if (!it.implicit.empty()) {
            in = {s.names.at(it.implicit)[0]};
        } else {
            if (first.empty()) fail(it.node, "the first node has no input to take");
            in = first;
        }
        const YAML::Node rep = it.node["repeat"];
        const std::int64_t times = rep ? as_int(resolve(rep, s.subst, file_), "repeat", 1, 10000) : 1;
        std::vector<int> out;
        for (std::int64_t k = 0; k < times; ++k) {
            const std::string local = rep ? cat(it.name, '.', k) : it.name;
            out = k == 0 ? add_any(s, local, it.node, it.type, in, in_where)
                         : add_any(s, local, it.node, it.type, {out[0]}, {});
        }
        s.names[it.name] = out;
    }
    // The list's result is its last node in file order.
    return s.names.at(items.back().name);
}

std::vector<int> loader::add_any(scope& s, const std::string& local, const YAML::Node& node,
                                 const std::string& type, const std::vector<int>& inputs,
                                 const std::vector<source_loc>& input_where) {
    const std::string full = s.prefix + local;
    if (blocks_.IsMap()) {
        const YAML::Node& blocks = blocks_;
        if (const YAML::Node b = blocks[type]) return add_block(s, full, node, b, inputs);
    }
    const layer_type* t = reg_.find(type);
    if (!t) {
        try {
            reg_.get(type);
        } catch (const std::exception& e) {
            std::string msg = e.what();
            if (blocks_.IsMap() && blocks_.size()) {
                std::vector<std::string> names;
                for (const auto& kv : blocks_) names.push_back(kv.first.Scalar());
                msg += cat(" (blocks in this file: ", join(names, ", "), ")");
            }
            fail(node["type"], msg);
        }
    }
    auto values = parse_params(*t, node, node_keys, s.subst, file_, full);
    return b_.add_layer(full, *t, std::move(values), inputs, loc_of(node, file_), s.group,
                        input_where);
}

std::vector<int> loader::add_block(scope& outer, const std::string& full, const YAML::Node& node,
                                   const YAML::Node& block, const std::vector<int>& inputs) {
    if (++block_depth_ > 32) fail(node, "blocks nest deeper than 32 (a block that uses itself?)");
    const std::string type = node["type"].Scalar();
    substitutions subst;
    std::vector<std::string> param_names;
    if (const YAML::Node params = block["params"]) {
        expect_map(params, cat("params of block '", type, "'"));
        for (const auto& kv : params) {
            subst.erase(kv.first.Scalar());  // YAML::Node's operator= writes through: rebind
            subst.emplace(kv.first.Scalar(), resolve(kv.second, outer.subst, file_));
            param_names.push_back(kv.first.Scalar());
        }
    }
    for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        if (node_keys.count(key)) continue;
        if (!subst.count(key)) {
            std::vector<std::string> known = param_names;
            known.insert(known.end(), node_keys.begin(), node_keys.end());
            fail(kv.first, cat("unknown key '", key, "' in node '", full, "' (block ", type, ")",
                               did_you_mean(key, known)));
        }
        subst.erase(key);
        subst.emplace(key, resolve(kv.second, outer.subst, file_));
    }
    scope inner{full + ".", {}, &subst, full};
    g_.groups[full] = type;
    std::vector<std::string> in_names = {"x"};
    if (const YAML::Node in = block["inputs"]) {
        in_names.clear();
        for (const auto& n : in) in_names.push_back(n.Scalar());
    }
    if (in_names.size() != inputs.size())
        fail(node, cat("block '", type, "' takes ", in_names.size(), " input(s), got ",
                       inputs.size()));
    for (std::size_t i = 0; i < inputs.size(); ++i) inner.names[in_names[i]] = {inputs[i]};
    std::vector<int> out = run_nodes(inner, block["nodes"], inputs);
    if (const YAML::Node o = block["output"]) out = lookup(inner, o);
    if (g_.tensors[out[0]].name.rfind(full + ".", 0) == 0)
        b_.show_as(out[0], full);  // messages call the block's output by the node's name
    --block_depth_;
    return out;
}

// Refuses documents nested deeper than max_yaml_depth or, counting every alias where it is
// used, larger than max_yaml_nodes (a "billion laughs" file), before anything walks them.
void check_yaml_size(const YAML::Node& root, const std::string& file) {
    std::vector<std::pair<YAML::Node, int>> stack{{root, 0}};
    std::size_t visited = 0;
    while (!stack.empty()) {
        auto [n, depth] = stack.back();
        stack.pop_back();
        if (++visited > limits::max_yaml_nodes)
            throw located_error(loc_of(n, file), cat("the document has more than ",
                                                     limits::max_yaml_nodes, " YAML nodes"));
        if (!n.IsMap() && !n.IsSequence()) continue;
        if (depth >= limits::max_yaml_depth)
            throw located_error(loc_of(n, file), cat("YAML nests deeper than ",
                                                     limits::max_yaml_depth, " levels"));
        for (const auto& item : n) {
            if (n.IsMap()) {
                stack.emplace_back(item.first, depth + 1);
                stack.emplace_back(item.second, depth + 1);
            } else {
                stack.emplace_back(item, depth + 1);
            }
        }
    }
}

}  // namespace

graph load_yaml_text(const registry& reg, const std::string& text, const std::string& name,
                     const load_options& opt) {
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::DeepRecursion& e) {  // yaml-cpp stops at depth 500 with "bad file"
        throw located_error({name, e.mark.line + 1, e.mark.column + 1},
                            cat("YAML nests deeper than ", limits::max_yaml_depth, " levels"));
    } catch (const YAML::Exception& e) {
        throw located_error({name, e.mark.line + 1, e.mark.column + 1}, e.msg);
    }
    check_yaml_size(root, name);
    graph g;
    g.file = name;
    loader(reg, g, name).load(root, opt);
    return g;
}

graph load_yaml_file(const registry& reg, const std::filesystem::path& file,
                     const load_options& opt) {
    limits::regular_file_size(file, "network file", limits::max_yaml_bytes);
    std::ifstream in(file, std::ios::binary);
    if (!in) throw error(cat(file.string(), ": cannot open network file"));
    std::ostringstream text;
    text << in.rdbuf();
    return load_yaml_text(reg, text.str(), file.string(), opt);
}

}  // namespace cnnkit::kernel
