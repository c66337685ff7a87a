// help.hpp: `cnnkit COMMAND --help`: usage, options and an example for each command.
#pragma once

#include <string>

namespace cnnkit::host {

// The help text of `command`, or nullptr when it has none here.
const char* command_help(const std::string& command);
// True when argv (after the command) asks for help: --help or -h.
bool wants_help(int argc, char** argv);

}  // namespace cnnkit::host
