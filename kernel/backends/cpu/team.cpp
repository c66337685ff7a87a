// team.cpp: a run's threads: a ready queue over the graph and per-member parallel_for jobs.
#include "backends/cpu/team.hpp"

#include "util/tsan.hpp"

#include <algorithm>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace cnnkit::kernel {

team_member& current_member() {
    thread_local team_member m;
    return m;
}

team::team(const std::vector<std::vector<int>>& successors, const std::vector<int>& deps,
           int threads)
    : successors_(successors),
      deps_(deps),
      pending_(new std::atomic<int>[deps.size()]),
      order_(new std::atomic<int>[deps.size()]),
      jobs_(static_cast<std::size_t>(std::max(threads, 1))) {}

void team::reset() {
    const int n = static_cast<int>(deps_.size());
    pushed_.store(0, std::memory_order_relaxed);
    popped_.store(0, std::memory_order_relaxed);
    remaining_.store(n, std::memory_order_relaxed);
    done_.store(n == 0, std::memory_order_relaxed);
    for (int i = 0; i < n; ++i) {
        pending_[i].store(deps_[i], std::memory_order_relaxed);
        order_[i].store(0, std::memory_order_relaxed);
    }
    for (int i = 0; i < n; ++i)
        if (deps_[i] == 0) push(i);
}

void team::push(int n) {
    const int at = pushed_.fetch_add(1, std::memory_order_acq_rel);
    order_[at].store(n + 1, std::memory_order_release);
}

// The oldest ready node, or -1 (none yet, or one whose push is still being written).
int team::pop() {
    int at = popped_.load(std::memory_order_acquire);
    while (at < pushed_.load(std::memory_order_acquire)) {
        const int v = order_[at].load(std::memory_order_acquire);
        if (v == 0) return -1;
        if (popped_.compare_exchange_weak(at, at + 1, std::memory_order_acq_rel))
            return v - 1;
    }
    return -1;
}

void team::finish(int n) {
    for (int s : successors_[n])
        if (pending_[s].fetch_sub(1, std::memory_order_acq_rel) == 1) push(s);
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        done_.store(true, std::memory_order_release);
}

// Takes chunks of another member's open job; false when none was open.
bool team::help(int me) {
    bool helped = false;
    for (std::size_t k = 0; k < jobs_.size(); ++k) {
        if (static_cast<int>(k) == me) continue;
        team_job& j = jobs_[k];
        std::int64_t s = j.state.load(std::memory_order_relaxed);
        while ((s & team_job::open) &&
               !j.state.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                              std::memory_order_relaxed)) {
        }
        if (!(s & team_job::open)) continue;
        tsan::acquire(&j.next);  // the owner's fields and memory, as of the job's start
        team_member& m = current_member();
        m.in_chunk = true;
        for (std::int64_t b; (b = j.next.fetch_add(j.chunk, std::memory_order_relaxed)) < j.end;) {
            j.body(j.user, b, std::min(b + j.chunk, j.end));
            helped = true;
        }
        m.in_chunk = false;
        tsan::release(&j.state);  // these chunks' writes, for the owner
        j.state.fetch_sub(1, std::memory_order_release);
    }
    return helped;
}

void team::parallel_for(int me, std::int64_t begin, std::int64_t end, std::int64_t grain,
                        void (*body)(void*, std::int64_t, std::int64_t), void* user) {
    const std::int64_t count = end - begin;
    // About 4 chunks a member, none below the caller's grain: a late member still finds work.
    const std::int64_t chunk =
        std::max<std::int64_t>({grain, 1, count / (4 * static_cast<std::int64_t>(size()))});
    team_job& j = jobs_[static_cast<std::size_t>(me)];
    j.end = end;
    j.chunk = chunk;
    j.body = body;
    j.user = user;
    j.next.store(begin, std::memory_order_relaxed);
    // A new generation in the bits above `open`: a helper that read the last job's state cannot
    // enter this one by a compare-exchange that happens to see the same bits.
    // It wraps after 2^22 jobs (masked, so the shift below never reaches the sign bit).
    const std::int64_t gen =
        ((j.state.load(std::memory_order_relaxed) >> 41) + 1) & ((std::int64_t{1} << 22) - 1);
    tsan::release(&j.next);
    j.state.store((gen << 41) | team_job::open, std::memory_order_release);
    team_member& m = current_member();
    m.in_chunk = true;
    for (std::int64_t b; (b = j.next.fetch_add(chunk, std::memory_order_relaxed)) < end;)
        body(user, b, std::min(b + chunk, end));
    m.in_chunk = false;
    // Closed: no one enters any more; the chunks others took end before this returns (acquire:
    // their writes are ours).
    j.state.fetch_and(~team_job::open, std::memory_order_relaxed);
    unsigned idle = 0;
    while ((j.state.load(std::memory_order_acquire) & (team_job::open - 1)) != 0) pause(idle);
    tsan::acquire(&j.state);
}

// Spins while a run lasts (a sleeping thread takes milliseconds to wake on a VM); after a while
// yields too, so a machine with more runnable threads than cores is not starved.
void team::pause(unsigned& idle) {
    if (++idle < 256) {
#if defined(__x86_64__) || defined(__i386__)
        _mm_pause();
#endif
    } else {
        std::this_thread::yield();
    }
}

}  // namespace cnnkit::kernel
