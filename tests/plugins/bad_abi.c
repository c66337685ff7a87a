/* bad_abi.c: a plugin that claims ABI 99; its constructor leaves a marker if it ever runs. */
#include <cnnkit/plugin_abi.h>

#include <stdio.h>
#include <stdlib.h>

CNNKIT_PLUGIN_EXPORT const unsigned cnnkit_abi_v99 = 99;

__attribute__((constructor)) static void mark_loaded(void) {
    const char* path = getenv("CNNKIT_TEST_MARKER");
    if (path) {
        FILE* f = fopen(path, "w");
        if (f) fclose(f);
    }
}

static const cnnkit_plugin plugin = {99u, sizeof(cnnkit_plugin), "bad_abi", "0", NULL, 0};
CNNKIT_PLUGIN_EXPORT const cnnkit_plugin* cnnkit_plugin_entry(void) { return &plugin; }
