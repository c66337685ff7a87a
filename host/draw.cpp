// draw.cpp: Graphviz output of the expanded graph; rendering goes through a temp file and rename.
#include "draw.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include "commands.hpp"

namespace cnnkit::host {
using namespace cnnkit::kernel;
namespace fs = std::filesystem;

namespace {

std::string dot_quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

// The cluster a group sits in: the longest other group that is a dotted prefix of it.
std::string parent_group(const graph& g, const std::string& group) {
    std::string best;
    for (const auto& [name, _] : g.groups)
        if (name.size() > best.size() && name.size() < group.size() &&
            group.compare(0, name.size() + 1, name + ".") == 0)
            best = name;
    return best;
}

std::string tensor_id(int t) {
    return cat("t", t);
}

// Runs `dot -T<format> -o out in` without a shell; returns its exit status (127: not found).
int run_dot(const std::string& format, const fs::path& in, const fs::path& out) {
    std::string t = "-T" + format, o = "-o", name = "dot", i = in.string(), f = out.string();
    char* argv[] = {name.data(), t.data(), o.data(), f.data(), i.data(), nullptr};
    pid_t pid = 0;
    if (posix_spawnp(&pid, "dot", nullptr, nullptr, argv, environ) != 0) return 127;
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

}  // namespace

std::string to_dot(const graph& g) {
    std::ostringstream os;
    os << "digraph " << dot_quote(g.name.empty() ? "network" : g.name) << " {\n"
       << "  rankdir=TB; nodesep=0.25; ranksep=0.3;\n"
       << "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", "
          "fontname=\"Helvetica\", fontsize=10];\n"
       << "  edge [color=\"#555555\", arrowsize=0.6];\n";
    for (int t : g.inputs)
        os << "  " << tensor_id(t) << " [shape=ellipse, fillcolor=\"#d5f5d5\", label="
           << dot_quote(cat("input ", g.tensors[t].name, "\n", shape_text(g.tensors[t].shape)))
           << "];\n";
    // Nodes by group, then each group's clusters nested by name.
    std::map<std::string, std::vector<std::size_t>> members;
    std::map<std::string, std::vector<std::string>> children;
    for (std::size_t i = 0; i < g.nodes.size(); ++i) members[g.nodes[i].group].push_back(i);
    for (const auto& [name, _] : g.groups) children[parent_group(g, name)].push_back(name);
    std::function<void(const std::string&, int)> emit = [&](const std::string& group, int depth) {
        const std::string pad(static_cast<std::size_t>(2 * depth), ' ');
        for (std::size_t i : members[group]) {
            const node& n = g.nodes[i];
            std::string label = cat(n.name, "\n", n.type->api->type, "  ",
                                    shape_text(g.tensors[n.outputs[0]].shape));
            if (const std::int64_t p = g.param_count(n)) label += cat("\n", grouped(p), " params");
            os << pad << "  n" << i << " [label=" << dot_quote(label) << "];\n";
        }
        for (const std::string& c : children[group]) {
            os << pad << "  subgraph " << dot_quote("cluster_" + c) << " {\n"
               << pad << "    label=" << dot_quote(cat(c, " (", g.groups.at(c), ")"))
               << "; style=\"rounded,filled\"; fillcolor=\"#f6f6f6\"; color=\"#999999\"; "
                  "fontname=\"Helvetica\"; fontsize=10;\n";
            emit(c, depth + 1);
            os << pad << "  }\n";
        }
    };
    emit("", 0);
    auto source = [&](int t) {
        const int p = g.tensors[t].producer;
        return p < 0 ? tensor_id(t) : cat("n", p);
    };
    for (std::size_t i = 0; i < g.nodes.size(); ++i)
        for (int t : g.nodes[i].inputs) {
            const std::string& tn = g.tensors[t].name;
            const auto colon = tn.rfind(':');
            os << "  " << source(t) << " -> n" << i;
            if (g.tensors[t].producer >= 0 && colon != std::string::npos)
                os << " [label=" << dot_quote(tn.substr(colon)) << ", fontsize=8]";
            os << ";\n";
        }
    for (const auto& [name, t] : g.outputs)
        os << "  " << dot_quote("out_" + name) << " [shape=ellipse, fillcolor=\"#fde8d5\", label="
           << dot_quote(cat("output ", name, "\n", shape_text(g.tensors[t].shape))) << "];\n  "
           << source(t) << " -> " << dot_quote("out_" + name) << ";\n";
    os << "}\n";
    return os.str();
}

int cmd_graph(int argc, char** argv) {
    std::vector<char*> argv2(argv, argv + argc);  // -o is --output
    static char output_flag[] = "--output";
    for (char*& s : argv2)
        if (std::string(s) == "-o") s = output_flag;
    const args a(argc, argv2.data(), 2, {"plugins", "batch", "output"}, {});
    const auto out = a.get("output");
    if (a.positional().size() != 1 || !out)
        throw error("usage: cnnkit graph NET.yaml -o net.svg|net.png|net.pdf|net.dot");
    const fs::path file = *out;
    const std::string ext = file.extension().string();
    if (ext != ".dot" && ext != ".svg" && ext != ".png" && ext != ".pdf")
        throw error(cat(*out, ": unknown format '", ext, "' (use .dot, .svg, .png or .pdf)"));
    auto reg = load_plugins(a);
    load_options lo;
    if (a.has("batch")) lo.batch = a.get_int("batch", 1, 1, 1 << 20);
    const graph g = load_yaml_file(*reg, a.positional()[0], lo);
    const std::string dot = to_dot(g);
    if (ext == ".dot") {
        write_file_atomic(file, std::vector<unsigned char>(dot.begin(), dot.end()));
    } else {
        const fs::path tmp_dot = file.string() + ".tmp.dot", tmp_out = file.string() + ".tmp";
        { std::ofstream(tmp_dot) << dot; }
        const int rc = run_dot(ext.substr(1), tmp_dot, tmp_out);
        std::error_code ec;
        fs::remove(tmp_dot, ec);
        if (rc != 0) {
            fs::remove(tmp_out, ec);
            throw error(rc == 127 ? cat("cannot run Graphviz 'dot' to render ", *out,
                                        "; install graphviz, or write a .dot file")
                                  : cat("Graphviz 'dot' failed (exit ", rc, ") rendering ", *out));
        }
        fs::rename(tmp_out, file, ec);
        if (ec) throw error(cat(*out, ": cannot write: ", ec.message()));
    }
    std::cout << g.nodes.size() << " nodes, " << g.groups.size() << " clusters -> " << *out << '\n';
    return 0;
}

}  // namespace cnnkit::host
