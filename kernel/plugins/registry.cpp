// registry.cpp: plugin discovery, pre-load ABI check, loading and type registration.
#include "plugins/registry.hpp"

#include "util/text.hpp"

#include <cnnkit/error.hpp>

#include <boost/dll/library_info.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace cnnkit::kernel {
namespace fs = std::filesystem;

unsigned declared_abi_version(const fs::path& file) {
    std::vector<std::string> symbols;
    try {
        boost::dll::library_info info(file.string(), /*throw_if_not_native=*/true);
        symbols = info.symbols();
    } catch (const std::exception& e) {
        throw error(cat(file.string(), ": not a loadable plugin library (", e.what(), ")"));
    }
    const std::string prefix = CNNKIT_ABI_SYMBOL_PREFIX;
    for (const auto& s : symbols) {
        if (s.rfind(prefix, 0) != 0) continue;
        const std::string digits = s.substr(prefix.size());
        if (digits.empty() || digits.size() > 6 ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
            continue;
        return static_cast<unsigned>(std::stoul(digits));
    }
    return 0;
}

std::vector<fs::path> registry::search_path(const std::vector<fs::path>& extra) {
    std::vector<fs::path> dirs;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path here = exe.parent_path();
        for (const fs::path& d : {here / "plugins", here / ".." / "lib" / "cnnkit" / "plugins"})
            if (fs::is_directory(d, ec)) {
                dirs.push_back(fs::weakly_canonical(d));
                break;
            }
    }
    for (const auto& d : extra) dirs.push_back(d);
    if (const char* env = std::getenv("CNNKIT_PLUGIN_PATH"))
        for (const auto& part : split(env, ':'))
            if (!part.empty()) dirs.emplace_back(part);
    // The same folder named twice (relative and absolute) is searched once.
    std::vector<fs::path> unique;
    for (const auto& d : dirs) {
        const fs::path key = fs::weakly_canonical(d, ec);
        const fs::path norm = ec ? d : key;
        if (std::find(unique.begin(), unique.end(), norm) == unique.end()) unique.push_back(norm);
    }
    return unique;
}

void registry::load_dir(const fs::path& dir) {
    searched_.push_back(dir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw error(cat("plugin folder '", dir.string(), "' does not exist"));
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("libcnnkit_", 0) == 0 && entry.path().extension() == ".so")
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        try {
            load_file(f);
        } catch (const std::exception& e) {
            problems_.push_back(e.what());
        }
    }
}

void registry::load_file(const fs::path& file) {
    const std::string path = file.string();
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) throw error(cat(path, ": plugin file not found"));
    // The version is read from the symbol table: a mismatched plugin's code never runs.
    const unsigned declared = declared_abi_version(file);
    if (declared == 0)
        throw error(cat(path, ": not a cnnkit plugin (no ", CNNKIT_ABI_SYMBOL_PREFIX,
                        "<N> symbol)"));
    if (declared != CNNKIT_ABI_VERSION)
        throw error(cat(path, ": plugin ABI version ", declared, ", host ABI version ",
                        CNNKIT_ABI_VERSION, "; rebuild the plugin against this SDK"));
    auto lib = std::make_shared<boost::dll::shared_library>();
    try {
        lib->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        throw error(cat(path, ": cannot load: ", e.what()));
    }
    if (!lib->has(CNNKIT_PLUGIN_ENTRY_NAME))
        throw error(cat(path, ": missing entry symbol '", CNNKIT_PLUGIN_ENTRY_NAME, "'"));
    const auto entry = lib->get<const cnnkit_plugin*()>(CNNKIT_PLUGIN_ENTRY_NAME);
    const cnnkit_plugin* plugin = nullptr;
    try {  // the SDK's entry never throws; a hand-written one might
        plugin = entry();
    } catch (const std::exception& e) {
        throw error(cat(path, ": registration failed: ", e.what()));
    } catch (...) {
        throw error(cat(path, ": registration failed with an unknown exception"));
    }
    if (!plugin) throw error(cat(path, ": entry returned no descriptor"));
    if (plugin->abi_version != CNNKIT_ABI_VERSION)
        throw error(cat(path, ": plugin ABI version ", plugin->abi_version, ", host ABI version ",
                        CNNKIT_ABI_VERSION));
    if (plugin->struct_size < sizeof(cnnkit_plugin) || !plugin->layers || !plugin->name)
        throw error(cat(path, ": malformed plugin descriptor"));
    for (std::uint32_t i = 0; i < plugin->layer_count; ++i) {
        const cnnkit_layer_api* api = plugin->layers[i];
        // Fields appended after `expand` (vulkan, ...) are optional: older plugins end there.
        if (!api || api->struct_size < offsetof(cnnkit_layer_api, vulkan) || !api->type || !api->create ||
            !api->destroy || !api->infer || (!api->run_cpu && !api->expand))
            throw error(cat(path, ": layer #", i, " has a malformed descriptor"));
        if (const auto it = types_.find(api->type); it != types_.end()) {
            problems_.push_back(cat("layer type '", api->type, "' from ", path,
                                    " is already provided by ", it->second.plugin_path,
                                    "; keeping the first"));
            continue;
        }
        types_.emplace(api->type, layer_type{api, path, plugin->name});
    }
    libs_.push_back(std::move(lib));
}

const layer_type* registry::find(const std::string& type) const {
    const auto it = types_.find(type);
    return it == types_.end() ? nullptr : &it->second;
}

const layer_type& registry::get(const std::string& type) const {
    if (const layer_type* t = find(type)) return *t;
    std::vector<std::string> known;
    for (const auto& [name, _] : types_) known.push_back(name);
    std::string folders;
    for (const auto& d : searched_) folders += (folders.empty() ? "" : ", ") + d.string();
    throw error(cat("unknown layer type '", type, "'", did_you_mean(type, known),
                    " (known types: ", join(known, ", "), "; plugin folders searched: ",
                    folders.empty() ? "none" : folders, ")"));
}

std::vector<const layer_type*> registry::types() const {
    std::vector<const layer_type*> out;
    for (const auto& [_, t] : types_) out.push_back(&t);
    return out;
}

}  // namespace cnnkit::kernel
