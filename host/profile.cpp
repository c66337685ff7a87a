// profile.cpp: `cnnkit profile`: per-node times over several runs and a Chrome/Perfetto trace.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>

#include "bench.hpp"
#include "commands.hpp"

namespace cnnkit::host {
using namespace cnnkit::kernel;

namespace {

struct span {
    int node, thread, run;    // node -1: a transfer; thread -1: the GPU
    double start_us, dur_us;  // from the first run's start
    const char* what = "node";  // or "upload" / "download" (GPU transfers)
    bool gpu() const { return thread < 0; }
};

constexpr int cpu_pid = 1, gpu_pid = 2;

// Trace Event Format ("X" complete events, microseconds): process "CPU" with one track per oneTBB
// thread, process "GPU" (Vulkan backend) with one track of node and transfer spans.
nlohmann::json chrome_trace(const graph& g, const std::vector<span>& spans,
                            const std::vector<std::pair<double, double>>& runs) {
    nlohmann::json events = nlohmann::json::array();
    std::set<int> threads;
    bool gpu = false;
    for (const span& s : spans) {
        gpu |= s.gpu();
        if (!s.gpu()) threads.insert(s.thread);
        nlohmann::json e = {{"ph", "X"},
                            {"pid", s.gpu() ? gpu_pid : cpu_pid},
                            {"tid", s.gpu() ? 1 : s.thread + 1},
                            {"ts", s.start_us},
                            {"dur", s.dur_us}};
        if (s.node < 0) {
            e["name"] = s.what;
            e["cat"] = "transfer";
            e["args"] = {{"run", s.run}};
        } else {
            const node& n = g.nodes[static_cast<std::size_t>(s.node)];
            e["name"] = n.name;
            e["cat"] = "node";
            e["args"] = {{"type", n.type->api->type},
                         {"run", s.run},
                         {"output", shape_text(g.tensors[n.outputs[0]].shape)},
                         {"backend", s.gpu() ? "vulkan" : "cpu"}};
        }
        events.push_back(std::move(e));
    }
    for (std::size_t r = 0; r < runs.size(); ++r)
        events.push_back({{"name", cat("run ", r)},
                          {"cat", "run"},
                          {"ph", "X"},
                          {"pid", cpu_pid},
                          {"tid", 0},
                          {"ts", runs[r].first},
                          {"dur", runs[r].second}});
    auto name = [&](const char* what, int pid, int tid, const std::string& text) {
        events.push_back(
            {{"name", what}, {"ph", "M"}, {"pid", pid}, {"tid", tid}, {"args", {{"name", text}}}});
    };
    name("process_name", cpu_pid, 0, "CPU");
    name("thread_name", cpu_pid, 0, "runs");
    if (gpu) {
        name("process_name", gpu_pid, 1, "GPU");
        name("thread_name", gpu_pid, 1, "GPU (timestamp queries)");
    }
    for (int t : threads)
        events.push_back({{"name", "thread_name"},
                          {"ph", "M"},
                          {"pid", cpu_pid},
                          {"tid", t + 1},
                          {"args", {{"name", cat("tbb worker ", t)}}}});
    return {{"traceEvents", events},
            {"displayTimeUnit", "ms"},
            {"otherData", {{"network", g.name}, {"tool", "cnnkit profile"}}}};
}

// Per node, sorted by time: ms per run, share of the node total, GFLOP/s, backend; then the
// start of the total line.
void print_node_table(const graph& g, const std::vector<span>& spans, double n) {
    std::vector<double> node_us(g.nodes.size(), 0.0);
    std::vector<char> on_gpu(g.nodes.size(), 0);
    for (const span& s : spans)
        if (s.node >= 0) {
            node_us[static_cast<std::size_t>(s.node)] += s.dur_us;
            on_gpu[static_cast<std::size_t>(s.node)] |= s.gpu();
        }
    const double total = std::accumulate(node_us.begin(), node_us.end(), 0.0);
    std::vector<std::size_t> order(g.nodes.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return node_us[x] > node_us[y]; });
    std::cout << std::left << std::setw(28) << "node" << std::setw(14) << "type" << std::setw(9)
              << "backend" << std::right << std::setw(12) << "ms/run" << std::setw(9) << "share"
              << std::setw(11) << "GFLOP/s" << '\n';
    for (std::size_t i : order) {
        const node& nd = g.nodes[i];
        const double ms = node_us[i] / n / 1000.0;
        std::cout << std::left << std::setw(28) << nd.name << std::setw(14) << nd.type->api->type
                  << std::setw(9) << (on_gpu[i] ? "vulkan" : "cpu") << std::right << std::fixed << std::setprecision(3)
                  << std::setw(12) << ms << std::setprecision(1) << std::setw(8)
                  << (total > 0 ? 100.0 * node_us[i] / total : 0.0) << '%' << std::setprecision(2)
                  << std::setw(11)
                  << (ms > 0 ? 2.0 * static_cast<double>(nd.macs) / (ms * 1e6) : 0.0) << '\n';
    }
    std::cout << std::setprecision(3) << "total: " << total / n / 1000.0 << " ms/run in nodes, "
              << std::defaultfloat;
}

}  // namespace

