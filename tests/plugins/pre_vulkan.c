/* pre_vulkan.c: a plugin built before the ABI gained `vulkan`: its struct_size ends at `expand`.
 * The bytes after it hold junk, so a host that read past struct_size would crash. */
#include <cnnkit/plugin_abi.h>

#include <string.h>

CNNKIT_PLUGIN_EXPORT const unsigned cnnkit_abi_v1 = CNNKIT_ABI_VERSION;

static int dummy;

static cnnkit_status create(const cnnkit_param_value* v, uint32_t n, void** self,
                            cnnkit_diag* d) {
    (void)v, (void)n, (void)d;
    *self = &dummy;
    return CNNKIT_STATUS_OK;
}
static void destroy(void* self) { (void)self; }
static cnnkit_status infer(const void* self, const cnnkit_shape* in, uint32_t n_in,
                           cnnkit_shape* out, uint32_t cap, uint32_t* n_out, cnnkit_diag* d) {
    (void)self, (void)n_in, (void)cap, (void)d;
    out[0] = in[0];
    *n_out = 1;
    return CNNKIT_STATUS_OK;
}
static cnnkit_status run_cpu(const void* self, const cnnkit_host* host, const cnnkit_tensor* in,
                             uint32_t n_in, const cnnkit_tensor* w, uint32_t n_w,
                             cnnkit_tensor* out, uint32_t n_out, void* ws, cnnkit_diag* d) {
    (void)self, (void)host, (void)n_in, (void)w, (void)n_w, (void)n_out, (void)ws, (void)d;
    size_t n = 1;
    for (uint32_t i = 0; i < in[0].shape.rank; ++i) n *= (size_t)in[0].shape.dims[i];
    memmove(out[0].data, in[0].data, n * sizeof(float));
    return CNNKIT_STATUS_OK;
}

static cnnkit_layer_api layer;
static const cnnkit_layer_api* layers[] = {&layer};
static const cnnkit_plugin plugin = {CNNKIT_ABI_VERSION, sizeof(cnnkit_plugin), "pre_vulkan",
                                     "1.0", layers, 1};

CNNKIT_PLUGIN_EXPORT const cnnkit_plugin* cnnkit_plugin_entry(void) {
    layer.struct_size = (uint32_t)offsetof(cnnkit_layer_api, vulkan);
    layer.type = "test_identity_v1";
    layer.doc = "identity, from a plugin older than the vulkan field";
    layer.create = create;
    layer.destroy = destroy;
    layer.infer = infer;
    layer.run_cpu = run_cpu;
    memset((char*)&layer + layer.struct_size, 0x5a, sizeof layer - layer.struct_size);
    return &plugin;
}
