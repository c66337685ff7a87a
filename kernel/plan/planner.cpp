// planner.cpp: best-fit offset allocation over the topological order, tracking who last used each
// free region so that reuse under parallel execution is ordered by explicit edges.
#include "plan/planner.hpp"

#include "io/npy.hpp"

#include <algorithm>
#include <list>
#include <set>

namespace cnnkit::kernel {
namespace {

constexpr std::uint64_t align = 64;

struct region {
    std::uint64_t offset, bytes;
    std::vector<int> guards;  // nodes that must finish before this region is written again
};

// Which nodes run before which through data edges alone: a bit per (node, earlier node).
class ancestry {
public:
    explicit ancestry(const graph& g) : words_((g.nodes.size() + 63) / 64), bits_(g.nodes.size() * words_) {
        for (std::size_t n = 0; n < g.nodes.size(); ++n)
            for (int t : g.nodes[n].inputs) {
                const int p = g.tensors[t].producer;
                if (p < 0) continue;
                for (std::size_t w = 0; w < words_; ++w) bits_[n * words_ + w] |= bits_[p * words_ + w];
                bits_[n * words_ + p / 64] |= std::uint64_t{1} << (p % 64);
            }
    }
    // Whether node a finishes before node b starts whatever the schedule (a == b counts).
    bool before(int a, int b) const {
        return a == b || (bits_[static_cast<std::size_t>(b) * words_ + a / 64] >> (a % 64) & 1);
    }

private:
    std::size_t words_;
    std::vector<std::uint64_t> bits_;
};

class arena_allocator {
public:
    // Returns an offset; `deps` receives the guards of whatever region it came from. `usable`
    // says which free regions may be taken (all, when null).
    template <class Usable>
    std::uint64_t allocate(std::uint64_t bytes, std::vector<int>& deps, Usable usable) {
        bytes = (std::max<std::uint64_t>(bytes, 1) + align - 1) / align * align;
        auto best = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it)
            if (it->bytes >= bytes && (best == free_.end() || it->bytes < best->bytes) &&
                usable(*it))
                best = it;
        if (best == free_.end()) {
            // Grow: if the last free region touches the end, extend it instead of leaving a gap.
            if (!free_.empty() && free_.back().offset + free_.back().bytes == end_ &&
                usable(free_.back())) {
                region r = free_.back();
                free_.pop_back();
                deps.insert(deps.end(), r.guards.begin(), r.guards.end());
                end_ = r.offset + bytes;
                return r.offset;
            }
            const std::uint64_t at = end_;
            end_ += bytes;
            return at;
        }
        deps.insert(deps.end(), best->guards.begin(), best->guards.end());
        const std::uint64_t at = best->offset;
        if (best->bytes == bytes) {
            free_.erase(best);
        } else {
            best->offset += bytes;
            best->bytes -= bytes;
        }
        return at;
    }
    std::uint64_t allocate(std::uint64_t bytes, std::vector<int>& deps) {
        return allocate(bytes, deps, [](const region&) { return true; });
    }
    void release(std::uint64_t offset, std::uint64_t bytes, std::vector<int> guards) {
        bytes = (std::max<std::uint64_t>(bytes, 1) + align - 1) / align * align;
        auto it = free_.begin();
        while (it != free_.end() && it->offset < offset) ++it;
        it = free_.insert(it, region{offset, bytes, std::move(guards)});
        // Merge with neighbours; a merged region carries both sets of guards.
        if (auto next = std::next(it); next != free_.end() && it->offset + it->bytes == next->offset) {
            it->bytes += next->bytes;
            it->guards.insert(it->guards.end(), next->guards.begin(), next->guards.end());
            free_.erase(next);
        }
        if (it != free_.begin()) {
            auto prev = std::prev(it);
            if (prev->offset + prev->bytes == it->offset) {
                prev->bytes += it->bytes;
                prev->guards.insert(prev->guards.end(), it->guards.begin(), it->guards.end());
                free_.erase(it);
            }
        }
    }
    std::uint64_t end() const { return end_; }

private:
    std::list<region> free_;
    std::uint64_t end_ = 0;
};

std::uint64_t bytes_of(const tensor_info& t) {
    return static_cast<std::uint64_t>(t.shape.numel()) * element_size(t.shape.type());
}

// A concat whose inputs are written straight into its output: the output's region is taken
// when the first of them is produced, each placed input is a view at its byte offset, and the
// concat copies only what is not already in place.
struct placed_concat {
    int output = -1;              // the concat's output tensor
    std::vector<int> producers;   // every node writing into it; the first to run takes it
    bool taken = false;           // whether the output's region is allocated yet
    std::vector<int> guards;      // what that allocation must wait for; every producer waits
};

// Which tensors are produced straight into a concat's output: inputs along an axis with only
// 1s before it (so each input is one contiguous run), read by nothing else, produced by a node
// that neither aliases its input nor is itself a placed concat. offset[t] is t's byte offset.
void place_concats(const graph& g, const std::vector<bool>& pinned, std::vector<int>& concat_of,
                   std::vector<std::uint64_t>& offset, std::vector<placed_concat>& concats) {
    for (std::size_t n = 0; n < g.nodes.size(); ++n) {
        const node& nd = g.nodes[n];
        if (!is_type(nd, "concat") || nd.outputs.size() != 1) continue;
        const sdk::shape& out = g.tensors[nd.outputs[0]].shape;
        const auto rank = static_cast<std::int64_t>(out.rank());
        auto axis = static_cast<std::int64_t>(param_value(nd, "axis"));
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank || out.prod(0, static_cast<std::uint32_t>(axis)) != 1) continue;
        placed_concat c;
        c.output = nd.outputs[0];
        std::uint64_t at = 0;
        for (int t : nd.inputs) {
            const tensor_info& ti = g.tensors[t];
            const int prod = ti.producer;
            const bool ok = prod >= 0 && !pinned[t] && ti.consumers.size() == 1 &&
                            std::count(nd.inputs.begin(), nd.inputs.end(), t) == 1 &&
                            !(g.nodes[prod].type->api->flags & CNNKIT_LAYER_IN_PLACE) &&
                            !is_type(g.nodes[prod], "concat");
            if (ok) {
                concat_of[t] = static_cast<int>(concats.size());
                offset[t] = at;
                c.producers.push_back(prod);
            }
            at += bytes_of(ti);
        }
        if (!c.producers.empty()) {
            concat_of[c.output] = static_cast<int>(concats.size());
            concats.push_back(std::move(c));
        }
    }
}

}  // namespace

