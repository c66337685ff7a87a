"""bench_test.py BUILD SOURCE: `cnnkit bench` statistics, JSON, progress (tty and not) and
`cnnkit profile`'s table and Chrome trace (one span per node per run)."""
import json
import os
import pty
import re
import subprocess
from common import BUILD, SOURCE, CNNKIT, cnnkit, check, temp_dir

d = temp_dir("bench")
lenet = f"{SOURCE}/configs/lenet5.yaml"
num = lambda s: int(s.replace(",", ""))

# What `check` says at batch 2: the multiply-adds and the arena that bench must report.
out = cnnkit("check", lenet, "--batch", "2")
macs = num(re.search(r"([\d,]+) multiply-adds", out).group(1))
arena = num(re.search(r"memory: ([\d,]+) bytes arena", out).group(1))

p = subprocess.run([CNNKIT, "bench", lenet, "--runs", "7", "--warmup", "2", "--batch", "2",
                    "--threads", "1", "--json"], capture_output=True, text=True, timeout=120)
check(p.returncode == 0, p.stderr)
r = json.loads(p.stdout)
l = r["latency_ms"]
check(r["runs"] == 7 and r["batch"] == 2 and r["threads"] == 1 and r["warmup"] == 2 and
      r["precision"] == "fp32", p.stdout)
check(0 < l["min"] <= l["median"] <= l["p90"] <= l["max"] and l["min"] <= l["mean"] <= l["max"],
      p.stdout)
check(r["macs"] == macs and r["arena_bytes"] == arena, f"{p.stdout} vs check {macs} {arena}")
check(abs(r["gflops"] - 2 * macs / (l["median"] * 1e6)) < 1e-9 * r["gflops"], p.stdout)
check(abs(r["throughput_per_s"] - 2 * 1000 / l["mean"]) < 1e-6 * r["throughput_per_s"], p.stdout)
check(r["peak_rss_bytes"] > arena, p.stdout)
# --precision bf16 is reported as such (lenet5's three fc layers run on bfloat16 weights).
q = subprocess.run([CNNKIT, "bench", lenet, "--runs", "2", "--precision", "bf16", "--json"],
                   capture_output=True, text=True, timeout=120)
check(q.returncode == 0 and json.loads(q.stdout)["precision"] == "bf16", q.stdout + q.stderr)
# Not a terminal: plain progress lines on stderr, no carriage returns.
check(re.findall(r"^run (\d+)/7: [\d.]+ ms$", p.stderr, re.M) == [str(i) for i in range(1, 8)]
      and "\r" not in p.stderr, p.stderr)

# A terminal: a bar redrawn with \r.
pid, fd = pty.fork()
if pid == 0:
    os.execv(CNNKIT, [CNNKIT, "bench", lenet, "--runs", "3"])
tty = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    tty += chunk
check(os.waitpid(pid, 0)[1] == 0 and b"\r[" in tty and b"] 3/3" in tty, repr(tty))

# A time budget, and the text report.
out = cnnkit("bench", lenet, "--time", "0.3", "--warmup", "0")
m = re.search(r"0 warm-up \+ (\d+) runs", out)
check(m and int(m.group(1)) >= 1 and "latency ms: min" in out and "GFLOP/s" in out, out)
check(cnnkit("bench", lenet, "--runs", "0", code=1).startswith("error: --runs must be in 1.."), "")
check("--time expects seconds" in cnnkit("bench", lenet, "--time", "soon", code=1), "--time")

# profile: the table has every node once, sorted by time; the trace one span per node per run.
out = cnnkit("profile", lenet, "--runs", "3", "--threads", "2", "--trace", f"{d}/trace.json")
rows = re.findall(r"^(\S+)\s+(\S+)\s+cpu\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)$", out, re.M)
names = [n for n in ["c1", "s2", "c3", "s4", "c5", "f6", "f6_tanh", "output", "softmax"]]
check(sorted(r[0] for r in rows) == sorted(names), out)
times = [float(r[2]) for r in rows]
check(times == sorted(times, reverse=True) and abs(sum(float(r[3]) for r in rows) - 100) < 1, out)
trace = json.load(open(f"{d}/trace.json"))
spans = [e for e in trace["traceEvents"] if e.get("cat") == "node"]
check(len(spans) == 3 * len(names), f"{len(spans)} spans")
for run in range(3):
    check(sorted(e["name"] for e in spans if e["args"]["run"] == run) == sorted(names), "run")
