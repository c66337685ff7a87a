"""graph_test.py BUILD SOURCE: `cnnkit graph`: DOT nodes match `cnnkit check` (type, shape,
parameters), composites and blocks are nested clusters, every data edge is drawn; SVG/PNG render."""
import re
import subprocess
import xml.dom.minidom
from common import BUILD, SOURCE, cnnkit, check, temp_dir
import os

d = temp_dir("graph")
net = f"{SOURCE}/tests/host/mini_resnet.yaml"
table = {}
for line in cnnkit("check", net).splitlines():
    m = re.match(r"^(\S+)\s+(\S+)\s+(\d+x[\dx]+)\s+([\d,]+)\s+([\d,]+)(\s+[\d,]+)?$", line)
    if m:
        table[m.group(1)] = (m.group(2), m.group(3), int(m.group(4).replace(",", "")))
check(len(table) == 25, f"check lists {len(table)} nodes")

out = cnnkit("graph", net, "-o", f"{d}/net.dot")
check(out == f"25 nodes, 4 clusters -> {d}/net.dot\n", out)
dot = open(f"{d}/net.dot").read()
labels = dict(re.findall(r'^\s+(n\d+) \[label="([^"]*)"\];$', dot, re.M))
check(len(labels) == 25, f"{len(labels)} node statements")
ids = {}
for nid, label in labels.items():
    parts = label.split("\\n")
    name, (typ, shape) = parts[0], parts[1].split()
    params = int(parts[2].split()[0].replace(",", "")) if len(parts) > 2 else 0
    check(table.get(name) == (typ, shape, params), f"{label} vs check {table.get(name)}")
    ids[name] = nid

# Clusters nest: s1 (stage) holds s1.unit.0 and s1.unit.1 (residual), which hold their nodes.
depth, stack, where = 0, [], {}
for line in dot.splitlines():
    m = re.match(r'\s+subgraph "cluster_([^"]+)" \{', line)
    if m:
        stack.append(m.group(1))
    elif line.strip() == "}" and stack:
        stack.pop()
    m = re.match(r"\s+(n\d+) \[label", line)
    if m:
        where[m.group(1)] = list(stack)
check(where[ids["s1.unit.1.conv2"]] == ["s1", "s1.unit.1"], where[ids["s1.unit.1.conv2"]])
check(where[ids["inc.concat"]] == ["inc"] and where[ids["stem"]] == [], "inception cluster")
check('label="s1.unit.0 (residual)"' in dot and 'label="s1 (stage)"' in dot, "cluster labels")
# Edges: the residual's add takes conv path and shortcut; concat takes 4 branches.
edges = re.findall(r"^\s+(\S+) -> (\S+?)[ ;]", dot, re.M)
check((ids["s1.unit.0.relu"], ids["s1.unit.1.add"]) in edges, "shortcut edge")
check(sum(1 for e in edges if e[1] == ids["inc.concat"]) == 4, "concat inputs")
check(("t0", ids["stem"]) in edges and (ids["gap"], '"out_out"') in edges, "input/output edges")
subprocess.run(["dot", "-Tcanon", f"{d}/net.dot"], check=True, capture_output=True)

# Rendered formats, and the configs.
cnnkit("graph", net, "-o", f"{d}/net.svg")
svg = xml.dom.minidom.parse(f"{d}/net.svg")
check(len([g for g in svg.getElementsByTagName("g") if g.getAttribute("class") == "node"]) == 27,
      "svg node count (25 + input + output)")
for cfg in ("lenet5", "alexnet"):
    cnnkit("graph", f"{SOURCE}/configs/{cfg}.yaml", "-o", f"{d}/{cfg}.png")
    check(open(f"{d}/{cfg}.png", "rb").read(8) == b"\x89PNG\r\n\x1a\n", cfg)
out = cnnkit("graph", net, "-o", f"{d}/net.gif", code=1)
check(out == f"error: {d}/net.gif: unknown format '.gif' (use .dot, .svg, .png or .pdf)\n", out)
env = dict(os.environ, PATH="/nonexistent")
out = cnnkit("graph", net, "-o", f"{d}/no'dot.png", code=1, env=env)
check(out == f"error: cannot run Graphviz 'dot' to render {d}/no'dot.png; install graphviz, or "
      "write a .dot file\n", out)
cnnkit("graph", net, "-o", f"{d}/it's.svg")  # no shell between us and dot
check(os.path.getsize(f"{d}/it's.svg") > 1000, "quote in the file name")
check(not [f for f in os.listdir(d) if "tmp" in f], os.listdir(d))
print("graph: ok")