plan make_plan(const graph& g, const plan_options& opt) {
    plan p;
    p.tensors.resize(g.tensors.size());
    p.workspaces.resize(g.nodes.size());
    p.deps.resize(g.nodes.size());
    std::vector<bool> pinned(g.tensors.size(), false);  // inputs and outputs live throughout
    for (int t : g.inputs) pinned[t] = true;
    for (const auto& [_, t] : g.outputs) pinned[t] = true;
    std::vector<int> last_use(g.tensors.size(), -1);
    for (std::size_t n = 0; n < g.nodes.size(); ++n)
        for (int t : g.nodes[n].inputs) last_use[t] = static_cast<int>(n);

    std::vector<int> concat_of(g.tensors.size(), -1);  // placed input or output: which concat
    std::vector<std::uint64_t> concat_offset(g.tensors.size(), 0);
    std::vector<placed_concat> concats;
    if (opt.reuse && opt.concat_in_place) place_concats(g, pinned, concat_of, concat_offset, concats);

    arena_allocator arena;
    const ancestry anc(g);
    std::vector<int> unused;
    for (int t : g.inputs) p.tensors[t] = {arena.allocate(bytes_of(g.tensors[t]), unused),
                                           bytes_of(g.tensors[t])};
    for (std::size_t n = 0; n < g.nodes.size(); ++n) {
        const node& nd = g.nodes[n];
        std::vector<int>& deps = p.deps[n];
        // Memory last read by nodes that all run before `writers` whatever the schedule, so
        // that reuse adds no edge between independent branches (which would serialize them).
        const auto after = [&](const std::vector<int>& writers) {
            return [&, writers](const region& r) {
                if (!opt.parallel_branches) return true;
                for (int gd : r.guards)
                    for (int w : writers)
                        if (!anc.before(gd, w)) return false;
                return true;
            };
        };
        const auto usable = after({static_cast<int>(n)});
        for (int t : nd.inputs)
            if (g.tensors[t].producer >= 0) deps.push_back(g.tensors[t].producer);
        for (std::size_t k = 0; k < nd.outputs.size(); ++k) {
            const int t = nd.outputs[k];
            const std::uint64_t bytes = bytes_of(g.tensors[t]);
            const int src = nd.inputs.empty() ? -1 : nd.inputs[0];
            const bool alias = opt.reuse && opt.in_place && k == 0 &&
                               (nd.type->api->flags & CNNKIT_LAYER_IN_PLACE) && src >= 0 &&
                               !pinned[src] && g.tensors[src].consumers.size() == 1 &&
                               bytes_of(g.tensors[src]) == bytes &&
                               std::count(nd.inputs.begin(), nd.inputs.end(), src) == 1;
            if (concat_of[t] >= 0) {
                // A placed concat input (or the concat's own output, taken already).
                placed_concat& c = concats[static_cast<std::size_t>(concat_of[t])];
                slot& whole = p.tensors[c.output];
                if (!c.taken) {
                    const std::uint64_t out_bytes = bytes_of(g.tensors[c.output]);
                    whole = {arena.allocate(out_bytes, c.guards, after(c.producers)), out_bytes};
                    c.taken = true;
                }
                deps.insert(deps.end(), c.guards.begin(), c.guards.end());
                if (t != c.output) {
                    p.tensors[t] = {whole.offset + concat_offset[t], 0};  // owned by the output
                    ++p.concat_in_place;
                }
            } else if (alias) {
                p.tensors[t] = p.tensors[src];
                p.tensors[src].bytes = 0;  // ownership moves to the output
                ++p.in_place;
            } else {
                // Without reuse nothing is ever released, so this always grows the arena.
                p.tensors[t] = {arena.allocate(bytes, deps, usable), bytes};
            }
        }
        if (nd.workspace) {
            p.workspaces[n] = {arena.allocate(nd.workspace, deps, usable), nd.workspace};
            if (opt.reuse) arena.release(p.workspaces[n].offset, nd.workspace, {int(n)});
        }
        std::vector<int> read(nd.inputs);  // a tensor read twice is released once
        std::sort(read.begin(), read.end());
        read.erase(std::unique(read.begin(), read.end()), read.end());
        if (opt.reuse)
            for (int t : read) {
                if (pinned[t] || last_use[t] != static_cast<int>(n) || p.tensors[t].bytes == 0)
                    continue;
                arena.release(p.tensors[t].offset, p.tensors[t].bytes, g.tensors[t].consumers);
                p.tensors[t].bytes = 0;  // mark released; restored below
            }
        // Outputs nobody reads are released right away (they are still written).
        if (opt.reuse)
            for (int t : nd.outputs)
                if (!pinned[t] && g.tensors[t].consumers.empty() && p.tensors[t].bytes)
                    arena.release(p.tensors[t].offset, p.tensors[t].bytes, {int(n)});
        std::sort(deps.begin(), deps.end());
        deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
        deps.erase(std::remove(deps.begin(), deps.end(), static_cast<int>(n)), deps.end());
    }
    for (std::size_t t = 0; t < g.tensors.size(); ++t) {
        p.tensors[t].bytes = bytes_of(g.tensors[t]);  // restore sizes cleared while planning
        p.naive_bytes += (p.tensors[t].bytes + align - 1) / align * align;
    }
    p.arena_bytes = arena.end();
    return p;
}

}  // namespace cnnkit::kernel
