// npy.cpp: the .npy format (version 1.0-3.0 headers).
#include "io/npy.hpp"

#include "util/limits.hpp"

#include <cnnkit/error.hpp>

#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

namespace cnnkit::kernel {

std::size_t element_size(sdk::dtype t) { return t == sdk::dtype::i64 ? 8 : 4; }

namespace {
std::string field(const std::string& header, const std::string& key, const std::string& name) {
    const auto k = header.find("'" + key + "'");
    if (k == std::string::npos) throw error(cat(name, ": .npy header has no '", key, "'"));
    auto v = header.find(':', k);
    if (v == std::string::npos) throw error(cat(name, ": bad .npy header"));
    ++v;
    while (v < header.size() && header[v] == ' ') ++v;
    if (v >= header.size()) throw error(cat(name, ": bad .npy header"));
    const char open = header[v];
    const char close = open == '(' ? ')' : open == '\'' ? '\'' : ',';
    const auto e = header.find(close, v + 1);
    if (e == std::string::npos) throw error(cat(name, ": bad .npy header"));
    return header.substr(open == '(' || open == '\'' ? v + 1 : v, e - v - (open == '(' || open == '\'' ? 1 : 0));
}
}  // namespace

host_tensor parse_npy(const unsigned char* data, std::size_t size, const std::string& name) {
    if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0)
        throw error(cat(name, ": not a .npy file"));
    const int major = data[6];
    std::size_t header_len = 0, offset = 0;
    if (major == 1) {
        header_len = data[8] | (data[9] << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) throw error(cat(name, ": truncated .npy header"));
        header_len = data[8] | (data[9] << 8) | (data[10] << 16) | (std::size_t(data[11]) << 24);
        offset = 12;
    } else {
        throw error(cat(name, ": unsupported .npy version ", major));
    }
    if (header_len > limits::max_npy_header)
        throw error(cat(name, ": .npy header of ", header_len, " bytes is over the ",
                        limits::max_npy_header, "-byte limit"));
    if (header_len > size - offset) throw error(cat(name, ": truncated .npy header"));
    const std::string header(reinterpret_cast<const char*>(data + offset), header_len);
    offset += header_len;
    const std::string descr = field(header, "descr", name);
    const std::string order = field(header, "fortran_order", name);
    if (order.find("False") == std::string::npos)
        throw error(cat(name, ": Fortran-order arrays are not supported"));
    std::vector<std::int64_t> dims;
    const std::string shape_text = field(header, "shape", name);
    std::size_t pos = 0;
    while (pos < shape_text.size()) {
        while (pos < shape_text.size() && (shape_text[pos] == ' ' || shape_text[pos] == ',')) ++pos;
        if (pos >= shape_text.size()) break;
        std::size_t used = 0;
        long long d = 0;
        try {
            d = std::stoll(shape_text.substr(pos), &used);
        } catch (const std::exception&) {
            throw error(cat(name, ": bad shape '(", shape_text, ")' in .npy header"));
        }
        if (d < 0 || d > limits::max_dim) throw error(cat(name, ": bad dimension ", d));
        dims.push_back(d);
        pos += used;
    }
    if (dims.empty()) dims.push_back(1);  // a 0-d array is one element
    if (dims.size() > CNNKIT_MAX_RANK) throw error(cat(name, ": rank ", dims.size(), " > 8"));
    host_tensor t;
    t.shape = sdk::shape::of_rank(static_cast<std::uint32_t>(dims.size()));
    for (std::size_t i = 0; i < dims.size(); ++i) t.shape[i] = dims[i];
    std::size_t in_size = 4;
    if (descr == "<f4" || descr == "|f4") {
    } else if (descr == "<f8") {
        in_size = 8;
    } else if (descr == "<i8") {
        in_size = 8;
        t.shape.raw.dtype = CNNKIT_DTYPE_I64;
    } else {
        throw error(cat(name, ": dtype '", descr, "' is not supported (use float32)"));
    }
    const auto checked = limits::checked_numel(dims, static_cast<std::int64_t>(in_size));
    if (!checked)
        throw error(cat(name, ": shape ", dims, " is outside the limits (",
                        limits::tensor_limits_text(), ")"));
    const std::int64_t numel = *checked;
    const std::size_t need = static_cast<std::size_t>(numel) * in_size;
    if (size - offset < need)
        throw error(cat(name, ": holds ", size - offset, " data bytes, shape needs ", need));
    if (size - offset > need)
        throw error(cat(name, ": holds ", size - offset - need, " bytes past the declared shape"));
    const unsigned char* src = data + offset;
    if (descr == "<f8") {
        t.bytes.resize(static_cast<std::size_t>(numel) * 4);
        for (std::int64_t i = 0; i < numel; ++i) {
            double d;
            std::memcpy(&d, src + i * 8, 8);
            t.f32()[i] = static_cast<float>(d);
        }
    } else {
        t.bytes.assign(src, src + need);
    }
    return t;
}

host_tensor read_npy(const std::filesystem::path& file) {
    const std::int64_t size = limits::regular_file_size(
        file, ".npy file", limits::max_tensor_bytes + 2 * limits::max_npy_header);
    std::ifstream in(file, std::ios::binary);
    if (!in) throw error(cat(file.string(), ": cannot open .npy file"));
    std::vector<unsigned char> data(static_cast<std::size_t>(size));
    in.read(reinterpret_cast<char*>(data.data()), size);
    if (in.gcount() != size) throw error(cat(file.string(), ": read failed"));
    return parse_npy(data.data(), data.size(), file.string());
}

std::vector<unsigned char> encode_npy(const host_tensor& t) {
    std::string dims;
    for (std::uint32_t i = 0; i < t.shape.rank(); ++i) dims += std::to_string(t.shape[i]) + ",";
    if (t.shape.rank() > 1) dims.pop_back();
    std::string header = cat("{'descr': '", t.shape.type() == sdk::dtype::i64 ? "<i8" : "<f4",
                             "', 'fortran_order': False, 'shape': (", dims, "), }");
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::vector<unsigned char> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                      static_cast<unsigned char>(header.size() & 0xff),
                                      static_cast<unsigned char>(header.size() >> 8)};
    out.insert(out.end(), header.begin(), header.end());
    out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    return out;
}

void write_file_atomic(const std::filesystem::path& file, const std::vector<unsigned char>& bytes) {
    // mkstemp: a fresh name opened O_EXCL, so a planted file or symlink is never written through.
    std::string tmp = file.string() + ".tmp-XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) throw error(cat(file.string(), ": cannot write: ", std::strerror(errno)));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    const int err = done < bytes.size() ? errno : (::fsync(fd) != 0 ? errno : 0);
    ::close(fd);
    if (err || done < bytes.size()) {
        ::unlink(tmp.c_str());
        throw error(cat(file.string(), ": write failed: ", std::strerror(err ? err : EIO)));
    }
    ::chmod(tmp.c_str(), 0644);  // mkstemp creates 0600; outputs are ordinary files
    if (::rename(tmp.c_str(), file.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        throw error(cat(file.string(), ": cannot rename into place: ", std::strerror(e)));
    }
}

void write_npy(const std::filesystem::path& file, const host_tensor& t) {
    write_file_atomic(file, encode_npy(t));
}

}  // namespace cnnkit::kernel
