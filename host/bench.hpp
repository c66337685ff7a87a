// bench.hpp: `cnnkit bench` (latency, throughput, GFLOP/s, memory) and `cnnkit profile`
// (per-node times, Chrome/Perfetto traces).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "args.hpp"
#include "network.hpp"

namespace cnnkit::host {

// A network loaded for timing: weights random (seed 1) unless given; inputs from --input
// NAME=FILE.npy where given, else uniform [-1, 1) from a fixed seed; `warmup` runs done.
struct timed_network {
    std::unique_ptr<kernel::registry> reg;  // declared first: outlives the network
    std::unique_ptr<kernel::network> net;
    std::map<std::string, kernel::host_tensor> inputs;
};
timed_network load_for_timing(const args& a, std::int64_t warmup);

int cmd_bench(int argc, char** argv);
int cmd_profile(int argc, char** argv);

}  // namespace cnnkit::host
