// tsan.hpp: happens-before annotations for ThreadSanitizer. Debian's oneTBB is not instrumented,
// so TSan cannot see that a flow-graph edge or a parallel_for join orders memory; the executor
// states those edges itself. Without -fsanitize=thread these compile to nothing.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define CNNKIT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CNNKIT_TSAN 1
#endif
#endif

#ifdef CNNKIT_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace cnnkit::kernel::tsan {

// What one thread did before release(x) happens before what another does after acquire(x).
inline void release([[maybe_unused]] const void* sync) {
#ifdef CNNKIT_TSAN
    __tsan_release(const_cast<void*>(sync));
#endif
}
inline void acquire([[maybe_unused]] const void* sync) {
#ifdef CNNKIT_TSAN
    __tsan_acquire(const_cast<void*>(sync));
#endif
}

// Wraps a callable that oneTBB may run on another thread (task_arena::execute delegates it when
// the arena is full): the caller releases the wrapper's address before handing it over, and the
// runner acquires it through `this`, before it reads anything the caller wrote.
template <class F>
struct handoff {
    F& f;
    void operator()() const {
        acquire(this);
        f();
        release(this);
    }
};

}  // namespace cnnkit::kernel::tsan
