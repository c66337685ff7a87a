// registry.hpp: loads layer plugins (Boost.DLL) and maps YAML type names to their C ABI.
#pragma once

#include <cnnkit/plugin_abi.h>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cnnkit::kernel {

struct layer_type {
    const cnnkit_layer_api* api;
    std::string plugin_path;  // the file that provides it
    std::string plugin_name;
};

// Owns the loaded libraries; a library stays loaded while the registry lives, so layer objects
// created from it must not outlive the registry. Not thread-safe while loading; read-only after.
class registry {
public:
    registry() = default;
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    // The build/installed plugin folder next to the executable, then `extra` folders, then
    // CNNKIT_PLUGIN_PATH (':'-separated). Each folder's libcnnkit_*.so are loaded.
    static std::vector<std::filesystem::path> search_path(
        const std::vector<std::filesystem::path>& extra);

    // Loads every libcnnkit_*.so in dir (sorted by name). Errors from one plugin are collected in
    // problems() and do not stop the others; a missing dir is an error.
    void load_dir(const std::filesystem::path& dir);
    // Loads one plugin file; throws cnnkit::error naming the file on any problem.
    void load_file(const std::filesystem::path& file);

    const layer_type* find(const std::string& type) const;
    const layer_type& get(const std::string& type) const;  // throws naming the known types
    std::vector<const layer_type*> types() const;
    const std::vector<std::string>& problems() const { return problems_; }
    const std::vector<std::filesystem::path>& searched() const { return searched_; }

private:
    std::vector<std::shared_ptr<boost::dll::shared_library>> libs_;
    std::map<std::string, layer_type> types_;
    std::vector<std::string> problems_;
    std::vector<std::filesystem::path> searched_;
};

// Reads the ABI version a plugin file declares (its cnnkit_abi_v<N> symbol) without loading it.
// Returns 0 when the file has no such symbol; throws if the file is not a readable library.
unsigned declared_abi_version(const std::filesystem::path& file);

}  // namespace cnnkit::kernel
