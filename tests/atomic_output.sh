#!/usr/bin/env bash
# atomic_output.sh CNNKIT WORK: `cnnkit run` killed while writing an output (SIGXFSZ from a
# file-size limit), failing to write one (EFBIG), or SIGKILLed at random moments never leaves a
# half-written .npy: every .npy present is complete, and a failed write leaves no temp file.
set -euo pipefail
cnnkit=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
cat > "$work/net.yaml" <<'YAML'
inputs: {x: [1, 1, 1024, 1024]}
nodes:
  - {name: small, type: pool, global: true}
  - {name: big, type: sigmoid, inputs: [x]}
outputs: {a: small, b: big}
YAML
/usr/bin/python3 -c "import numpy as np; np.save('$work/x.npy', np.random.rand(1, 1, 1024, 1024).astype('f4'))"
run() { "$cnnkit" run "$work/net.yaml" --random-weights 1 --input "x=$work/x.npy" --output-dir "$1"; }
# Every .npy in $1 must load with numpy and have the shape of its output.
complete() {
  /usr/bin/python3 - "$1" <<'PY'
import numpy as np, os, sys
want = {"a.npy": (1, 1, 1, 1), "b.npy": (1, 1, 1024, 1024)}
for f in os.listdir(sys.argv[1]):
    if f.endswith(".npy"):
        a = np.load(os.path.join(sys.argv[1], f))
        assert a.shape == want[f], f"{f}: shape {a.shape}"
PY
}
fail() { echo "FAIL: $*"; exit 1; }

# 1. Killed by SIGXFSZ in the middle of writing b (2 MiB allowed, b needs 4 MiB).
status=0
(ulimit -f 2048; run "$work/o1") > "$work/o1.log" 2>&1 || status=$?
[ "$status" -eq $((128 + 25)) ] || fail "expected death by SIGXFSZ, got status $status"
[ -f "$work/o1/a.npy" ] || fail "a.npy (written before the kill) is missing"
[ ! -e "$work/o1/b.npy" ] || fail "a half-written b.npy exists"
complete "$work/o1" || fail "incomplete .npy after SIGXFSZ"

# 2. The same limit with SIGXFSZ ignored: the write fails (EFBIG), a clean error, no temp file.
status=0
(trap '' XFSZ; ulimit -f 2048; run "$work/o2") > "$work/o2.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "expected exit 1 on a failed write, got $status"
grep -q "b.npy: write failed: File too large" "$work/o2.log" || fail "message: $(cat "$work/o2.log")"
[ ! -e "$work/o2/b.npy" ] || fail "a half-written b.npy exists"
[ -z "$(ls "$work/o2" | grep -v '^a.npy$')" ] || fail "left behind: $(ls "$work/o2")"

# 3. SIGKILL at random moments of 10 runs: whatever .npy exists is complete.
for i in $(seq 1 10); do
  run "$work/o3" > /dev/null 2>&1 &
  pid=$!
  sleep "0.$((RANDOM % 30))"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  complete "$work/o3" || fail "incomplete .npy after SIGKILL in run $i"
done
echo "atomic outputs: SIGXFSZ, EFBIG and 10 random SIGKILLs left no half-written .npy"
