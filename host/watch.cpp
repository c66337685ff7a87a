// watch.cpp: the --watch loop: inotify on the folders of the watched files and plugin folders.
#include "watch.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cnnkit/error.hpp>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <vector>

#include "args.hpp"
#include "plugins/registry.hpp"
#include "report.hpp"
#include "util/text.hpp"

namespace cnnkit::host {
namespace fs = std::filesystem;

namespace {

std::atomic<bool> stop{false};
void on_signal(int) {
    stop = true;
}

// Watches folders; reports names that changed in them and that `interesting` accepts.
class watcher {
public:
    watcher() : fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
        if (fd_ < 0) throw error("--watch: inotify_init1 failed");
    }
    ~watcher() { close(fd_); }
    void add(const fs::path& dir, bool plugins, const std::set<std::string>& names) {
        const int wd = inotify_add_watch(fd_, dir.c_str(),
                                         IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE);
        if (wd < 0) throw error(cat("--watch: cannot watch ", dir.string()));
        auto& w = dirs_[wd];
        w.plugins |= plugins;
        w.names.insert(names.begin(), names.end());
        w.dir = dir;
    }
    // Waits for a change (false when stopped), then for 150 ms of quiet; returns what changed.
    bool wait(std::set<std::string>& changed) {
        changed.clear();
        auto deadline = std::chrono::steady_clock::time_point::max();
        while (!stop) {
            pollfd p{fd_, POLLIN, 0};
            const int r = poll(&p, 1, 50);
            if (r > 0) {
                if (drain(changed))
                    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
            } else if (std::chrono::steady_clock::now() >= deadline) {
                return true;
            }
        }
        return false;
    }

private:
    struct dir_watch {
        fs::path dir;
        bool plugins = false;
        std::set<std::string> names;
    };
    bool drain(std::set<std::string>& changed) {
        alignas(inotify_event) char buf[8192];
        bool any = false;
        for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) {
            for (char* p = buf; p < buf + n;) {
                const auto* e = reinterpret_cast<const inotify_event*>(p);
                p += sizeof(inotify_event) + e->len;
                const auto it = dirs_.find(e->wd);
                if (it == dirs_.end() || !e->len) continue;
                const std::string name = e->name;
                const bool plugin = it->second.plugins && name.rfind("libcnnkit_", 0) == 0 &&
                                    fs::path(name).extension() == ".so";
                if (plugin || it->second.names.count(name)) {
                    changed.insert((it->second.dir / name).string());
                    any = true;
                }
            }
        }
        return any;
    }
    int fd_;
    std::map<int, dir_watch> dirs_;
};

}  // namespace

bool wants_watch(int argc, char** argv) {
    for (int i = 2; i < argc; ++i)  // --watch-max N implies --watch
        if (std::string(argv[i]) == "--watch" || std::string(argv[i]).rfind("--watch-max", 0) == 0)
            return true;
    return false;
}

int run_watching(int argc, char** argv, const std::set<std::string>& valued,
                 int (*cmd)(int, char**)) {
    auto all_valued = valued;
    all_valued.insert("watch-max");
    const args a(argc, argv, 2, all_valued, {"watch", "json", "fp16"});
    const long long max_runs = a.get_int("watch-max", 0, 0, 1ll << 40);
    std::vector<char*> rest(argv, argv + 2);  // the command without the watch options
    for (int i = 2; i < argc; ++i) {
        const std::string s = argv[i];
        if (s == "--watch" || s.rfind("--watch-max=", 0) == 0) continue;
        if (s == "--watch-max") {
            ++i;
            continue;
        }
        rest.push_back(argv[i]);
    }
    // The files a run reads, by folder, and every plugin folder.
    watcher w;
    std::vector<std::string> files = a.positional();
    for (const char* key : {"weights", "image", "labels"})
        for (const auto& v : a.all(key)) files.push_back(v);
    for (const auto& v : a.all("input")) files.push_back(v.substr(v.find('=') + 1));
    std::map<fs::path, std::set<std::string>> by_dir;
    for (const auto& f : files) {
        const fs::path p = fs::absolute(f);
        by_dir[p.parent_path()].insert(p.filename().string());
    }
    for (const auto& [dir, names] : by_dir) w.add(dir, false, names);
    std::vector<fs::path> extra;
    for (const auto& d : a.all("plugins")) extra.emplace_back(d);
    for (const auto& d : kernel::registry::search_path(extra))
        if (fs::is_directory(d)) w.add(d, true, {});

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    int code = 0;
    std::set<std::string> changed;
    for (long long run = 1;; ++run) {
        if (run > 1) {
            std::vector<std::string> list(changed.begin(), changed.end());
            std::cout << "== run " << run << ": changed " << kernel::join(list, ", ") << " ==\n";
        }
        try {
            code = cmd(static_cast<int>(rest.size()), rest.data());
        } catch (const std::exception& e) {
            print_error(std::cerr, e);
            code = 1;
        }
        std::cout << std::flush;
        if (max_runs && run >= max_runs) return code;
        std::cout << "watching " << files.size() << " file(s) and the plugin folders; Ctrl-C stops"
                  << std::endl;
        if (!w.wait(changed)) {
            std::cout << "stopped\n";
            return code;
        }
    }
}

}  // namespace cnnkit::host
