// spirv16.cpp: the SPIR-V rewrite behind fp16 storage (see spirv16.hpp), and host conversions.
#include "backends/vulkan/spirv16.hpp"

#include <bit>
#include <cmath>
#include <cnnkit/error.hpp>
#include <cstring>
#include <map>
#include <set>
#include <string>

namespace cnnkit::kernel::vk {

std::uint16_t to_half(float f) {
    const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
    const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
    const std::uint32_t a = x & 0x7fffffffu;
    if (a >= 0x7f800000u) return sign | (a > 0x7f800000u ? 0x7e00u : 0x7c00u);  // NaN, inf
    if (a >= 0x477ff000u) return sign | 0x7c00u;  // 65520 and up round to inf
    if (a < 0x38800000u)                          // below 2^-14: a subnormal half (exact scaling)
        return sign | static_cast<std::uint16_t>(std::nearbyint(std::bit_cast<float>(a) * 16777216.0f));
    std::uint32_t h = (a - 0x38000000u) >> 13;
    const std::uint32_t rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // to nearest, ties to even
    return sign | static_cast<std::uint16_t>(h);
}

float from_half(std::uint16_t h) {
    const std::uint32_t sign = (h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        const float v = static_cast<float>(m) / 16777216.0f;
        return sign ? -v : v;
    }
    if (e == 31) return std::bit_cast<float>(sign | 0x7f800000u | (m << 13));
    return std::bit_cast<float>(sign | ((e + 112) << 23) | (m << 13));
}

namespace {

// The opcodes, decorations and enums the rewrite reads or writes (SPIR-V 1.3 unified spec).
enum : std::uint32_t {
    op_extension = 10,
    op_capability = 17,
    op_type_int = 21,
    op_type_float = 22,
    op_type_vector = 23,
    op_type_runtime_array = 29,
    op_type_struct = 30,
    op_type_pointer = 32,
    op_function = 54,
    op_function_call = 57,
    op_variable = 59,
    op_load = 61,
    op_store = 62,
    op_copy_memory = 63,
    op_copy_memory_sized = 64,
    op_access_chain = 65,
    op_in_bounds_access_chain = 66,
    op_ptr_access_chain = 67,
    op_in_bounds_ptr_access_chain = 70,
    op_decorate = 71,
    op_member_decorate = 72,
    op_u_convert = 113,
    op_s_convert = 114,
    op_f_convert = 115,
    op_copy_object = 83,
    op_select = 169,
    op_phi = 245,
    decoration_array_stride = 6,
    decoration_binding = 33,
    decoration_descriptor_set = 34,
    capability_storage_buffer_16 = 4433,
};
constexpr bool is_atomic(std::uint32_t op) { return (op >= 227 && op <= 242) || op == 318 || op == 319; }

using instruction = std::vector<std::uint32_t>;

struct rewriter {
    std::vector<instruction> code;  // everything after the 5-word header
    std::uint32_t header[5];
    std::map<std::uint32_t, std::size_t> defs;  // result id -> instruction index (types, vars)
    std::vector<instruction> new_types, new_decorations;
    std::map<std::uint32_t, std::uint32_t> narrow_type;                       // 32-bit -> 16-bit
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> pointers;  // (class, pointee)
    std::map<std::uint32_t, std::uint32_t> chain_pointee;  // chain into a narrowed buffer -> 32-bit type

    std::uint32_t fresh() { return header[3]++; }
    const instruction& def(std::uint32_t id) const {
        const auto it = defs.find(id);
        if (it == defs.end()) throw error(cat("SPIR-V: id %", id, " has no type definition"));
        return code[it->second];
    }

