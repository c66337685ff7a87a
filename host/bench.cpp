// bench.cpp: `cnnkit bench`: warm-up, timed runs with progress, latency statistics and memory.
#include "bench.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "commands.hpp"

namespace cnnkit::host {
using namespace cnnkit::kernel;
using clock_type = std::chrono::steady_clock;

namespace {

std::map<std::string, host_tensor> bench_inputs(const args& a, const graph& g) {
    std::map<std::string, host_tensor> in;
    for (const auto& spec : a.all("input")) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0)
            throw error(cat("--input expects NAME=FILE.npy, got '", spec, "'"));
        in[spec.substr(0, eq)] = read_npy(spec.substr(eq + 1));
    }
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (int t : g.inputs) {
        const tensor_info& ti = g.tensors[t];
        if (in.count(ti.name)) continue;
        host_tensor x;
        x.shape = ti.shape;
        x.bytes.resize(static_cast<std::size_t>(ti.shape.numel()) * element_size(ti.shape.type()));
        if (ti.shape.type() == sdk::dtype::f32)
            for (std::int64_t i = 0; i < ti.shape.numel(); ++i) x.f32()[i] = u(rng);
        in[ti.name] = std::move(x);
    }
    return in;
}

double percentile(std::vector<double> v, double q) {  // nearest rank
    std::sort(v.begin(), v.end());
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

// A bar on a terminal ("\r[#####     ] 12/50"), otherwise a plain line every tenth of the work.
class progress {
public:
    progress(std::int64_t runs, double seconds)
        : tty_(isatty(STDERR_FILENO) == 1), runs_(runs), seconds_(seconds) {}
    void update(std::int64_t done, double elapsed, double last_ms) {
        const double f = runs_ ? static_cast<double>(done) / static_cast<double>(runs_)
                               : std::min(1.0, elapsed / seconds_);
        if (tty_) {
            const int filled = static_cast<int>(f * 30);
            std::cerr << "\r[" << std::string(filled, '#') << std::string(30 - filled, ' ') << "] "
                      << done << (runs_ ? cat("/", runs_) : std::string(" runs")) << "  "
                      << std::fixed << std::setprecision(3) << last_ms << " ms   "
                      << std::defaultfloat << std::flush;
            return;
        }
        const int tenth = static_cast<int>(f * 10);
        if (tenth <= shown_) return;
        shown_ = tenth;
        std::cerr << "run " << done << (runs_ ? cat("/", runs_) : std::string()) << ": "
                  << std::fixed << std::setprecision(3) << last_ms << " ms\n"
                  << std::defaultfloat;
    }
    void done() const {
        if (tty_) std::cerr << '\n';
    }

private:
    bool tty_;
    std::int64_t runs_;
    double seconds_;
    int shown_ = 0;
};

std::int64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<std::int64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

std::vector<double> timed_runs(const network& net, const std::map<std::string, host_tensor>& inputs,
                               std::int64_t runs, double seconds) {
    std::vector<double> ms;
    progress bar(runs, seconds);
    const auto start = clock_type::now();
    for (;;) {
        const auto t0 = clock_type::now();
        net.run(inputs);
        const auto t1 = clock_type::now();
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        const double elapsed = std::chrono::duration<double>(t1 - start).count();
        bar.update(static_cast<std::int64_t>(ms.size()), elapsed, ms.back());
        if (runs ? static_cast<std::int64_t>(ms.size()) >= runs : elapsed >= seconds) break;
    }
    bar.done();
    return ms;
}

void print_bench(const nlohmann::json& r) {
    const auto& l = r["latency_ms"];
    std::cout << std::fixed << std::setprecision(3) << r["network"].get<std::string>() << ": batch "
              << r["batch"] << ", " << r["threads"] << " threads, "
              << r["precision"].get<std::string>() << ", " << r["warmup"] << " warm-up + "
              << r["runs"] << " runs\n"
              << "latency ms: min " << l["min"].get<double>() << "  median "
              << l["median"].get<double>() << "  p90 " << l["p90"].get<double>() << "  mean "
              << l["mean"].get<double>() << "  max " << l["max"].get<double>() << '\n'
              << std::setprecision(1) << "throughput: " << r["throughput_per_s"].get<double>()
              << " items/s\n"
              << std::setprecision(2) << "compute: " << grouped(r["macs"].get<std::int64_t>())
              << " multiply-adds, " << r["gflops"].get<double>() << " GFLOP/s (at the median)\n"
              << std::defaultfloat << "memory: peak RSS "
              << grouped(r["peak_rss_bytes"].get<std::int64_t>()) << " bytes, arena "
              << grouped(r["arena_bytes"].get<std::int64_t>()) << " bytes\n";
}

}  // namespace

