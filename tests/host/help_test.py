"""help_test.py BUILD SOURCE: every command's --help has a usage line, options the command really
accepts and an example that runs; --version prints the ABI version of the SDK header; unknown
layer types name the known types and the plugin folders searched."""
import re
import subprocess
from common import BUILD, SOURCE, CNNKIT, cnnkit, check, temp_dir, write

d = temp_dir("help")
commands = ["run", "check", "layers", "bench", "profile", "graph", "schema", "new-plugin", "import",
            "devices"]
top = cnnkit("--help")
for c in commands:
    check(re.search(rf"^  {c}\b", top, re.M), f"{c} missing from cnnkit --help")
    text = cnnkit(c, "--help")
    check(text.startswith(f"usage: cnnkit {c}"), text)
    m = re.search(rf"\nexample:\n  (cnnkit {c}(?: .*)?)\n$", text)
    check(m, f"{c}: no example\n{text}")
    for opt in sorted(set(re.findall(r"(--[a-z][a-z0-9-]*)", text)) - {"--help"}):
        args = [c, opt, "1"] + (["--watch-max", "1"] if opt == "--watch" else [])
        p = subprocess.run([CNNKIT, *args], capture_output=True, text=True, timeout=60, cwd=d)
        check("unknown option" not in p.stderr, f"cnnkit {' '.join(args)}: {p.stderr}")
    # The examples that need no extra files run as written (from the source folder).
    example = m.group(1).split()[1:]
    if c in ("check", "layers", "graph"):
        if c == "graph":
            example[-1] = f"{d}/{example[-1]}"
        p = subprocess.run([CNNKIT, *example], capture_output=True, text=True, cwd=SOURCE)
        check(p.returncode == 0, f"example {example}: {p.stderr}")
    if c == "new-plugin":
        p = subprocess.run([CNNKIT, *example], capture_output=True, text=True, cwd=d)
        check(p.returncode == 0 and "my_scale.cpp" in p.stdout, p.stdout + p.stderr)

abi = re.search(r"#define CNNKIT_ABI_VERSION (\d+)u",
                open(f"{SOURCE}/sdk/include/cnnkit/plugin_abi.h").read()).group(1)
out = cnnkit("--version")
check(re.fullmatch(rf"cnnkit \d+\.\d+\.\d+ \(plugin ABI {abi}\)\n", out), out)

net = write(f"{d}/u.yaml", "inputs: {image: [1, 4]}\nnodes: [{name: a, type: reluu}]\n")
out = cnnkit("check", net, "--plugins", f"{BUILD}/test-plugins/throws", code=1)
check(out.startswith(f"{net}:2:25: error: unknown layer type 'reluu'; did you mean 'relu'? "
                     "(known types: add, batch_norm,"), out)
check(f"plugin folders searched: {BUILD}/plugins, {BUILD}/test-plugins/throws)" in out, out)
check("test_throws" in out, out)
print("help: ok")