    // The 16-bit twin of a 32-bit int / float scalar or vector type.
    std::uint32_t narrow(std::uint32_t t) {
        if (const auto it = narrow_type.find(t); it != narrow_type.end()) return it->second;
        const instruction& d = def(t);
        instruction n;
        const std::uint32_t op = d[0] & 0xffff;
        if ((op == op_type_float || op == op_type_int) && d[2] == 32) {
            n = d;
            n[1] = 0;
            n[2] = 16;
            // One 16-bit type per opcode and signedness: reuse an existing declaration.
            for (const auto* list : {&code, &new_types})
                for (const auto& x : *list)
                    if (x[0] == n[0] && x[2] == 16 && (op == op_type_float || x[3] == n[3]))
                        return narrow_type[t] = x[1];
        } else if (op == op_type_vector) {
            n = {d[0], 0, narrow(d[2]), d[3]};
        } else {
            throw error(cat("SPIR-V: a narrowed storage buffer holds a type (opcode ", op,
                            ") other than 32-bit scalars and vectors"));
        }
        n[1] = fresh();
        new_types.push_back(n);
        return narrow_type[t] = n[1];
    }
    std::uint32_t pointer(std::uint32_t storage_class, std::uint32_t pointee) {
        auto& p = pointers[{storage_class, pointee}];
        if (!p) {
            p = fresh();
            new_types.push_back({(4u << 16) | op_type_pointer, p, storage_class, pointee});
        }
        return p;
    }
    // The conversion between a 32-bit type and its twin: by the component type.
    std::uint32_t convert_op(std::uint32_t t) const {
        const instruction& d = def(t);
        if ((d[0] & 0xffff) == op_type_vector) return convert_op(d[2]);
        if ((d[0] & 0xffff) == op_type_float) return op_f_convert;
        return d[3] ? op_s_convert : op_u_convert;
    }
    std::uint32_t components(std::uint32_t t) const {
        const instruction& d = def(t);
        return (d[0] & 0xffff) == op_type_vector ? d[3] : 1;
    }
};

}  // namespace

std::vector<std::uint32_t> narrow_storage(std::span<const std::uint32_t> spirv,
                                          std::uint32_t bindings) {
    if (spirv.size() < 5 || spirv[0] != 0x07230203u) throw error("SPIR-V: not a SPIR-V module");
    rewriter r;
    std::memcpy(r.header, spirv.data(), sizeof r.header);
    for (std::size_t i = 5; i < spirv.size();) {
        const std::uint32_t n = spirv[i] >> 16;
        if (n == 0 || i + n > spirv.size()) throw error("SPIR-V: truncated instruction");
        r.code.emplace_back(spirv.begin() + static_cast<std::ptrdiff_t>(i),
                            spirv.begin() + static_cast<std::ptrdiff_t>(i + n));
        i += n;
    }
    // Definitions (types and variables), and the variables at the chosen set-0 bindings.
    std::map<std::uint32_t, std::uint32_t> binding, set;
    std::size_t first_function = r.code.size(), last_annotation = 0, first_global = 0;
    bool has_capability = false;
    for (std::size_t i = 0; i < r.code.size(); ++i) {
        const instruction& x = r.code[i];
        const std::uint32_t op = x[0] & 0xffff;
        if (op == op_function && first_function == r.code.size()) first_function = i;
        if (i >= first_function) continue;
        if (op == op_capability && x[1] == capability_storage_buffer_16) has_capability = true;
        if (op == op_decorate || op == op_member_decorate) last_annotation = i;
        if (op == op_decorate && x[2] == decoration_binding) binding[x[1]] = x[3];
        if (op == op_decorate && x[2] == decoration_descriptor_set) set[x[1]] = x[3];
        if ((op >= op_type_int && op <= op_type_pointer) || op == op_variable)
            r.defs[op == op_variable ? x[2] : x[1]] = i;
        if (op == op_variable && !first_global) first_global = i;
    }
    std::set<std::uint32_t> narrowed;             // pointers into narrowed buffers
    std::map<std::uint32_t, std::uint32_t> block;  // struct -> its 16-bit twin
    for (const auto& [var, b] : binding) {
        if (b >= 32 || !(bindings >> b & 1u) || set[var] != 0) continue;
        instruction& v = r.code[r.defs.at(var)];
        const instruction& ptr = r.def(v[1]);
        const instruction& st = r.def(ptr[3]);
        if ((st[0] & 0xffff) != op_type_struct || st.size() != 3)
            throw error(cat("SPIR-V: binding ", b, " is not a block of one array"));
        const instruction& arr = r.def(st[2]);
        if ((arr[0] & 0xffff) != op_type_runtime_array)
            throw error(cat("SPIR-V: binding ", b, " is not a runtime array"));
        auto& twin = block[st[1]];
        if (!twin) {
            const std::uint32_t elem = r.narrow(arr[2]);
            const std::uint32_t arr16 = r.fresh();
            r.new_types.push_back({(3u << 16) | op_type_runtime_array, arr16, elem});
            twin = r.fresh();
            r.new_types.push_back({(3u << 16) | op_type_struct, twin, arr16});
            r.new_decorations.push_back({(4u << 16) | op_decorate, arr16, decoration_array_stride,
                                         2 * r.components(arr[2])});
            for (std::size_t i = 0; i <= last_annotation; ++i) {  // the block's own decorations
                const instruction& x = r.code[i];
                const std::uint32_t op = x[0] & 0xffff;
                if ((op == op_decorate || op == op_member_decorate) && x[1] == st[1]) {
                    instruction d = x;
                    d[1] = twin;
                    r.new_decorations.push_back(d);
                }
            }
        }
        v[1] = r.pointer(ptr[2], twin);
        narrowed.insert(var);
    }
    if (narrowed.empty()) return {spirv.begin(), spirv.end()};
    // Function bodies: chains into narrowed buffers point at 16-bit elements; loads widen,
    // stores narrow.
    std::vector<instruction> body;
    for (std::size_t i = first_function; i < r.code.size(); ++i) {
        instruction x = r.code[i];
        const std::uint32_t op = x[0] & 0xffff;
        if ((op == op_access_chain || op == op_in_bounds_access_chain) && narrowed.count(x[3])) {
            const instruction& p = r.def(x[1]);
            const std::uint32_t pointee = p[3];
            const std::uint32_t pop = r.def(pointee)[0] & 0xffff;
            if (pop != op_type_float && pop != op_type_int && pop != op_type_vector)
                throw error("SPIR-V: a chain into a narrowed buffer stops above its elements");
            x[1] = r.pointer(p[2], r.narrow(pointee));
            narrowed.insert(x[2]);
            r.chain_pointee[x[2]] = pointee;
            body.push_back(x);
            continue;
        }
        if (op == op_load && narrowed.count(x[3])) {
            const std::uint32_t wide = x[1], result = x[2], tmp = r.fresh();
            x[1] = r.narrow(wide);
            x[2] = tmp;
            body.push_back(x);
            body.push_back({(4u << 16) | r.convert_op(wide), wide, result, tmp});
            continue;
        }
        if (op == op_store && narrowed.count(x[1])) {
            const std::uint32_t wide = r.chain_pointee.at(x[1]), tmp = r.fresh();
            body.push_back({(4u << 16) | r.convert_op(wide), r.narrow(wide), tmp, x[2]});
            x[2] = tmp;
            body.push_back(x);
            continue;
        }
        if (is_atomic(op) || op == op_copy_memory || op == op_copy_memory_sized ||
            op == op_ptr_access_chain || op == op_in_bounds_ptr_access_chain ||
            op == op_function_call || op == op_copy_object || op == op_select || op == op_phi)
            for (std::size_t k = 1; k < x.size(); ++k)
                if (narrowed.count(x[k]))
                    throw error(cat("SPIR-V: opcode ", op,
                                    " uses a narrowed storage buffer; only loads and stores "
                                    "through access chains can be rewritten"));
        body.push_back(std::move(x));
    }
    // Reassemble: capability and extension, annotations, new types before the first global
    // variable, then the rewritten functions.
    std::vector<std::uint32_t> out(r.header, r.header + 5);
    auto put = [&](const instruction& x) { out.insert(out.end(), x.begin(), x.end()); };
    bool capped = false;
    for (std::size_t i = 0; i < first_function; ++i) {
        const std::uint32_t op = r.code[i][0] & 0xffff;
        if (!capped && op != op_capability) {
            if (!has_capability) put({(2u << 16) | op_capability, capability_storage_buffer_16});
            const char name[] = "SPV_KHR_16bit_storage";  // 21 characters + NUL: 6 words
            instruction e(7, 0);
            e[0] = (7u << 16) | op_extension;
            std::memcpy(&e[1], name, sizeof name);
            put(e);
            capped = true;
        }
        if (i == first_global)
            for (const auto& t : r.new_types) put(t);
        put(r.code[i]);
        if (i == last_annotation)
            for (const auto& d : r.new_decorations) put(d);
    }
    for (const auto& x : body) put(x);
    out[3] = r.header[3];
    return out;
}

}  // namespace cnnkit::kernel::vk
