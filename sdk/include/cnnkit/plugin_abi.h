/* plugin_abi.h: the versioned C ABI between the cnnkit host and a layer plugin (C only). */
/* Change it additively: new fields go last (struct_size tells the reader what is there); a
 * replaced function gets a "2" twin. A plugin built against another ABI version is refused. */
#ifndef CNNKIT_PLUGIN_ABI_H
#define CNNKIT_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CNNKIT_ABI_VERSION 1u
#define CNNKIT_ABI_VERSION_TOKEN 1 /* the same number, for token pasting */
#define CNNKIT_MAX_RANK 8
#define CNNKIT_MAX_PARAM_VALUES 16

#if defined(_WIN32)
#define CNNKIT_PLUGIN_EXPORT __declspec(dllexport)
#else
#define CNNKIT_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

typedef enum cnnkit_status {
    CNNKIT_STATUS_OK = 0,
    CNNKIT_STATUS_BAD_PARAM,
    CNNKIT_STATUS_BAD_SHAPE,
    CNNKIT_STATUS_UNSUPPORTED,
    CNNKIT_STATUS_NO_MEMORY,
    CNNKIT_STATUS_INTERNAL
} cnnkit_status;

/* Host-owned; a plugin writes a NUL-terminated message into it when it returns non-OK. */
typedef struct cnnkit_diag {
    char text[512];
} cnnkit_diag;

typedef enum cnnkit_dtype { CNNKIT_DTYPE_F32 = 0, CNNKIT_DTYPE_I64 = 1 } cnnkit_dtype;

/* A tensor's type and extent. Public tensors are NCHW; rank is 1..CNNKIT_MAX_RANK. */
typedef struct cnnkit_shape {
    uint32_t rank;
    uint32_t dtype; /* cnnkit_dtype */
    int64_t dims[CNNKIT_MAX_RANK];
} cnnkit_shape;

/* A dense, contiguous, row-major view. The host owns `data`. */
typedef struct cnnkit_tensor {
    cnnkit_shape shape;
    void* data;
} cnnkit_tensor;

typedef enum cnnkit_param_kind {
    CNNKIT_PARAM_INT = 0,
    CNNKIT_PARAM_FLOAT,
    CNNKIT_PARAM_BOOL,
    CNNKIT_PARAM_ENUM
} cnnkit_param_kind;

/* One reflected field of a layer's params struct. `count` values: 1 for a scalar, 2 for an
 * ivec2, N for std::array<_, N>. Enum values are indices into enum_names. */
typedef struct cnnkit_param_info {
    const char* name;
    uint32_t kind; /* cnnkit_param_kind */
    uint32_t count;
    const char* const* enum_names;
    uint32_t enum_count;
    double defaults[CNNKIT_MAX_PARAM_VALUES];
} cnnkit_param_info;

/* A parsed value for one field, in param_info order. Integers are exact up to 2^53. */
typedef struct cnnkit_param_value {
    double v[CNNKIT_MAX_PARAM_VALUES];
    uint32_t count;
} cnnkit_param_value;

/* How `--random-weights` fills a weight the user did not supply. */
typedef enum cnnkit_weight_init {
    CNNKIT_INIT_FAN_IN = 0, /* uniform in +-1/sqrt(fan_in), fan_in = numel / dims[0] */
    CNNKIT_INIT_ZERO,
    CNNKIT_INIT_ONE,
    CNNKIT_INIT_POSITIVE /* uniform in [0.5, 1.5): variances, scales */
} cnnkit_weight_init;

/* Or'ed into cnnkit_weight_desc.init: the tensor is state, not a learned parameter (batch
 * norm's running statistics: PyTorch's buffers). A flag bit in the existing field, not a new field
 * appended to cnnkit_weight_desc, because the host hands plugins an array of descriptors: a larger
 * struct would change the stride older plugins index it with. Older plugins never set the bit, so
 * their weights stay learnable; the low byte keeps the init mode. */
#define CNNKIT_WEIGHT_BUFFER 0x100u
#define CNNKIT_WEIGHT_INIT_MASK 0xffu

typedef struct cnnkit_weight_desc {
    char name[64]; /* relative: "weight", "bias"; the host prefixes the node path */
    cnnkit_shape shape;
    uint32_t init; /* cnnkit_weight_init, optionally | CNNKIT_WEIGHT_BUFFER */
} cnnkit_weight_desc;

