// commands.hpp: the `cnnkit` subcommands. Each returns the process exit code.
#pragma once

namespace cnnkit::host {

int cmd_run(int argc, char** argv);
int cmd_layers(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_devices(int argc, char** argv);

}  // namespace cnnkit::host
