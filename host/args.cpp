// args.cpp: command-line parsing with "did you mean" for misspelt options.
#include "args.hpp"

#include "util/text.hpp"

#include <cnnkit/error.hpp>

namespace cnnkit::host {

args::args(int argc, char** argv, int first, const std::set<std::string>& valued,
           const std::set<std::string>& flags) {
    for (int i = first; i < argc; ++i) {
        std::string a = argv[i];
        if (a.size() > 2 && a.rfind("--", 0) == 0) {
            std::string key = a.substr(2), value;
            const auto eq = key.find('=');
            const bool inline_value = eq != std::string::npos;
            if (inline_value) {
                value = key.substr(eq + 1);
                key = key.substr(0, eq);
            }
            if (flags.count(key) && !inline_value) {
                values_.emplace(key, "");
            } else if (valued.count(key)) {
                if (!inline_value) {
                    if (i + 1 >= argc) throw error(cat("option --", key, " needs a value"));
                    value = argv[++i];
                }
                values_.emplace(key, value);
            } else {
                std::vector<std::string> known(valued.begin(), valued.end());
                known.insert(known.end(), flags.begin(), flags.end());
                throw error(cat("unknown option --", key, kernel::did_you_mean(key, known)));
            }
        } else {
            positional_.push_back(a);
        }
    }
}

std::optional<std::string> args::get(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> args::all(const std::string& key) const {
    std::vector<std::string> out;
    for (auto [it, end] = values_.equal_range(key); it != end; ++it) out.push_back(it->second);
    return out;
}

long long args::get_int(const std::string& key, long long fallback, long long lo,
                        long long hi) const {
    const auto v = get(key);
    if (!v) return fallback;
    long long x = 0;
    try {
        std::size_t used = 0;
        x = std::stoll(*v, &used);
        if (used != v->size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
        throw error(cat("--", key, " expects an integer, got '", *v, "'"));
    }
    if (x < lo || x > hi) throw error(cat("--", key, " must be in ", lo, "..", hi, ", got ", x));
    return x;
}

}  // namespace cnnkit::host
