// args.hpp: a small command-line parser: --flag, --key VALUE, --key=VALUE, repeated keys.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace cnnkit::host {

class args {
public:
    // `valued` options take a value; `flags` do not. Anything else starting with -- is an error.
    args(int argc, char** argv, int first, const std::set<std::string>& valued,
         const std::set<std::string>& flags);
    bool has(const std::string& key) const { return values_.count(key) > 0; }
    std::optional<std::string> get(const std::string& key) const;
    std::vector<std::string> all(const std::string& key) const;
    long long get_int(const std::string& key, long long fallback, long long lo, long long hi) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::multimap<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

}  // namespace cnnkit::host