/* The arithmetic a network was loaded for (`cnnkit run --precision`). Under BF16 a layer may
 * round its weights (and only its weights) to bfloat16 where that makes it faster, keeping float32
 * inputs, outputs and accumulation; a layer that ignores the setting stays exact float32. */
typedef enum cnnkit_precision { CNNKIT_PRECISION_F32 = 0, CNNKIT_PRECISION_BF16 = 1 } cnnkit_precision;

/* What prepare2 gets besides the weights. New fields go last; struct_size says what is there. */
typedef struct cnnkit_prepare_options {
    uint32_t struct_size;
    uint32_t precision; /* cnnkit_precision */
} cnnkit_prepare_options;

/* Services the host lends a plugin during run_cpu. Valid only for the duration of the call. */
typedef struct cnnkit_host {
    uint32_t struct_size;
    void* ctx;
    /* Runs body(user, b, e) over [begin, end) in chunks of about `grain`, in the host's arena. */
    void (*parallel_for)(void* ctx, int64_t begin, int64_t end, int64_t grain,
                         void (*body)(void* user, int64_t b, int64_t e), void* user);
    /* Row-major C = alpha * op(A) * op(B) + beta * C, op = transpose when trans_* != 0. Runs
     * single-threaded on the caller: callers tile it with parallel_for. */
    void (*sgemm)(void* ctx, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
                  float beta, float* c, int64_t ldc);
    void (*log)(void* ctx, int level, const char* message); /* 0 debug, 1 info, 2 warning */
} cnnkit_host;

/* Lets a composite layer emit a subgraph of other layers. Inside an expansion, "@0", "@1"...
 * name the composite's inputs and a node's name names its first output ("name:1" the second). */
typedef struct cnnkit_builder {
    uint32_t struct_size;
    void* ctx;
    /* params_yaml is a YAML flow map such as "{out_channels: 64, kernel: 3}". */
    cnnkit_status (*add_node)(void* ctx, const char* name, const char* type,
                              const char* params_yaml, const char* const* inputs,
                              uint32_t n_inputs, cnnkit_diag* diag);
    cnnkit_status (*set_output)(void* ctx, const char* tensor, cnnkit_diag* diag);
} cnnkit_builder;

/* ---- Vulkan compute kernels, described by plugins and built by the host's backend ---- */
#define CNNKIT_GPU_MAX_BINDINGS 8
#define CNNKIT_GPU_MAX_SPEC 16
#define CNNKIT_GPU_MAX_PUSH 128 /* bytes: the minimum every Vulkan device guarantees */

/* What storage buffer binding i of descriptor set 0 refers to. int64 tensors are bound as
 * pairs of 32-bit words (low word first). */
typedef enum cnnkit_gpu_ref {
    CNNKIT_GPU_INPUT = 0,
    CNNKIT_GPU_OUTPUT,
    CNNKIT_GPU_WEIGHT
} cnnkit_gpu_ref;

typedef struct cnnkit_gpu_binding {
    uint32_t ref;   /* cnnkit_gpu_ref */
    uint32_t index; /* which input, output or weight (declaration order) */
} cnnkit_gpu_binding;

/* One compute dispatch. `spirv` points to static storage inside the plugin (it lives as long
 * as the library). Specialization constant `constant_id = i` takes spec[i] (32-bit); the push
 * constant block is `push` (std430, set by the SDK from a reflected struct). */
typedef struct cnnkit_gpu_dispatch {
    uint32_t struct_size;
    const char* name; /* the shader's name, for --explain and errors */
    const uint32_t* spirv;
    uint32_t spirv_words;
    uint32_t binding_count;
    cnnkit_gpu_binding bindings[CNNKIT_GPU_MAX_BINDINGS];
    uint32_t spec_count;
    uint32_t spec[CNNKIT_GPU_MAX_SPEC];
    uint32_t push_bytes;
    uint8_t push[CNNKIT_GPU_MAX_PUSH];
    uint32_t groups[3]; /* workgroup counts, each <= 65535 */
} cnnkit_gpu_dispatch;

#define CNNKIT_LAYER_IN_PLACE 1u  /* output 0 may alias input 0 */
#define CNNKIT_LAYER_COMPOSITE 2u /* expands into other layers; has no kernels of its own */

