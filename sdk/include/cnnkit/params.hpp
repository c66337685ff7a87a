// params.hpp: reflection of a layer's plain params struct (Boost.PFR for types and order, a
// declared name list for names: Boost 1.81's PFR cannot read names), and of enum names.
#pragma once

#include <cnnkit/error.hpp>
#include <cnnkit/plugin_abi.h>

#include <boost/pfr.hpp>
#include <glm/vec2.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <type_traits>

// ---- a FOR_EACH over up to 24 arguments --------------------------------------------------
#define CNNKIT_PP_CAT_(a, b) a##b
#define CNNKIT_PP_CAT(a, b) CNNKIT_PP_CAT_(a, b)
#define CNNKIT_PP_NARG(...) CNNKIT_PP_NARG_(__VA_ARGS__, CNNKIT_PP_RSEQ())
#define CNNKIT_PP_NARG_(...) CNNKIT_PP_ARG_N(__VA_ARGS__)
#define CNNKIT_PP_ARG_N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, \
                        _17, _18, _19, _20, _21, _22, _23, _24, N, ...)                        \
    N
#define CNNKIT_PP_RSEQ() \
    24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0
#define CNNKIT_PP_E1(m, d, x) m(d, x)
#define CNNKIT_PP_E2(m, d, x, ...) m(d, x) CNNKIT_PP_E1(m, d, __VA_ARGS__)
#define CNNKIT_PP_E3(m, d, x, ...) m(d, x) CNNKIT_PP_E2(m, d, __VA_ARGS__)
#define CNNKIT_PP_E4(m, d, x, ...) m(d, x) CNNKIT_PP_E3(m, d, __VA_ARGS__)
#define CNNKIT_PP_E5(m, d, x, ...) m(d, x) CNNKIT_PP_E4(m, d, __VA_ARGS__)
#define CNNKIT_PP_E6(m, d, x, ...) m(d, x) CNNKIT_PP_E5(m, d, __VA_ARGS__)
#define CNNKIT_PP_E7(m, d, x, ...) m(d, x) CNNKIT_PP_E6(m, d, __VA_ARGS__)
#define CNNKIT_PP_E8(m, d, x, ...) m(d, x) CNNKIT_PP_E7(m, d, __VA_ARGS__)
#define CNNKIT_PP_E9(m, d, x, ...) m(d, x) CNNKIT_PP_E8(m, d, __VA_ARGS__)
#define CNNKIT_PP_E10(m, d, x, ...) m(d, x) CNNKIT_PP_E9(m, d, __VA_ARGS__)
#define CNNKIT_PP_E11(m, d, x, ...) m(d, x) CNNKIT_PP_E10(m, d, __VA_ARGS__)
#define CNNKIT_PP_E12(m, d, x, ...) m(d, x) CNNKIT_PP_E11(m, d, __VA_ARGS__)
#define CNNKIT_PP_E13(m, d, x, ...) m(d, x) CNNKIT_PP_E12(m, d, __VA_ARGS__)
#define CNNKIT_PP_E14(m, d, x, ...) m(d, x) CNNKIT_PP_E13(m, d, __VA_ARGS__)
#define CNNKIT_PP_E15(m, d, x, ...) m(d, x) CNNKIT_PP_E14(m, d, __VA_ARGS__)
#define CNNKIT_PP_E16(m, d, x, ...) m(d, x) CNNKIT_PP_E15(m, d, __VA_ARGS__)
#define CNNKIT_PP_E17(m, d, x, ...) m(d, x) CNNKIT_PP_E16(m, d, __VA_ARGS__)
#define CNNKIT_PP_E18(m, d, x, ...) m(d, x) CNNKIT_PP_E17(m, d, __VA_ARGS__)
#define CNNKIT_PP_E19(m, d, x, ...) m(d, x) CNNKIT_PP_E18(m, d, __VA_ARGS__)
#define CNNKIT_PP_E20(m, d, x, ...) m(d, x) CNNKIT_PP_E19(m, d, __VA_ARGS__)
#define CNNKIT_PP_E21(m, d, x, ...) m(d, x) CNNKIT_PP_E20(m, d, __VA_ARGS__)
#define CNNKIT_PP_E22(m, d, x, ...) m(d, x) CNNKIT_PP_E21(m, d, __VA_ARGS__)
#define CNNKIT_PP_E23(m, d, x, ...) m(d, x) CNNKIT_PP_E22(m, d, __VA_ARGS__)
#define CNNKIT_PP_E24(m, d, x, ...) m(d, x) CNNKIT_PP_E23(m, d, __VA_ARGS__)
#define CNNKIT_PP_FOR_EACH(m, d, ...) \
    CNNKIT_PP_CAT(CNNKIT_PP_E, CNNKIT_PP_NARG(__VA_ARGS__))(m, d, __VA_ARGS__)