runs = [e for e in trace["traceEvents"] if e.get("cat") == "run"]
for e in spans:
    check(e["ph"] == "X" and e["dur"] >= 0 and e["tid"] >= 1 and e["args"]["backend"] == "cpu", e)
    r = runs[e["args"]["run"]]
    check(r["ts"] <= e["ts"] and e["ts"] + e["dur"] <= r["ts"] + r["dur"] + 1, (e, r))
check(f"trace: {len(spans)} node spans" in out, out)

# On Vulkan (validation on): the table says vulkan; the trace has a GPU track (timestamp queries)
# with one span per node per run, laid end to end, each inside its run; transfers on it too.
env = dict(os.environ, CNNKIT_VULKAN_VALIDATION="1")
out = cnnkit("profile", lenet, "--runs", "2", "--backend", "vulkan", "--trace",
             f"{d}/vk.json", env=env)
rows = re.findall(r"^(\S+)\s+(\S+)\s+vulkan\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)$", out, re.M)
check(sorted(r[0] for r in rows) == sorted(names), out)
trace = json.load(open(f"{d}/vk.json"))
ev = trace["traceEvents"]
check({"name": "process_name", "ph": "M", "pid": 2, "tid": 1, "args": {"name": "GPU"}} in ev, "GPU")
runs = [e for e in ev if e.get("cat") == "run"]
gpu = [e for e in ev if e.get("cat") == "node" and e["pid"] == 2]
check(len(runs) == 2 and len(gpu) == 2 * len(names) and
      all(e["pid"] == 2 for e in ev if e.get("cat") == "node"), f"{len(gpu)} GPU spans")
for run in range(2):
    mine = sorted((e for e in gpu if e["args"]["run"] == run), key=lambda e: e["ts"])
    check(sorted(e["name"] for e in mine) == sorted(names), "GPU run")
    r = runs[run]
    for a, b in zip(mine, mine[1:]):
        check(a["ts"] + a["dur"] <= b["ts"] + 1e-3, (a, b))
    for e in mine:
        check(e["ph"] == "X" and e["tid"] == 1 and e["dur"] >= 0 and
              e["args"]["backend"] == "vulkan", e)
        check(r["ts"] <= e["ts"] and e["ts"] + e["dur"] <= r["ts"] + r["dur"] + 1, (e, r))
moves = [e["name"] for e in ev if e.get("cat") == "transfer"]
check(moves.count("upload") == 2 and moves.count("download") == 2, moves)
check(f"trace: {len(gpu)} node spans ({len(gpu)} on the GPU, 4 GPU transfers)" in out, out)
check("validation" not in out, out)
print("bench/profile: ok")

# OpenBLAS on a CPU newer than Debian's 0.3.21 knows (blas_core.cpp): cnnkit re-executes itself
# with OPENBLAS_CORETYPE set, so on any CPU with AVX2 and FMA the GEMM kernels are not the SSE3
# "Prescott" ones (OPENBLAS_VERBOSE=2 prints the core of each process: the last one runs).
flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
p = subprocess.run([CNNKIT, "--version"], capture_output=True, text=True, timeout=60,
                   env=dict(os.environ, OPENBLAS_VERBOSE="2"))
cores = re.findall(r"^Core: (\S+)", p.stdout + p.stderr, re.M)
if "avx2" in flags and "fma" in flags:
    check(p.returncode == 0 and cores and cores[-1] != "Prescott", p.stdout + p.stderr)
# A core type the user sets is left alone.
p = subprocess.run([CNNKIT, "--version"], capture_output=True, text=True, timeout=60,
                   env=dict(os.environ, OPENBLAS_VERBOSE="2", OPENBLAS_CORETYPE="Prescott"))
check(re.findall(r"^Core: (\S+)", p.stdout + p.stderr, re.M) == ["Prescott"], p.stdout + p.stderr)
