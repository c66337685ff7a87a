// watch.hpp: `--watch` for run and check: re-run a command whenever its network file, its other
// input files or a plugin library changes on disk (inotify).
#pragma once

#include <set>
#include <string>

namespace cnnkit::host {

// True when argv has --watch or --watch-max.
bool wants_watch(int argc, char** argv);

// Runs cmd(argc, argv) without --watch / --watch-max N, then again after every change, until
// SIGINT/SIGTERM or --watch-max runs in all. Each run loads plugins, network and weights afresh
// and drops them before the next, so a rebuilt plugin is really re-loaded, and no pool thread
// can be inside a plugin when it is unloaded (a run returns only when all its tasks are done).
// `valued` are the command's options that take a value. Errors of a run are printed, not fatal.
int run_watching(int argc, char** argv, const std::set<std::string>& valued,
                 int (*cmd)(int, char**));

}  // namespace cnnkit::host