namespace cnnkit::sdk {

// Specialised by CNNKIT_PARAM_FIELDS: names (declaration order) and member pointers.
template <class T>
struct param_fields;

// Specialised by CNNKIT_ENUM_NAMES: value i is named names[i].
template <class E>
struct enum_names;

struct no_params {};

template <class T>
concept reflected_params = requires {
    param_fields<T>::names;
    param_fields<T>::members;
};

namespace detail {
template <class T>
struct is_std_array : std::false_type {};
template <class V, std::size_t N>
struct is_std_array<std::array<V, N>> : std::true_type {};

// Kind and value count of one field type; a static_assert rejects unsupported types.
template <class F>
constexpr std::pair<cnnkit_param_kind, std::uint32_t> field_kind() {
    if constexpr (std::is_same_v<F, bool>)
        return {CNNKIT_PARAM_BOOL, 1};
    else if constexpr (std::is_enum_v<F>)
        return {CNNKIT_PARAM_ENUM, 1};
    else if constexpr (std::is_integral_v<F>)
        return {CNNKIT_PARAM_INT, 1};
    else if constexpr (std::is_floating_point_v<F>)
        return {CNNKIT_PARAM_FLOAT, 1};
    else if constexpr (std::is_same_v<F, glm::ivec2>)
        return {CNNKIT_PARAM_INT, 2};
    else if constexpr (std::is_same_v<F, glm::vec2>)
        return {CNNKIT_PARAM_FLOAT, 2};
    else if constexpr (is_std_array<F>::value) {
        using V = typename F::value_type;
        static_assert(std::is_arithmetic_v<V> && !std::is_same_v<V, bool>,
                      "std::array params hold numbers");
        static_assert(std::tuple_size_v<F> <= CNNKIT_MAX_PARAM_VALUES, "array param too long");
        return {std::is_integral_v<V> ? CNNKIT_PARAM_INT : CNNKIT_PARAM_FLOAT,
                static_cast<std::uint32_t>(std::tuple_size_v<F>)};
    } else {
        static_assert(sizeof(F) == 0,
                      "param fields are integers, floats, bool, enum class, glm::ivec2/vec2 or "
                      "std::array of numbers");
        return {CNNKIT_PARAM_INT, 0};
    }
}

template <class F>
void to_values(const F& f, double* out) {
    if constexpr (std::is_enum_v<F>)
        out[0] = static_cast<double>(static_cast<std::underlying_type_t<F>>(f));
    else if constexpr (std::is_arithmetic_v<F>)
        out[0] = static_cast<double>(f);
    else if constexpr (std::is_same_v<F, glm::ivec2> || std::is_same_v<F, glm::vec2>) {
        out[0] = f[0];
        out[1] = f[1];
    } else
        for (std::size_t i = 0; i < f.size(); ++i) out[i] = static_cast<double>(f[i]);
}

template <class F>
void from_values(F& f, const double* in) {
    if constexpr (std::is_enum_v<F>)
        f = static_cast<F>(static_cast<std::underlying_type_t<F>>(in[0]));
    else if constexpr (std::is_same_v<F, bool>)
        f = in[0] != 0.0;
    else if constexpr (std::is_arithmetic_v<F>)
        f = static_cast<F>(in[0]);
    else if constexpr (std::is_same_v<F, glm::ivec2>)
        f = glm::ivec2(static_cast<int>(in[0]), static_cast<int>(in[1]));
    else if constexpr (std::is_same_v<F, glm::vec2>)
        f = glm::vec2(static_cast<float>(in[0]), static_cast<float>(in[1]));
    else
        for (std::size_t i = 0; i < f.size(); ++i)
            f[i] = static_cast<typename F::value_type>(in[i]);
}

// Compile-time proof that the declared member list is exactly PFR's field list: same count,
// and member I of the list is PFR's field I (same address, same type).
template <class T, std::size_t... I>
consteval bool members_match(std::index_sequence<I...>) {
    constexpr auto members = param_fields<T>::members;
    T t{};
    return ((static_cast<const void*>(&boost::pfr::get<I>(t)) ==
                 static_cast<const void*>(&(t.*std::get<I>(members))) &&
             std::is_same_v<std::remove_cvref_t<decltype(boost::pfr::get<I>(t))>,
                            std::remove_cvref_t<decltype(t.*std::get<I>(members))>>) &&
            ...);
}

template <class T>
consteval bool check_fields() {
    static_assert(std::is_aggregate_v<T>, "params must be a plain aggregate struct");
    constexpr std::size_t declared = std::tuple_size_v<decltype(param_fields<T>::members)>;
    static_assert(boost::pfr::tuple_size_v<T> == declared,
                  "CNNKIT_PARAM_FIELDS must list every field of the params struct");
    return members_match<T>(std::make_index_sequence<declared>{});
}
}  // namespace detail

template <class T>
constexpr std::size_t param_count() {
    if constexpr (std::is_same_v<T, no_params>)
        return 0;
    else
        return std::tuple_size_v<decltype(param_fields<T>::members)>;
}

// The schema of T as the ABI describes it; defaults read from a value-initialised T.
template <class T>
std::array<cnnkit_param_info, param_count<T>()> make_param_info() {
    std::array<cnnkit_param_info, param_count<T>()> info{};
    if constexpr (param_count<T>() > 0) {
        const T defaults{};
        std::size_t i = 0;
        boost::pfr::for_each_field(defaults, [&](const auto& f) {
            using F = std::remove_cvref_t<decltype(f)>;
            auto [kind, count] = detail::field_kind<F>();
            cnnkit_param_info& p = info[i];
            p.name = param_fields<T>::names[i].data();
            p.kind = kind;
            p.count = count;
            if constexpr (std::is_enum_v<F>) {
                p.enum_names = enum_names<F>::names.data();
                p.enum_count = static_cast<std::uint32_t>(enum_names<F>::names.size());
            }
            detail::to_values(f, p.defaults);
            ++i;
        });
    }
    return info;
}

// Builds T from values in param_info order (the host has checked kinds, counts and ranges).
template <class T>
T params_from_values(const cnnkit_param_value* values, std::uint32_t n) {
    T t{};
    if constexpr (param_count<T>() > 0) {
        expect(n == param_count<T>(), "expected ", param_count<T>(), " param values, got ", n);
        std::size_t i = 0;
        boost::pfr::for_each_field(t, [&](auto& f) { detail::from_values(f, values[i++].v); });
    }
    return t;
}

}  // namespace cnnkit::sdk

