// layer.hpp: the C++ face of a layer type, and CNNKIT_REGISTER_PLUGIN, which generates the C ABI
// (descriptor, param schema, exception-catching trampolines) from it.
//
// A layer is a struct with static members:
//   using params = my_params;                  // reflected aggregate, or sdk::no_params
//   static constexpr const char* type = "conv", *doc = "one line";
//   static constexpr bool in_place = false;     // optional: output 0 may alias input 0
//   static shapes infer(const params&, std::span<const shape> in);          // required
//   static std::vector<weight> weights(const params&, std::span<const shape> in);  // optional
//   static std::uint64_t workspace(const params&, std::span<const shape> in);     // optional
//   static std::int64_t macs(const params&, std::span<const shape> in);           // optional
//   static void run(const params&, const call&);                                  // CPU kernel
//   static void expand(const params&, std::span<const shape> in, builder&);       // composites
//   static std::vector<gpu::dispatch> vulkan(const params&, const gpu::call&);     // gpu.hpp
//   using state = my_state;  // optional, with prepare: data derived from the weights, kept in
//   static void prepare(const params&, state&, std::span<const shape> in,   // the layer object
//                       std::span<const cnnkit_tensor> weights);  // at load and on reload;
//                       // run() reads it as c.state<my_state>() (default-constructed if the
//                       // host never called prepare)
//   static void prepare(const params&, state&, std::span<const shape> in,   // or this form, to
//                       std::span<const cnnkit_tensor> weights,            // see the network's
//                       const prepare_options&);                           // load options
#pragma once