int cmd_profile(int argc, char** argv) {
    auto valued = common_valued;
    valued.insert({"runs", "warmup", "input", "trace"});
    const args a(argc, argv, 2, valued, {"fp16"});
    if (a.positional().size() != 1)
        throw error("usage: cnnkit profile NET [--runs N] [--trace out.json] [--threads T]");
    const std::int64_t runs = a.get_int("runs", 10, 1, 1 << 20);
    const std::int64_t warmup = a.get_int("warmup", 1, 0, 1 << 20);
    timed_network tn = load_for_timing(a, warmup);
    const network& net = *tn.net;
    const graph& g = net.g();
    std::vector<span> spans;
    std::vector<std::pair<double, double>> run_spans;
    std::mutex m;
    const auto origin = std::chrono::steady_clock::now();
    auto us = [&](std::chrono::steady_clock::time_point t) {
        return std::chrono::duration<double, std::micro>(t - origin).count();
    };
    for (std::int64_t r = 0; r < runs; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        net.run(
            tn.inputs,
            [&](const node_timing& t) {
                std::lock_guard lock(m);
                spans.push_back({t.node, t.thread, static_cast<int>(r), us(t.start),
                                 us(t.end) - us(t.start)});
            },
            [&](const gpu_timing& t) {
                std::lock_guard lock(m);
                spans.push_back({t.node, -1, static_cast<int>(r), us(t.start),
                                 us(t.end) - us(t.start), t.what});
            });
        run_spans.emplace_back(us(t0), us(std::chrono::steady_clock::now()) - us(t0));
    }
    double wall = 0;
    for (const auto& r : run_spans) wall += r.second;
    print_node_table(g, spans, static_cast<double>(runs));
    std::cout << std::fixed << std::setprecision(3) << wall / static_cast<double>(runs) / 1000.0
              << " ms/run wall (" << runs << " runs, " << warmup << " warm-up)\n"
              << std::defaultfloat;
    if (const auto file = a.get("trace")) {
        const std::string text = chrome_trace(g, spans, run_spans).dump();
        write_file_atomic(*file, std::vector<unsigned char>(text.begin(), text.end()));
        const auto count = [&](bool gpu, bool transfer) {
            return std::count_if(spans.begin(), spans.end(), [&](const span& s) {
                return s.gpu() == gpu && (s.node < 0) == transfer;
            });
        };
        std::cout << "trace: " << count(false, false) + count(true, false) << " node spans ("
                  << count(true, false) << " on the GPU, " << count(true, true)
                  << " GPU transfers) -> " << *file
                  << " (open in ui.perfetto.dev or chrome://tracing)\n";
    }
    return 0;
}

}  // namespace cnnkit::host
