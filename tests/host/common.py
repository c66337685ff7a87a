"""common.py: helpers for the command-line tests of tests/host: run cnnkit, temp folders, checks."""
import os
import shutil
import subprocess
import sys

BUILD = os.path.abspath(sys.argv[1])
SOURCE = os.path.abspath(sys.argv[2])
CNNKIT = os.path.join(BUILD, "cnnkit")


def temp_dir(name):
    d = os.path.join(BUILD, "host-tests", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def cnnkit(*args, code=0, timeout=120, env=None):
    """Runs cnnkit; checks the exit code; returns stdout + stderr."""
    p = subprocess.run([CNNKIT, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=env)
    out = p.stdout + p.stderr
    if p.returncode != code:
        sys.exit(f"cnnkit {' '.join(map(str, args))}: exit {p.returncode}, want {code}\n{out}")
    return out


def check(cond, what):
    if not cond:
        sys.exit("FAILED: " + what)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path
