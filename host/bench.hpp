// bench.hpp: `cnnkit bench` (latency, throughput, GFLOP/s, memory) and `cnnkit profile`
// (per-node times, Chrome/Perfetto traces).
#pragma once

#include "args.hpp"
#include "network.hpp"

#include <map>
#include <string>

namespace cnnkit::host {

// --input NAME=FILE.npy where given, else uniform [-1, 1) values from a fixed seed.
std::map<std::string, kernel::host_tensor> bench_inputs(const args& a, const kernel::graph& g);

int cmd_bench(int argc, char** argv);
int cmd_profile(int argc, char** argv);

}  // namespace cnnkit::host
