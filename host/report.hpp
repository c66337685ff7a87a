// report.hpp: printing errors like a compiler (location, source line, caret, cause chain).
#pragma once

#include <exception>
#include <iosfwd>

namespace cnnkit::host {

// Prints e and every nested cause to `os`.
void print_error(std::ostream& os, const std::exception& e);

}  // namespace cnnkit::host
