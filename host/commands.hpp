// commands.hpp: the `cnnkit` subcommands. Each returns the process exit code.
#pragma once

#include "args.hpp"
#include "network.hpp"

#include <memory>
#include <set>
#include <string>

namespace cnnkit::host {

// Options every network command takes: plugins, weights, random-weights, threads, batch, backend.
extern const std::set<std::string> common_valued;
// The registry of the plugin search path (--plugins, CNNKIT_PLUGIN_PATH); problems are warnings.
std::unique_ptr<kernel::registry> load_plugins(const args& a);
kernel::network_options net_options(const args& a);
std::string shape_text(const sdk::shape& s);  // "1x3x224x224"
std::string grouped(std::int64_t v);          // "61,100,840"

int cmd_run(int argc, char** argv);
int cmd_layers(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_import(int argc, char** argv);
int cmd_schema(int argc, char** argv);
int cmd_devices(int argc, char** argv);
int cmd_new_plugin(int argc, char** argv);

}  // namespace cnnkit::host
