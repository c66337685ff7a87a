// report.cpp: error chains: "file:line:col: error: message", the source line and a caret.
#include "report.hpp"

#include "util/located.hpp"

#include <fstream>
#include <ostream>

namespace cnnkit::host {
namespace {

void print_source_line(std::ostream& os, const kernel::source_loc& loc) {
    if (loc.line <= 0) return;
    std::ifstream in(loc.file);
    std::string line;
    for (int i = 0; i < loc.line && std::getline(in, line); ++i) {
    }
    if (!in) return;
    os << "  " << line << "\n  " << std::string(static_cast<std::size_t>(std::max(0, loc.col - 1)), ' ')
       << "^\n";
}

void print_one(std::ostream& os, const std::exception& e, bool first) {
    if (const auto* le = dynamic_cast<const kernel::located_error*>(&e)) {
        os << le->loc().str() << (first ? ": error: " : ": note: ") << le->message() << '\n';
        print_source_line(os, le->loc());
    } else {
        os << (first ? "error: " : "caused by: ") << e.what() << '\n';
    }
    try {
        std::rethrow_if_nested(e);
    } catch (const std::exception& inner) {
        print_one(os, inner, false);
    } catch (...) {
        os << "caused by: unknown error\n";
    }
}

}  // namespace

void print_error(std::ostream& os, const std::exception& e) { print_one(os, e, true); }

}  // namespace cnnkit::host
