// tensor.hpp: sdk::shape and sdk::tensor, C++ views over the ABI's cnnkit_shape/cnnkit_tensor.
#pragma once

#include <cnnkit/error.hpp>
#include <cnnkit/plugin_abi.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>

namespace cnnkit::sdk {

enum class dtype : std::uint32_t { f32 = CNNKIT_DTYPE_F32, i64 = CNNKIT_DTYPE_I64 };

// Rank 1..8 extent plus element type. n()/c()/h()/w() read an NCHW (rank 4) shape.
struct shape {
    cnnkit_shape raw{};

    shape() = default;
    shape(const cnnkit_shape& s) : raw(s) {}  // NOLINT: implicit from the ABI struct
    shape(std::initializer_list<std::int64_t> dims, dtype t = dtype::f32) {
        expect(dims.size() >= 1 && dims.size() <= CNNKIT_MAX_RANK, "rank ", dims.size(),
               " is outside 1..", CNNKIT_MAX_RANK);
        raw.rank = static_cast<std::uint32_t>(dims.size());
        raw.dtype = static_cast<std::uint32_t>(t);
        std::uint32_t i = 0;
        for (auto d : dims) raw.dims[i++] = d;
    }
    static shape of_rank(std::uint32_t rank, dtype t = dtype::f32) {
        expect(rank >= 1 && rank <= CNNKIT_MAX_RANK, "rank ", rank, " is outside 1..8");
        shape s;
        s.raw.rank = rank;
        s.raw.dtype = static_cast<std::uint32_t>(t);
        return s;
    }

    std::uint32_t rank() const { return raw.rank; }
    dtype type() const { return static_cast<dtype>(raw.dtype); }
    std::int64_t& operator[](std::size_t i) { return raw.dims[i]; }
    std::int64_t operator[](std::size_t i) const { return raw.dims[i]; }
    std::int64_t n() const { return raw.dims[0]; }
    std::int64_t c() const { return raw.dims[1]; }
    std::int64_t h() const { return raw.dims[2]; }
    std::int64_t w() const { return raw.dims[3]; }
    std::int64_t numel() const {
        std::int64_t p = 1;
        for (std::uint32_t i = 0; i < raw.rank; ++i) p *= raw.dims[i];
        return p;
    }
    // Product of dims [from, to).
    std::int64_t prod(std::uint32_t from, std::uint32_t to) const {
        std::int64_t p = 1;
        for (std::uint32_t i = from; i < to && i < raw.rank; ++i) p *= raw.dims[i];
        return p;
    }
    std::span<const std::int64_t> dims() const { return {raw.dims, raw.rank}; }
    friend bool operator==(const shape& a, const shape& b) {
        if (a.raw.rank != b.raw.rank || a.raw.dtype != b.raw.dtype) return false;
        for (std::uint32_t i = 0; i < a.raw.rank; ++i)
            if (a.raw.dims[i] != b.raw.dims[i]) return false;
        return true;
    }
    friend std::ostream& operator<<(std::ostream& os, const shape& s) {
        os << '{';
        for (std::uint32_t i = 0; i < s.raw.rank; ++i) os << (i ? ", " : "") << s.raw.dims[i];
        os << '}';
        if (s.type() == dtype::i64) os << " int64";
        return os;
    }
};

// A host-owned tensor as a plugin sees it during run_cpu.
struct tensor {
    cnnkit_tensor* raw;

    sdk::shape shape() const { return raw->shape; }
    float* f32() const {
        expect(raw->shape.dtype == CNNKIT_DTYPE_F32, "tensor is not float32");
        return static_cast<float*>(raw->data);
    }
    std::int64_t* i64() const {
        expect(raw->shape.dtype == CNNKIT_DTYPE_I64, "tensor is not int64");
        return static_cast<std::int64_t*>(raw->data);
    }
    std::int64_t numel() const { return shape().numel(); }
};

struct const_tensor {
    const cnnkit_tensor* raw;

    sdk::shape shape() const { return raw->shape; }
    const float* f32() const {
        expect(raw->shape.dtype == CNNKIT_DTYPE_F32, "tensor is not float32");
        return static_cast<const float*>(raw->data);
    }
    const std::int64_t* i64() const {
        expect(raw->shape.dtype == CNNKIT_DTYPE_I64, "tensor is not int64");
        return static_cast<const std::int64_t*>(raw->data);
    }
    std::int64_t numel() const { return shape().numel(); }
};

}  // namespace cnnkit::sdk
