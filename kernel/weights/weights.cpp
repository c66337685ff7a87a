// weights.cpp: safetensors reading/writing and weight binding.
#include "weights/weights.hpp"

#include "util/limits.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace cnnkit::kernel {

std::shared_ptr<safetensors_file> safetensors_file::open(const std::filesystem::path& file) {
    const std::string name = file.string();
    std::shared_ptr<safetensors_file> f(new safetensors_file());
    f->path_ = name;
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw error(cat(name, ": cannot open weights file: ", std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw error(cat(name, ": not a regular file"));
    }
    f->size_ = static_cast<std::size_t>(st.st_size);
    if (f->size_ < 8) {
        ::close(fd);
        throw error(cat(name, ": truncated safetensors file (", f->size_, " bytes)"));
    }
    f->map_ = ::mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (f->map_ == MAP_FAILED) {
        f->map_ = nullptr;
        throw error(cat(name, ": mmap failed"));
    }
    f->parse(static_cast<const unsigned char*>(f->map_));
    return f;
}

std::shared_ptr<safetensors_file> safetensors_file::from_bytes(std::vector<unsigned char> bytes,
                                                               const std::string& name) {
    std::shared_ptr<safetensors_file> f(new safetensors_file());
    f->path_ = name;
    f->owned_ = std::move(bytes);
    f->size_ = f->owned_.size();
    if (f->size_ < 8) throw error(cat(name, ": truncated safetensors data"));
    f->parse(f->owned_.data());
    return f;
}

void safetensors_file::parse(const unsigned char* bytes) {
    safetensors_file* f = this;
    const std::string& name = path_;
    std::uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
    if (header_len > limits::max_safetensors_header)
        throw error(cat(name, ": header declares ", header_len, " bytes, over the ",
                        limits::max_safetensors_header, "-byte limit"));
    if (header_len > f->size_ - 8)
        throw error(cat(name, ": header declares ", header_len, " bytes, file has ",
                        f->size_ - 8));
    nlohmann::json header;
    try {
        // Refuse what a plain parse would hide: a repeated tensor name (the last would win)
        // and nesting deeper than a safetensors header has.
        std::set<std::string> seen;
        auto check = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& j) {
            if (depth > 4) throw error("safetensors header nests deeper than 4");
            if (ev == nlohmann::json::parse_event_t::key && depth == 1 &&
                !seen.insert(j.get<std::string>()).second)
                throw error(cat("duplicate tensor name '", j.get<std::string>(), "'"));
            return true;
        };
        header = nlohmann::json::parse(bytes + 8, bytes + 8 + header_len, check);
    } catch (const std::exception& e) {
        throw error(cat(name, ": bad safetensors header: ", e.what()));
    }
    if (!header.is_object()) throw error(cat(name, ": safetensors header is not an object"));
    const unsigned char* base = bytes + 8 + header_len;
    const std::size_t data_size = f->size_ - 8 - header_len;
    for (auto it = header.begin(); it != header.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        const auto& v = it.value();
        try {
            entry e;
            e.dtype = v.at("dtype").get<std::string>();
            std::size_t esize = e.dtype == "F32" ? 4 : e.dtype == "F64" || e.dtype == "I64" ? 8
                              : e.dtype == "F16" || e.dtype == "BF16" ? 2 : 1;
            const auto& dims = v.at("shape");
            if (!dims.is_array() || dims.size() > CNNKIT_MAX_RANK)
                throw error(cat("shape must be a list of at most ", CNNKIT_MAX_RANK, " numbers"));
            // Integers only: nlohmann's get<> of a float such as 1e23 casts out of range (UB).
            for (const auto& d : dims) {
                if (!d.is_number_integer())
                    throw error(cat("shape holds ", d.dump(), ", not an integer"));
                e.shape.push_back(d.get<std::int64_t>());
            }
            const auto checked = limits::checked_numel(e.shape, static_cast<std::int64_t>(esize));
            if (!checked)
                throw error(cat("shape ", e.shape, " is outside the limits (",
                                limits::tensor_limits_text(), ")"));
            const auto numel = static_cast<std::uint64_t>(*checked);
            const auto& off = v.at("data_offsets");
            if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
                !off[1].is_number_unsigned())
                throw error(cat("data_offsets ", off.dump(), " are not two byte offsets"));
            const auto b = off[0].get<std::uint64_t>(), en = off[1].get<std::uint64_t>();
            if (b > en || en > data_size)
                throw error(cat("data_offsets [", b, ", ", en, "] outside the ", data_size,
                                " data bytes"));
            if (en - b != numel * esize)
                throw error(cat("holds ", en - b, " bytes, shape and dtype need ", numel * esize));
            e.data = base + b;
            e.bytes = en - b;
            f->entries_.emplace(it.key(), std::move(e));
        } catch (const std::exception& ex) {
            throw error(cat(name, ": tensor '", it.key(), "': ", ex.what()));
        }
    }
}

safetensors_file::~safetensors_file() {
    if (map_) ::munmap(map_, size_);
}

