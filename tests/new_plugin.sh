#!/usr/bin/env bash
# new_plugin.sh BUILD_DIR: `cnnkit new-plugin` scaffolds a folder that, unchanged, builds against
# the installed SDK, passes its own Catch2 test, loads with --plugins and computes x*scale+shift.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$build/new-plugin
rm -rf "$work"; mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cnnkit=$work/prefix/bin/cnnkit
"$cnnkit" new-plugin my_scale --dir "$work/my_scale" >"$work/log"
grep -q "created $work/my_scale/my_scale_test.cpp" "$work/log"
# Refusals: a non-empty folder, a name that cannot be a type and a namespace.
if "$cnnkit" new-plugin my_scale --dir "$work/my_scale" 2>"$work/err"; then exit 1; fi
grep -q "folder exists and is not empty" "$work/err"
if "$cnnkit" new-plugin 9Lives --dir "$work/x" 2>"$work/err"; then exit 1; fi
grep -q "plugin name '9Lives': use lower case" "$work/err"
test ! -e "$work/x"
if "$cnnkit" new-plugin relu --dir "$work/x" 2>"$work/err"; then exit 1; fi
grep -q "a layer type 'relu' exists already (.*libcnnkit_activation.so)" "$work/err"
test ! -e "$work/x"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$work/my_scale" -B "$work/my_scale/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
ninja -C "$work/my_scale/build" >/dev/null
ctest --test-dir "$work/my_scale/build" --output-on-failure >"$work/ctest.log"
grep -q "100% tests passed, 0 tests failed out of 1" "$work/ctest.log"
"$cnnkit" layers my_scale --plugins "$work/my_scale/build" >"$work/layers.log"
grep -q "shift" "$work/layers.log"
/usr/bin/python3 -c "
import numpy as np, sys
np.save('$work/x.npy', np.random.default_rng(2).standard_normal((1, 3, 8, 8), dtype=np.float32))"
"$cnnkit" run "$work/my_scale/net.yaml" --plugins "$work/my_scale/build" --random-weights 1 \
  --input image="$work/x.npy" --output-dir "$work/out" >/dev/null
printf 'inputs: {image: [1, 3, 8, 8]}\nnodes: [{type: my_scale, scale: -3, shift: 0.25}]\n' \
  >"$work/alone.yaml"
"$cnnkit" run "$work/alone.yaml" --plugins "$work/my_scale/build" --input image="$work/x.npy" \
  --output-dir "$work/out2" >/dev/null
/usr/bin/python3 -c "
import numpy as np
x = np.load('$work/x.npy'); y = np.load('$work/out2/out.npy'); n = np.load('$work/out/out.npy')
assert np.allclose(y, x * -3 + 0.25, rtol=1e-6, atol=1e-6), abs(y - (x * -3 + 0.25)).max()
assert n.shape == (1, 4, 8, 8)"
echo "new-plugin: scaffolded, built against the installed SDK, its test passed, loaded, ran"
