// cnnkit.hpp: everything a plugin author includes.
#pragma once

#include <cnnkit/error.hpp>
#include <cnnkit/host.hpp>
#include <cnnkit/layer.hpp>
#include <cnnkit/params.hpp>
#include <cnnkit/plugin_abi.h>
#include <cnnkit/tensor.hpp>