typedef struct cnnkit_layer_api {
    uint32_t struct_size;
    const char* type; /* "conv": the YAML type name */
    const char* doc;  /* one line */
    uint32_t flags;   /* CNNKIT_LAYER_* */
    const cnnkit_param_info* params;
    uint32_t param_count;
    cnnkit_status (*create)(const cnnkit_param_value* values, uint32_t n, void** self,
                            cnnkit_diag* diag);
    void (*destroy)(void* self);
    cnnkit_status (*infer)(const void* self, const cnnkit_shape* in, uint32_t n_in,
                           cnnkit_shape* out, uint32_t out_capacity, uint32_t* n_out,
                           cnnkit_diag* diag);
    /* Optional (NULL = no weights). */
    cnnkit_status (*weights)(const void* self, const cnnkit_shape* in, uint32_t n_in,
                             cnnkit_weight_desc* out, uint32_t capacity, uint32_t* n,
                             cnnkit_diag* diag);
    /* Optional: bytes of scratch the CPU kernel needs for these input shapes. */
    cnnkit_status (*workspace)(const void* self, const cnnkit_shape* in, uint32_t n_in,
                               uint64_t* bytes, cnnkit_diag* diag);
    /* Optional: multiply-adds for these input shapes (for `cnnkit check`). */
    cnnkit_status (*macs)(const void* self, const cnnkit_shape* in, uint32_t n_in,
                          int64_t* macs, cnnkit_diag* diag);
    /* NULL for composite layers. Thread-safe: called concurrently with distinct tensors. */
    cnnkit_status (*run_cpu)(const void* self, const cnnkit_host* host, const cnnkit_tensor* in,
                             uint32_t n_in, const cnnkit_tensor* weights, uint32_t n_weights,
                             cnnkit_tensor* out, uint32_t n_out, void* workspace,
                             cnnkit_diag* diag);
    /* Composite layers only. */
    cnnkit_status (*expand)(const void* self, const cnnkit_shape* in, uint32_t n_in,
                            const cnnkit_builder* builder, cnnkit_diag* diag);
    /* ---- appended (read only when struct_size covers it) ---- */
    /* Optional: the Vulkan compute dispatches of this layer for these shapes, in order (each
     * sees the previous one's writes). CNNKIT_STATUS_UNSUPPORTED (diag says why) = no Vulkan
     * kernel for this configuration: the node runs on the CPU. The plugin never touches Vulkan. */
    cnnkit_status (*vulkan)(const void* self, const cnnkit_shape* in, uint32_t n_in,
                            const cnnkit_shape* out, uint32_t n_out, cnnkit_gpu_dispatch* d,
                            uint32_t capacity, uint32_t* n, cnnkit_diag* diag);
    /* Optional: the host calls it once this layer object's weights are final (after load-time
     * fusion, e.g. batch norm folded into a conv) and again whenever they change, before run_cpu
     * sees them, and never concurrently with run_cpu on the same object. The layer may keep data
     * derived from the weights (packed or transformed filters) in `self`; it allocates at most
     * here, not in run_cpu. run_cpu must stay correct when prepare was never called (a host
     * that predates it). Weights are in declaration order, as run_cpu receives them. */
    cnnkit_status (*prepare)(void* self, const cnnkit_shape* in, uint32_t n_in,
                             const cnnkit_tensor* weights, uint32_t n_weights, cnnkit_diag* diag);
    /* Optional: prepare with the network's load options (precision). A host that knows it calls
     * prepare2 instead of prepare when both are set; an older host calls prepare, and the layer
     * then runs as if loaded with default options (float32). */
    cnnkit_status (*prepare2)(void* self, const cnnkit_shape* in, uint32_t n_in,
                              const cnnkit_tensor* weights, uint32_t n_weights,
                              const cnnkit_prepare_options* options, cnnkit_diag* diag);
} cnnkit_layer_api;

typedef struct cnnkit_plugin {
    uint32_t abi_version; /* read first; everything below depends on it */
    uint32_t struct_size;
    const char* name;
    const char* version;
    const cnnkit_layer_api* const* layers;
    uint32_t layer_count;
} cnnkit_plugin;

/* The one entry point. A plugin also exports a data symbol named cnnkit_abi_v<N> so the host can
 * read N from the file's symbol table before any of the plugin's code runs. */
typedef const cnnkit_plugin* (*cnnkit_plugin_entry_fn)(void);
#define CNNKIT_PLUGIN_ENTRY_NAME "cnnkit_plugin_entry"
#define CNNKIT_ABI_SYMBOL_PREFIX "cnnkit_abi_v"

#ifdef __cplusplus
}
#endif

#endif /* CNNKIT_PLUGIN_ABI_H */