timed_network load_for_timing(const args& a, std::int64_t warmup) {
    auto opt = net_options(a);
    if (!opt.random_seed && !opt.weights) opt.random_seed = 1;  // timing needs no real weights
    timed_network t;
    t.reg = load_plugins(a);
    t.net = network::load(*t.reg, a.positional()[0], opt);
    t.inputs = bench_inputs(a, t.net->g());
    for (std::int64_t i = 0; i < warmup; ++i) t.net->run(t.inputs);
    return t;
}

int cmd_bench(int argc, char** argv) {
    auto valued = common_valued;
    valued.insert({"runs", "time", "warmup", "input"});
    const args a(argc, argv, 2, valued, {"json", "fp16"});
    if (a.positional().size() != 1)
        throw error(
            "usage: cnnkit bench NET [--runs N | --time SECONDS] [--warmup N] "
            "[--batch B] [--threads T] [--json]");
    const std::int64_t warmup = a.get_int("warmup", 3, 0, 1 << 20);
    double seconds = 0;
    if (auto t = a.get("time")) {
        try {
            seconds = std::stod(*t);
        } catch (const std::exception&) {
        }
        if (!(seconds > 0 && seconds <= 86400))
            throw error(cat("--time expects seconds in (0, 86400], got '", *t, "'"));
        if (a.has("runs")) throw error("give --runs or --time, not both");
    }
    const std::int64_t runs = seconds > 0 ? 0 : a.get_int("runs", 20, 1, 1 << 24);
    timed_network t = load_for_timing(a, warmup);
    const std::vector<double> ms = timed_runs(*t.net, t.inputs, runs, seconds);
    const network& net = *t.net;
    const graph& g = net.g();
    std::int64_t macs = 0;
    for (const node& n : g.nodes) macs += n.macs;
    const std::int64_t batch = g.tensors[g.inputs[0]].shape[0];
    double total = 0;
    for (double m : ms) total += m;
    const double median = percentile(ms, 0.5);
    nlohmann::json r = {
        {"network", g.name.empty() ? a.positional()[0] : g.name},
        {"batch", batch},
        {"threads", net.threads()},
        {"precision", a.get("precision").value_or("fp32")},
        {"warmup", warmup},
        {"runs", ms.size()},
        {"latency_ms",
         {{"min", *std::min_element(ms.begin(), ms.end())},
          {"median", median},
          {"p90", percentile(ms, 0.9)},
          {"mean", total / static_cast<double>(ms.size())},
          {"max", *std::max_element(ms.begin(), ms.end())}}},
        {"throughput_per_s",
         static_cast<double>(batch) * 1000.0 * static_cast<double>(ms.size()) / total},
        {"macs", macs},
        {"gflops", 2.0 * static_cast<double>(macs) / (median * 1e6)},
        {"peak_rss_bytes", peak_rss_bytes()},
        {"arena_bytes", net.memory_plan().arena_bytes},
    };
    if (a.has("json")) {
        std::cout << r.dump(2) << '\n';
        return 0;
    }
    print_bench(r);
    return 0;
}

}  // namespace cnnkit::host
