// limits.cpp: file checks shared by the loaders.
#include "util/limits.hpp"

#include <sys/stat.h>

namespace cnnkit::kernel::limits {

std::int64_t regular_file_size(const std::filesystem::path& file, const std::string& what,
                               std::int64_t max_bytes) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) throw error(cat(file.string(), ": cannot open ", what));
    if (!S_ISREG(st.st_mode)) throw error(cat(file.string(), ": ", what, " is not a regular file"));
    if (st.st_size > max_bytes)
        throw error(cat(file.string(), ": ", what, " has ", st.st_size, " bytes, more than the ",
                        max_bytes, "-byte limit"));
    return st.st_size;
}

}  // namespace cnnkit::kernel::limits