#include <cnnkit/error.hpp>
#include <cnnkit/gpu.hpp>
#include <cnnkit/host.hpp>
#include <cnnkit/params.hpp>
#include <cnnkit/plugin_abi.h>
#include <cnnkit/tensor.hpp>

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace cnnkit::sdk {

using shapes = std::vector<shape>;

// A weight a layer expects: name relative to the node ("weight", "bias"), shape, random init.
struct weight {
    std::string name;
    sdk::shape shape;
    cnnkit_weight_init init = CNNKIT_INIT_FAN_IN;
    bool buffer = false;  // state, not learned (running statistics): not counted as a parameter
};

// The network's load options a layer's prepare may read (plugin_abi.h, prepare2).
struct prepare_options {
    // F32 (the default): exact float32. BF16 (`--precision bf16`): the layer may round its
    // weights to bfloat16 where that is faster, keeping float32 activations and accumulation.
    cnnkit_precision precision = CNNKIT_PRECISION_F32;
};

// Everything run() gets: inputs, weights (in the order weights() declared), outputs, scratch.
struct call {
    sdk::host host;
    std::span<const cnnkit_tensor> in_;
    std::span<const cnnkit_tensor> w_;
    std::span<cnnkit_tensor> out_;
    void* workspace;
    const void* state_ = nullptr;  // the layer's prepared state (layers declaring `state`)

    template <class S>
    const S& state() const { return *static_cast<const S*>(state_); }
    const_tensor in(std::size_t i) const { return {&in_[i]}; }
    const_tensor w(std::size_t i) const { return {&w_[i]}; }
    tensor out(std::size_t i) const { return {&out_[i]}; }
    std::size_t n_in() const { return in_.size(); }
    std::size_t n_w() const { return w_.size(); }
    std::size_t n_out() const { return out_.size(); }
};

// The graph builder a composite layer expands into.
class builder {
public:
    explicit builder(const cnnkit_builder* raw) : raw_(raw) {}
    // Adds node `name` of `type`; returns its name for use as a later input.
    std::string add(const std::string& name, const std::string& type,
                    const std::string& params_yaml, const std::vector<std::string>& inputs) {
        std::vector<const char*> in;
        for (const auto& s : inputs) in.push_back(s.c_str());
        cnnkit_diag d{};
        if (raw_->add_node(raw_->ctx, name.c_str(), type.c_str(), params_yaml.c_str(), in.data(),
                           static_cast<std::uint32_t>(in.size()), &d) != CNNKIT_STATUS_OK)
            throw cnnkit::error(d.text);
        return name;
    }
    void output(const std::string& tensor) {
        cnnkit_diag d{};
        if (raw_->set_output(raw_->ctx, tensor.c_str(), &d) != CNNKIT_STATUS_OK)
            throw cnnkit::error(d.text);
    }
    static std::string input(int i) { return "@" + std::to_string(i); }

private:
    const cnnkit_builder* raw_;
};

namespace detail {

inline void write_diag(cnnkit_diag* d, const char* text) {
    if (!d) return;
    std::strncpy(d->text, text, sizeof d->text - 1);
    d->text[sizeof d->text - 1] = '\0';
}

// Runs f, turning any exception into `fail` plus a diagnostic (nothing C++ crosses the ABI).
template <class F>
cnnkit_status guarded(cnnkit_diag* d, cnnkit_status fail, F&& f) noexcept {
    try {
        f();
        return CNNKIT_STATUS_OK;
    } catch (const std::bad_alloc&) {
        write_diag(d, "out of memory");
        return CNNKIT_STATUS_NO_MEMORY;
    } catch (const std::exception& e) {
        write_diag(d, e.what());
        return fail;
    } catch (...) {
        write_diag(d, "unknown exception");
        return CNNKIT_STATUS_INTERNAL;
    }
}

inline std::vector<shape> to_shapes(const cnnkit_shape* in, std::uint32_t n) {
    return std::vector<shape>(in, in + n);
}

// The layer object behind `self`: the params, plus the prepared state when the layer has one.
template <class L>
struct instance {
    typename L::params params;
};
template <class L>
    requires requires { typename L::state; }
struct instance<L> {
    typename L::params params;
    typename L::state state;
};

template <class L>
struct layer_entry {
    using P = typename L::params;
    using I = instance<L>;
    static constexpr bool has_state = requires { typename L::state; };

    static cnnkit_status create(const cnnkit_param_value* v, std::uint32_t n, void** self,
                                cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_BAD_PARAM,
                       [&] { *self = new I{params_from_values<P>(v, n)}; });
    }
    static void destroy(void* self) { delete static_cast<I*>(self); }
    static const P& self_of(const void* self) { return static_cast<const I*>(self)->params; }

    static cnnkit_status infer(const void* self, const cnnkit_shape* in, std::uint32_t n_in,
                               cnnkit_shape* out, std::uint32_t cap, std::uint32_t* n_out,
                               cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_BAD_SHAPE, [&] {
            const auto ins = to_shapes(in, n_in);
            std::vector<shape> outs;
            if constexpr (std::is_same_v<decltype(L::infer(self_of(self), ins)), shape>)
                outs.push_back(L::infer(self_of(self), ins));
            else
                outs = L::infer(self_of(self), ins);
            expect(outs.size() <= cap, "layer produces ", outs.size(), " outputs, host allows ",
                   cap);
            for (std::size_t i = 0; i < outs.size(); ++i) out[i] = outs[i].raw;
            *n_out = static_cast<std::uint32_t>(outs.size());
        });
    }
    static cnnkit_status weights(const void* self, const cnnkit_shape* in, std::uint32_t n_in,
                                 cnnkit_weight_desc* out, std::uint32_t cap, std::uint32_t* n,
                                 cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_BAD_SHAPE, [&] {
            const auto ws = L::weights(self_of(self), to_shapes(in, n_in));
            expect(ws.size() <= cap, "layer declares ", ws.size(), " weights, host allows ", cap);
            for (std::size_t i = 0; i < ws.size(); ++i) {
                expect(ws[i].name.size() < sizeof out[i].name, "weight name too long");
                out[i] = cnnkit_weight_desc{};
                std::memcpy(out[i].name, ws[i].name.c_str(), ws[i].name.size() + 1);
                out[i].shape = ws[i].shape.raw;
                out[i].init = ws[i].init | (ws[i].buffer ? CNNKIT_WEIGHT_BUFFER : 0u);
            }
            *n = static_cast<std::uint32_t>(ws.size());
        });
    }
    static cnnkit_status workspace(const void* self, const cnnkit_shape* in, std::uint32_t n_in,
                                   std::uint64_t* bytes, cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_BAD_SHAPE,
                       [&] { *bytes = L::workspace(self_of(self), to_shapes(in, n_in)); });
    }
    static cnnkit_status macs(const void* self, const cnnkit_shape* in, std::uint32_t n_in,
                              std::int64_t* m, cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_BAD_SHAPE,
                       [&] { *m = L::macs(self_of(self), to_shapes(in, n_in)); });
    }
    static cnnkit_status run_cpu(const void* self, const cnnkit_host* host,
                                 const cnnkit_tensor* in, std::uint32_t n_in,
                                 const cnnkit_tensor* w, std::uint32_t n_w, cnnkit_tensor* out,
                                 std::uint32_t n_out, void* ws, cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_INTERNAL, [&] {
            call c{sdk::host(host), {in, n_in}, {w, n_w}, {out, n_out}, ws};
            if constexpr (has_state) c.state_ = &static_cast<const I*>(self)->state;
            L::run(self_of(self), c);
        });
    }
    static void prepare_with(void* self, const cnnkit_shape* in, std::uint32_t n_in,
                             const cnnkit_tensor* w, std::uint32_t n_w, const prepare_options& o) {
        I& inst = *static_cast<I*>(self);
        const auto ins = to_shapes(in, n_in);
        const std::span<const cnnkit_tensor> ws{w, n_w};
        if constexpr (requires { L::prepare(inst.params, inst.state, ins, ws, o); })
            L::prepare(inst.params, inst.state, ins, ws, o);
        else
            L::prepare(inst.params, inst.state, ins, ws);
    }
    static cnnkit_status prepare(void* self, const cnnkit_shape* in, std::uint32_t n_in,
                                 const cnnkit_tensor* w, std::uint32_t n_w, cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_INTERNAL,
                       [&] { prepare_with(self, in, n_in, w, n_w, prepare_options{}); });
    }
    static cnnkit_status prepare2(void* self, const cnnkit_shape* in, std::uint32_t n_in,
                                  const cnnkit_tensor* w, std::uint32_t n_w,
                                  const cnnkit_prepare_options* raw, cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_INTERNAL, [&] {
            prepare_options o;
            if (raw && raw->struct_size >= offsetof(cnnkit_prepare_options, precision) +
                                               sizeof raw->precision) {
                expect(raw->precision <= CNNKIT_PRECISION_BF16, "unknown precision ",
                       raw->precision, " (this plugin knows 0 float32 and 1 bfloat16)");
                o.precision = static_cast<cnnkit_precision>(raw->precision);
            }
            prepare_with(self, in, n_in, w, n_w, o);
        });
    }
    static cnnkit_status expand(const void* self, const cnnkit_shape* in, std::uint32_t n_in,
                                const cnnkit_builder* b, cnnkit_diag* d) {
        return guarded(d, CNNKIT_STATUS_BAD_PARAM, [&] {
            builder bl(b);
            L::expand(self_of(self), to_shapes(in, n_in), bl);
        });
    }

    static cnnkit_status vulkan(const void* self, const cnnkit_shape* in, std::uint32_t n_in,
                                const cnnkit_shape* out, std::uint32_t n_out,
                                cnnkit_gpu_dispatch* d, std::uint32_t cap, std::uint32_t* n,
                                cnnkit_diag* diag) {
        try {
            const auto ins = to_shapes(in, n_in), outs = to_shapes(out, n_out);
            const auto ds = L::vulkan(self_of(self), gpu::call{ins, outs});
            expect(ds.size() <= cap, "layer needs ", ds.size(), " dispatches, host allows ", cap);
            for (std::size_t i = 0; i < ds.size(); ++i) d[i] = ds[i].raw;
            *n = static_cast<std::uint32_t>(ds.size());
            return CNNKIT_STATUS_OK;
        } catch (const gpu::unsupported& e) {
            write_diag(diag, e.what());
            return CNNKIT_STATUS_UNSUPPORTED;
        } catch (...) {
            return guarded(diag, CNNKIT_STATUS_INTERNAL, [] { throw; });
        }
    }

    static const cnnkit_layer_api& api() {
        static const auto info = make_param_info<P>();
        static const cnnkit_layer_api a = [] {
            cnnkit_layer_api x{};
            x.struct_size = sizeof(cnnkit_layer_api);
            x.type = L::type;
            if constexpr (requires { L::doc; }) x.doc = L::doc;
            if constexpr (requires { L::in_place; }) x.flags |= L::in_place ? CNNKIT_LAYER_IN_PLACE : 0u;
            x.params = info.data();
            x.param_count = static_cast<std::uint32_t>(info.size());
            x.create = &create;
            x.destroy = &destroy;
            x.infer = &infer;
            if constexpr (requires { &L::weights; }) x.weights = &weights;
            if constexpr (requires { &L::workspace; }) x.workspace = &workspace;
            if constexpr (requires { &L::macs; }) x.macs = &macs;
            if constexpr (requires { &L::run; }) x.run_cpu = &run_cpu;
            if constexpr (requires { &L::vulkan; }) x.vulkan = &vulkan;
            if constexpr (has_state && requires { &L::prepare; }) {
                x.prepare = &prepare;
                x.prepare2 = &prepare2;
            }
            if constexpr (requires { &L::expand; }) {
                x.expand = &expand;
                x.flags |= CNNKIT_LAYER_COMPOSITE;
            }
            return x;
        }();
        return a;
    }
};

