// team.hpp: the threads of one CPU inference. The caller and up to threads-1 oneTBB tasks on the
// arena's workers each loop over: run a ready node, else take chunks of a node's parallel_for,
// else spin; until the run's last node ends.
//
// Why not tbb::parallel_for inside a oneTBB flow graph (the executor until session 15): oneTBB
// 2021 puts a worker to sleep soon after it runs out of work, and on the VMs we measure on waking
// a sleeping thread takes 2.5-3.7 ms (a condition variable, 200 ms and 5 ms after the last wake),
// longer than most layers. After 0.2 s idle, a worker did 16-49% of the chunks of 40 back-to-back
// 0.2 ms parallel_fors (1-50% with 50 us between them; 46-50% with no idle before). A team's members spin while the run lasts, so each run
// pays at most one wake-up, and the caller works alone meanwhile: no thread waits for a chunk
// handed to a thread that is still asleep, since every chunk is taken, never given.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace cnnkit::kernel {

// One thread's parallel_for while it runs a node; the others take chunks from it.
struct alignas(64) team_job {
    // The open bit and how many helpers are in: one atomic, so that a helper can only enter an
    // open job (a compare-exchange) and the owner, once it has closed the job and seen the count
    // at 0, knows that nobody reads its fields any more.
    static constexpr std::int64_t open = std::int64_t{1} << 40;
    std::atomic<std::int64_t> state{0};
    std::atomic<std::int64_t> next{0};
    std::int64_t end = 0, chunk = 1;
    void (*body)(void*, std::int64_t, std::int64_t) = nullptr;
    void* user = nullptr;
};

// The run's graph: nodes become ready when their last dependency ends.
class team {
public:
    // successors[n]: the nodes that wait on n; deps[n]: how many n waits on.
    team(const std::vector<std::vector<int>>& successors, const std::vector<int>& deps,
         int threads);

    // Before a run (on the caller, before any member starts): every node pending again.
    void reset();
    // What member `me` (0 = the caller) does until the run ends; run_node(n, me) runs node n.
    template <class RunNode>
    void work(int me, RunNode&& run_node);

    // parallel_for for the member `me` running a node (host services' entry).
    void parallel_for(int me, std::int64_t begin, std::int64_t end, std::int64_t grain,
                      void (*body)(void*, std::int64_t, std::int64_t), void* user);
    int size() const { return static_cast<int>(jobs_.size()); }

private:
    int pop();
    void push(int n);
    void finish(int n);
    bool help(int me);
    static void pause(unsigned& idle);

    const std::vector<std::vector<int>>& successors_;
    const std::vector<int>& deps_;
    std::unique_ptr<std::atomic<int>[]> pending_;  // per node: dependencies not yet ended
    std::unique_ptr<std::atomic<int>[]> order_;    // ready nodes + 1 in the order they became ready
    std::atomic<int> pushed_{0}, popped_{0}, remaining_{0};
    std::atomic<bool> done_{false};
    std::vector<team_job> jobs_;  // per member
};

// Which team and member the current thread is, while it works in a run (thread-local).
struct team_member {
    team* t = nullptr;
    int me = 0;
    bool in_chunk = false;  // a chunk's body calling parallel_for runs it inline
};
team_member& current_member();

template <class RunNode>
void team::work(int me, RunNode&& run_node) {
    team_member& m = current_member();
    const team_member saved = m;
    m = {this, me, false};
    unsigned idle = 0;
    while (!done_.load(std::memory_order_acquire)) {
        if (const int n = pop(); n >= 0) {
            run_node(n, me);
            finish(n);
            idle = 0;
        } else if (help(me)) {
            idle = 0;
        } else {
            pause(idle);
        }
    }
    m = saved;
}

}  // namespace cnnkit::kernel
