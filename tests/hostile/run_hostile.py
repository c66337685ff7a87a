#!/usr/bin/python3
"""run_hostile.py CNNKIT HOSTILE_DIR WORK_DIR: feeds every input of MANIFEST to cnnkit and checks
that each is refused: exit status 1 (no signal, no sanitizer report), the expected message, no
hang, peak memory under a bound (so nothing large was allocated first), and no .npy written."""
import os, resource, shutil, subprocess, sys, time

cnnkit, here, work = sys.argv[1], sys.argv[2], sys.argv[3]
max_rss_mb = int(os.environ.get("HOSTILE_MAX_RSS_MB", "400"))


def x_npy(path):  # a valid float32 input of shape (1, 1, 4, 4)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4, 4), }"
    header += " " * (64 - 10 - len(header) - 1) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode())
        f.write(b"\x00\x00\x80\x3f" * 16)


def sparse(path, head, size):  # `size` bytes on the file system's word, `head` first
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)


def generate(name, path):
    if name == "nested_flow_10000.yaml":
        open(path, "w").write("name: [" + "[" * 10000 + "]" * 10000 + "]\n")
    elif name == "nested_block_10000.yaml":
        open(path, "w").write("name: \n" + "- " * 10000 + "x\n")
    elif name == "string_1gb.yaml":
        sparse(path, b'name: "', 1 << 30)
    elif name == "fifo.yaml":
        os.mkfifo(path)
    elif name == "folder.yaml":
        os.mkdir(path)
    elif name == "missing.yaml":
        pass
    elif name in ("devzero.safetensors", "devzero.npy"):
        os.symlink("/dev/zero", path)
    elif name == "huge_sparse.safetensors":
        sparse(path, b"\xff" * 8, 2 << 30)
    elif name == "huge_sparse.npy":
        sparse(path, b"\x93NUMPY\x01\x00\x40\x00", 5 << 30)
    else:
        raise SystemExit(f"MANIFEST: no generator for gen:{name}")


def run(args):
    start = time.time()
    p = subprocess.Popen([cnnkit] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        return None, "timed out (a hang)", 0, 60
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return p.returncode, out.decode(errors="replace"), rss, time.time() - start


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
x = os.path.join(work, "x.npy")
x_npy(x)
base = os.path.join(here, "base.yaml")
failures, count = [], 0
for line in open(os.path.join(here, "MANIFEST")):
    if not line.strip() or line.startswith("#"):
        continue
    name, how, want = [f.strip() for f in line.split("|", 2)]
    count += 1
    if name.startswith("gen:"):
        path = os.path.join(work, name[4:])
        generate(name[4:], path)
    else:
        path = os.path.join(here, name)
    out_dir = os.path.join(work, "out-" + name.replace(":", "_"))
    tail = ["--output-dir", out_dir]
    args = {"check": ["check", path],
            "weights": ["run", base, "--weights", path, "--input", "x=" + x] + tail,
            "input": ["run", base, "--random-weights", "1", "--input", "x=" + path] + tail,
            "run": ["run", path, "--random-weights", "1", "--input", "x=" + x] + tail}[how]
    rc, out, rss, secs = run(args)
    problems = []
    if rc != 1:
        problems.append(f"exit status {rc}, expected 1")
    if want not in out:
        problems.append(f"message lacks '{want}'")
    if "Sanitizer" in out or "runtime error:" in out:
        problems.append("sanitizer report")
    if rss > max_rss_mb:
        problems.append(f"peak memory {rss} MB > {max_rss_mb} MB")
    written = [f for r, _, fs in os.walk(work) for f in fs if f.endswith(".npy")
               and r.startswith(out_dir) or f == "escape.npy"]
    if written:
        problems.append(f"wrote {written}")
    if problems:
        failures.append(f"{name} ({how}): {'; '.join(problems)}\n  output: {out[:400]}")
    if name.startswith("gen:") and os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        else:
            os.remove(path)  # the sparse files are gigabytes on paper

# A planted symlink where an output goes is replaced, never written through.
victim = os.path.join(work, "victim.txt")
open(victim, "w").write("keep me\n")
out_dir = os.path.join(work, "out-symlink")
os.makedirs(out_dir)
os.symlink(victim, os.path.join(out_dir, "y.npy"))
rc, out, _, _ = run(["run", base, "--random-weights", "1", "--input", "x=" + x,
                     "--output-dir", out_dir])
count += 1
if rc != 0 or open(victim).read() != "keep me\n" or os.path.islink(os.path.join(out_dir, "y.npy")):
    failures.append(f"symlinked output: exit {rc}, victim changed or link followed\n  {out}")

for f in failures:
    print("FAIL", f)
print(f"hostile inputs: {count - len(failures)} of {count} handled as expected")
sys.exit(1 if failures else 0)