template <class... L>
const cnnkit_plugin* plugin_descriptor(const char* name, const char* version) {
    static const cnnkit_layer_api* const layers[] = {&layer_entry<L>::api()...};
    static const cnnkit_plugin p{CNNKIT_ABI_VERSION, sizeof(cnnkit_plugin), name, version,
                                 layers, static_cast<std::uint32_t>(sizeof...(L))};
    return &p;
}

}  // namespace detail
}  // namespace cnnkit::sdk

// Emits the plugin's one entry point and its ABI marker symbol. Use once per plugin library,
// at global or namespace scope: CNNKIT_REGISTER_PLUGIN("conv", "1.0", conv_layer);
#define CNNKIT_REGISTER_PLUGIN(NAME, VERSION, ...)                                            \
    extern "C" CNNKIT_PLUGIN_EXPORT const unsigned CNNKIT_PP_CAT(cnnkit_abi_v,                \
                                                                 CNNKIT_ABI_VERSION_TOKEN) =  \
        CNNKIT_ABI_VERSION;                                                                   \
    extern "C" CNNKIT_PLUGIN_EXPORT const cnnkit_plugin* cnnkit_plugin_entry(void) {          \
        return ::cnnkit::sdk::detail::plugin_descriptor<__VA_ARGS__>(NAME, VERSION);          \
    }
