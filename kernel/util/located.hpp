// located.hpp: source locations and the error that carries one (printed like a compiler's).
#pragma once

#include <cnnkit/error.hpp>

#include <string>

namespace cnnkit::kernel {

// 1-based line and column in a file; line 0 means "the file as a whole".
struct source_loc {
    std::string file;
    int line = 0;
    int col = 0;
    std::string str() const {
        return line > 0 ? cat(file, ':', line, ':', col) : file;
    }
};

// An error in a user's file: what() is "file:line:col: message".
class located_error : public cnnkit::error {
public:
    located_error(source_loc loc, const std::string& message)
        : cnnkit::error(loc.str() + ": " + message), loc_(std::move(loc)), message_(message) {}
    const source_loc& loc() const { return loc_; }
    const std::string& message() const { return message_; }

private:
    source_loc loc_;
    std::string message_;
};

// The whole chain of nested errors as one line: "outer: inner: innermost".
inline std::string full_message(const std::exception& e) {
    std::string out = e.what();
    try {
        std::rethrow_if_nested(e);
    } catch (const std::exception& inner) {
        out += ": " + full_message(inner);
    } catch (...) {
        out += ": unknown error";
    }
    return out;
}

}  // namespace cnnkit::kernel
