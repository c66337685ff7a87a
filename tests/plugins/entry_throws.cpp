// entry_throws.cpp: a plugin whose registration (its entry point) throws, or with
// CNNKIT_TEST_ENTRY_NULL set returns no descriptor: the host refuses it and stays usable.
#include <cnnkit/plugin_abi.h>

#include <cstdlib>
#include <stdexcept>

extern "C" CNNKIT_PLUGIN_EXPORT const unsigned cnnkit_abi_v1 = 1;

extern "C" CNNKIT_PLUGIN_EXPORT const cnnkit_plugin* cnnkit_plugin_entry(void) {
    if (std::getenv("CNNKIT_TEST_ENTRY_NULL")) return nullptr;
    throw std::runtime_error("deliberate failure in registration");
}
