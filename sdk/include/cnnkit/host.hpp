// host.hpp: C++ wrappers over the host services a plugin is lent (parallel_for, sgemm, log).
#pragma once

#include <cnnkit/plugin_abi.h>

#include <concepts>
#include <cstdint>
#include <string>

namespace cnnkit::sdk {

class host {
public:
    explicit host(const cnnkit_host* raw) : raw_(raw) {}

    // Calls f(i) for each i in [begin, end), or f(b, e) on sub-ranges if f takes two indices.
    // Iterations run concurrently on the host's threads: f must not race.
    template <class F>
    void parallel_for(std::int64_t begin, std::int64_t end, F&& f, std::int64_t grain = 1) const {
        if (end <= begin) return;
        auto body = [](void* user, std::int64_t b, std::int64_t e) {
            auto& fn = *static_cast<std::remove_reference_t<F>*>(user);
            if constexpr (std::invocable<F&, std::int64_t, std::int64_t>)
                fn(b, e);
            else
                for (std::int64_t i = b; i < e; ++i) fn(i);
        };
        raw_->parallel_for(raw_->ctx, begin, end, grain, body, const_cast<void*>(
                               static_cast<const void*>(&f)));
    }

    // Row-major single-threaded SGEMM: C = alpha * op(A) op(B) + beta * C.
    void sgemm(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k,
               float alpha, const float* a, std::int64_t lda, const float* b, std::int64_t ldb,
               float beta, float* c, std::int64_t ldc) const {
        raw_->sgemm(raw_->ctx, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    void log(int level, const std::string& message) const {
        raw_->log(raw_->ctx, level, message.c_str());
    }

    const cnnkit_host* raw() const { return raw_; }

private:
    const cnnkit_host* raw_;
};

}  // namespace cnnkit::sdk
