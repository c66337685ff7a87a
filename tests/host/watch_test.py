"""watch_test.py BUILD SOURCE: `run --watch` re-runs when the YAML changes and re-loads a plugin
library replaced on disk (its new code runs); a failing run is reported and watching goes on;
`check --watch` stops cleanly on SIGTERM."""
import os
import re
import select
import shutil
import signal
import subprocess
import time
import numpy as np
from common import BUILD, CNNKIT, check, temp_dir, write

d = temp_dir("watch")
os.makedirs(f"{d}/plugins")


def install(version):  # atomically, as a linker or `install` does
    shutil.copy(f"{BUILD}/test-plugins/watch_v{version}/libcnnkit_watch_v{version}.so",
                f"{d}/plugins/.tmp.so")
    os.rename(f"{d}/plugins/.tmp.so", f"{d}/plugins/libcnnkit_watchme.so")


class proc:
    def __init__(self, *args):
        self.p = subprocess.Popen([CNNKIT, *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.text = ""

    def until(self, pattern, timeout=30):
        """Reads output until `pattern` matches the text after the previous match."""
        end = time.time() + timeout
        while time.time() < end:
            m = re.search(pattern, self.text)
            if m:
                seen, self.text = self.text[:m.end()], self.text[m.end():]
                return seen
            if select.select([self.p.stdout], [], [], 0.1)[0]:
                chunk = os.read(self.p.stdout.fileno(), 65536).decode()
                if not chunk and self.p.poll() is not None:
                    break
                self.text += chunk
        self.p.kill()
        raise SystemExit(f"FAILED: no {pattern!r} in output:\n{self.text}")


install(1)
net = write(f"{d}/net.yaml", "inputs: {image: [1, 4]}\nnodes: [{type: test_watch}]\n")
x = np.array([[1, 2, 3, 4]], np.float32)
np.save(f"{d}/x.npy", x)
out = lambda: np.load(f"{d}/out/out.npy")
w = proc("run", net, "--plugins", f"{d}/plugins", "--input", f"image={d}/x.npy",
         "--output-dir", f"{d}/out", "--watch", "--watch-max", "4")
w.until(r"watching 2 file\(s\)")
check(np.array_equal(out(), x + 1), f"first run {out()}")
install(2)
w.until(re.escape(f"== run 2: changed {d}/plugins/libcnnkit_watchme.so =="))
w.until("watching")
check(np.array_equal(out(), x + 2), f"after the plugin changed {out()}")
write(net, "inputs: {image: [1, 4]}\nnodes: [{type: test_watch, speed: 2}]\n")
seen = w.until("watching")
check(f"== run 3: changed {net} ==" in seen and "unknown key 'speed'" in seen, seen)
check(np.array_equal(out(), x + 2), "a failed run leaves the output alone")
write(net, "inputs: {image: [1, 4]}\nnodes: [{type: test_watch}, {type: test_watch}]\n")
w.until(re.escape(f"== run 4: changed {net} =="))
check(w.p.wait(timeout=30) == 0, "exit after --watch-max 4")
check(np.array_equal(out(), x + 4), f"after the YAML changed {out()}")

c = proc("check", net, "--plugins", f"{d}/plugins", "--watch")
seen = c.until("watching")
check("total: 2 nodes" in seen, seen)
c.p.send_signal(signal.SIGTERM)
c.until("stopped")
check(c.p.wait(timeout=30) == 0, "SIGTERM stops check --watch with exit 0")
print("watch: ok")
