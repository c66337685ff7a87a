#!/usr/bin/env bash
# example_plugin.sh BUILD_DIR SOURCE_DIR: installs the SDK, builds examples/custom_plugin against
# the installed copy only, loads it with --plugins, and checks swish against numpy.
set -euo pipefail
build=$1; src=$2
work=$build/example-plugin
rm -rf "$work"; mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/custom_plugin" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
ninja -C "$work/build" >/dev/null
test -f "$work/build/libcnnkit_swish.so"
# The installed host finds its own plugins and the example's through --plugins.
"$work/prefix/bin/cnnkit" layers swish --plugins "$work/build" | grep -q "beta"
/usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(1)
np.save(sys.argv[1] + "/x.npy", rng.standard_normal((1, 3, 16, 16), dtype=np.float32))
np.save(sys.argv[1] + "/x2.npy", rng.standard_normal((2, 3, 5, 7), dtype=np.float32))
PY
"$work/prefix/bin/cnnkit" run "$src/examples/custom_plugin/net.yaml" --plugins "$work/build" \
  --random-weights 3 --input image="$work/x.npy" --output-dir "$work/out" >/dev/null
test -f "$work/out/out.npy"
# Swish alone, checked against numpy's formula.
printf 'inputs: {image: [2, 3, 5, 7]}\nnodes: [{name: s, type: swish, beta: 1.5}]\n' >"$work/swish.yaml"
"$work/prefix/bin/cnnkit" run "$work/swish.yaml" --plugins "$work/build" --input image="$work/x2.npy" \
  --output-dir "$work/out2" >/dev/null
/usr/bin/python3 - "$work" <<'PY'
import sys, numpy as np
x = np.load(sys.argv[1] + "/x2.npy"); y = np.load(sys.argv[1] + "/out2/out.npy")
want = x / (1 + np.exp(-1.5 * x))
assert y.shape == want.shape and np.allclose(y, want, rtol=1e-5, atol=1e-6), np.abs(y - want).max()
PY
# Without --plugins the type is unknown: a clear error and exit 1.
if "$work/prefix/bin/cnnkit" check "$src/examples/custom_plugin/net.yaml" 2>"$work/err"; then
  echo "expected failure without --plugins"; exit 1
fi
grep -q "unknown layer type 'swish'" "$work/err"
echo "example plugin: built against the installed SDK, loaded, ran"