#define CNNKIT_PP_NAME_(T, f) #f,
#define CNNKIT_PP_MEMBER_(T, f) std::make_tuple(&T::f),
#define CNNKIT_PP_ENUM_NAME_(E, v) #v,
#define CNNKIT_PP_ENUM_VALUE_(E, v) E::v,

// Declares the field names of params struct T in declaration order. A typo does not compile; a
// missing, extra or reordered field fails the static_assert below.
#define CNNKIT_PARAM_FIELDS(T, ...)                                                          \
    template <>                                                                              \
    struct cnnkit::sdk::param_fields<T> {                                                    \
        static constexpr std::array<std::string_view, CNNKIT_PP_NARG(__VA_ARGS__)> names{    \
            CNNKIT_PP_FOR_EACH(CNNKIT_PP_NAME_, T, __VA_ARGS__)};                            \
        static constexpr auto members =                                                      \
            std::tuple_cat(CNNKIT_PP_FOR_EACH(CNNKIT_PP_MEMBER_, T, __VA_ARGS__) std::tuple<>()); \
    };                                                                                       \
    static_assert(::cnnkit::sdk::detail::check_fields<T>(),                                  \
                  "CNNKIT_PARAM_FIELDS(" #T ") does not match the struct's field order/types")

// Names the values of enum class E; values must be 0, 1, 2... in this order.
#define CNNKIT_ENUM_NAMES(E, ...)                                                            \
    template <>                                                                              \
    struct cnnkit::sdk::enum_names<E> {                                                      \
        static constexpr std::array<const char*, CNNKIT_PP_NARG(__VA_ARGS__)> names{         \
            CNNKIT_PP_FOR_EACH(CNNKIT_PP_ENUM_NAME_, E, __VA_ARGS__)};                       \
        static constexpr std::array<E, CNNKIT_PP_NARG(__VA_ARGS__)> values{                  \
            CNNKIT_PP_FOR_EACH(CNNKIT_PP_ENUM_VALUE_, E, __VA_ARGS__)};                      \
        static consteval bool dense() {                                                      \
            for (std::size_t i = 0; i < values.size(); ++i)                                  \
                if (static_cast<std::size_t>(values[i]) != i) return false;                  \
            return true;                                                                     \
        }                                                                                    \
    };                                                                                       \
    static_assert(::cnnkit::sdk::enum_names<E>::dense(),                                     \
                  "CNNKIT_ENUM_NAMES(" #E ") must list values 0, 1, 2... in order")