std::vector<float> random_weight(const weight_info& w, std::uint64_t seed) {
    std::uint64_t h = 1469598103934665603ull ^ seed;
    for (char c : w.name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    std::mt19937_64 rng(h);
    const auto n = static_cast<std::size_t>(w.shape.numel());
    std::vector<float> out(n);
    const double fan_in = w.shape.rank() > 1 ? static_cast<double>(w.shape.numel()) / w.shape[0]
                                             : static_cast<double>(w.shape.numel());
    double lo = 0, hi = 0;
    switch (w.init) {
        case CNNKIT_INIT_ZERO: break;
        case CNNKIT_INIT_ONE: lo = hi = 1; break;
        case CNNKIT_INIT_POSITIVE: lo = 0.5; hi = 1.5; break;
        default: hi = 1.0 / std::sqrt(std::max(1.0, fan_in)); lo = -hi;
    }
    std::uniform_real_distribution<double> dist(lo, hi);
    for (auto& x : out) x = lo == hi ? static_cast<float>(lo) : static_cast<float>(dist(rng));
    return out;
}

namespace {
// A weight whose shape differs: names the tensor, both shapes, and the layer (with its inputs)
// that declared the expected one, at that layer's place in the network file.
[[noreturn]] void throw_wrong_shape(const graph& g, const weight_info& w, const std::string& path,
                                    const std::vector<std::int64_t>& got) {
    std::string msg = cat(path, ": tensor '", w.name, "' has shape ", got,
                          ", the network expects ", w.shape);
    if (w.node < 0) throw error(msg);
    const node& n = g.nodes[static_cast<std::size_t>(w.node)];
    msg += cat(" (layer '", n.name, "' (", n.type->api->type, ")");
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        const tensor_info& t = g.tensors[static_cast<std::size_t>(n.inputs[i])];
        msg += cat(i ? ", '" : " on '", t.name, "' ", t.shape);
    }
    msg += ")";
    if (n.where.line > 0) throw located_error(n.where, msg);
    throw error(msg);
}
}  // namespace

weight_store bind_weights(const graph& g, std::shared_ptr<safetensors_file> file,
                          std::optional<std::uint64_t> random_seed) {
    weight_store s;
    s.file = file;
    s.data.resize(g.weights.size());
    std::map<std::string, int> expected;
    for (std::size_t i = 0; i < g.weights.size(); ++i) expected[g.weights[i].name] = int(i);
    if (file) {
        for (const auto& [name, e] : file->entries())
            if (!expected.count(name))
                throw error(cat(file->path(), ": tensor '", name,
                                "' is not a weight of this network"));
    }
    std::vector<std::string> missing;
    for (std::size_t i = 0; i < g.weights.size(); ++i) {
        const weight_info& w = g.weights[i];
        const safetensors_file::entry* e = nullptr;
        if (file) {
            const auto it = file->entries().find(w.name);
            if (it != file->entries().end()) e = &it->second;
        }
        if (e) {
            const std::vector<std::int64_t> want(w.shape.dims().begin(), w.shape.dims().end());
            if (e->shape != want) throw_wrong_shape(g, w, file->path(), e->shape);
            if (e->dtype != "F32")
                throw error(cat(file->path(), ": tensor '", w.name, "' is ", e->dtype,
                                ", expected F32"));
            if (reinterpret_cast<std::uintptr_t>(e->data) % alignof(float) == 0) {
                s.data[i] = reinterpret_cast<const float*>(e->data);
            } else {
                s.owned.emplace_back(e->bytes / 4);
                std::memcpy(s.owned.back().data(), e->data, e->bytes);
                s.data[i] = s.owned.back().data();
            }
        } else if (random_seed) {
            s.owned.push_back(random_weight(w, *random_seed));
            s.data[i] = s.owned.back().data();
        } else {
            missing.push_back(cat(w.name, ' ', w.shape));
        }
    }
    if (!missing.empty()) {
        const std::size_t show = std::min<std::size_t>(missing.size(), 5);
        std::string list;
        for (std::size_t i = 0; i < show; ++i) list += (i ? ", " : "") + missing[i];
        throw error(cat(file ? file->path() + ": " : std::string(), missing.size(),
                        " weight(s) missing: ", list, missing.size() > show ? ", ..." : "",
                        file ? "" : " (give --weights FILE or --random-weights SEED)"));
    }
    return s;
}

std::vector<unsigned char> safetensors_bytes(
    const std::vector<std::pair<std::string, host_tensor>>& tensors) {
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    std::uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        std::vector<std::int64_t> dims(t.shape.dims().begin(), t.shape.dims().end());
        header[name] = {{"dtype", t.shape.type() == sdk::dtype::i64 ? "I64" : "F32"},
                        {"shape", dims},
                        {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string h = header.dump();
    while (h.size() % 8) h += ' ';
    std::vector<unsigned char> out(8);
    for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(h.size() >> (8 * i));
    out.insert(out.end(), h.begin(), h.end());
    for (const auto& [_, t] : tensors) out.insert(out.end(), t.bytes.begin(), t.bytes.end());
    return out;
}

void write_safetensors(const std::filesystem::path& file,
                       const std::vector<std::pair<std::string, host_tensor>>& tensors) {
    write_file_atomic(file, safetensors_bytes(tensors));
}

}  // namespace cnnkit::kernel
