// error.hpp: cnnkit::error, the one exception type, and helpers that build its message.
#pragma once

#include <glm/vec2.hpp>

#include <array>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace cnnkit {

// Thrown for every user-facing failure; boundaries add context with std::throw_with_nested.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {
template <class T>
void put(std::ostream& os, const T& v) {
    if constexpr (std::is_same_v<T, glm::ivec2> || std::is_same_v<T, glm::vec2>)
        os << '{' << v[0] << ", " << v[1] << '}';
    else if constexpr (requires { os << v; })
        os << v;
    else if constexpr (requires { v.begin(); v.end(); }) {
        os << '{';
        bool first = true;
        for (const auto& x : v) {
            if (!first) os << ", ";
            first = false;
            put(os, x);
        }
        os << '}';
    } else
        static_assert(sizeof(T) == 0, "cnnkit::cat cannot print this type");
}
}  // namespace detail

// Concatenates anything printable (numbers, strings, glm pairs, ranges) into one string.
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::ostringstream os;
    (detail::put(os, parts), ...);
    return os.str();
}

}  // namespace cnnkit

namespace cnnkit::sdk {
// Throws cnnkit::error with the concatenated parts unless cond holds.
template <class... Parts>
void expect(bool cond, const Parts&... parts) {
    if (!cond) throw cnnkit::error(cnnkit::cat(parts...));
}
}  // namespace cnnkit::sdk
