// text.hpp: small string helpers (split, join, edit distance for "did you mean").
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cnnkit::kernel {

std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::size_t edit_distance(std::string_view a, std::string_view b);
// "; did you mean 'x'?" for the closest candidate within a small distance, else "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace cnnkit::kernel
