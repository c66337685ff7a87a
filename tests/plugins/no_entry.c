/* no_entry.c: declares the right ABI but exports no entry point. */
#include <cnnkit/plugin_abi.h>

CNNKIT_PLUGIN_EXPORT const unsigned cnnkit_abi_v1 = 1;
