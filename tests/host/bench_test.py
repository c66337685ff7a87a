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
check(r["runs"] == 7 and r["batch"] == 2 and r["threads"] == 1 and r["warmup"] == 2, p.stdout)
check(0 < l["min"] <= l["median"] <= l["p90"] <= l["max"] and l["min"] <= l["mean"] <= l["max"],
      p.stdout)
check(r["macs"] == macs and r["arena_bytes"] == arena, f"{p.stdout} vs check {macs} {arena}")
check(abs(r["gflops"] - 2 * macs / (l["median"] * 1e6)) < 1e-9 * r["gflops"], p.stdout)
check(abs(r["throughput_per_s"] - 2 * 1000 / l["mean"]) < 1e-6 * r["throughput_per_s"], p.stdout)
check(r["peak_rss_bytes"] > arena, p.stdout)
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
print("bench/profile: ok")
