"""schema_test.py BUILD SOURCE: `cnnkit schema` checked by python3-jsonschema: every config in
configs/ validates, custom plugins' types are in it, and wrong keys, types, enum values and list
lengths fail validation exactly where `cnnkit check` fails too."""
import glob
import json
import re
import jsonschema
import yaml
from common import BUILD, SOURCE, cnnkit, check, temp_dir, write

d = temp_dir("schema")


class Loader(yaml.SafeLoader):
    """YAML 1.2 floats (1e-5 without a dot), as yaml-cpp reads them."""


Loader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(
    r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^[-+]?\d*\.\d+$"), list("-+0123456789."))


def to_json(text):
    return json.loads(json.dumps(yaml.load(text, Loader=Loader)))


schema = json.loads(cnnkit("schema"))
jsonschema.Draft7Validator.check_schema(schema)
v = jsonschema.Draft7Validator(schema)
check("layer_conv" in schema["definitions"] and "layer_residual" in schema["definitions"], "types")
conv = schema["definitions"]["layer_conv"]["properties"]
check(conv["out_channels"]["default"] == 0 and conv["kernel"]["default"] == [3, 3], conv["kernel"])

configs = glob.glob(f"{SOURCE}/configs/*.yaml") + [f"{SOURCE}/tests/host/mini_resnet.yaml"]
check(len(configs) >= 3, configs)
for f in configs:
    errors = [e.message for e in v.iter_errors(to_json(open(f).read()))]
    check(not errors, f"{f}: {errors[:3]}")

base = "inputs: {image: [1, 3, 8, 8]}\nnodes:\n"
bad = {
    "misspelt key": "  - {name: c, type: conv, kernal: 3}\n",
    "string for int": "  - {name: c, type: conv, out_channels: many}\n",
    "unknown enum": "  - {name: c, type: conv, out_channels: 2, activation: relu7}\n",
    "3 values for a pair": "  - {name: c, type: conv, out_channels: 2, kernel: [1, 2, 3]}\n",
    "3 pads of 4": "  - {name: c, type: conv, out_channels: 2, pad: [1, 2, 3]}\n",
    "bool as int": "  - {name: c, type: conv, out_channels: 2, bias: 1}\n",
    "top-level key": "  - {name: c, type: relu}\nnodez: []\n",
    "preprocess key": "  - {name: c, type: relu}\npreprocess: {rezise: 3}\n",
    "bad shape": "  - {name: c, type: relu}\n",
}
for what, text in bad.items():
    text = base.replace("[1, 3, 8, 8]", "[1, 0, 8]") + text if what == "bad shape" else base + text
    check(list(v.iter_errors(to_json(text))), f"schema accepts {what}")
    cnnkit("check", write(f"{d}/bad.yaml", text), code=1)  # and so does the loader refuse it
good = base + ("  - {name: c, type: conv, out_channels: 2, kernel: [3, 3], pad: [1, 1], "
               "activation: relu, bias: false, stride: 1}\n  - {type: pool, mode: max, "
               "kernel: 2, stride: 2, ceil_mode: true}\n  - {name: s, type: softmax}\n"
               "outputs: {prob: s}\npreprocess: {resize: 8, mean: [0.5, 0.5, 0.5], std: 0.25}\n"
               "labels: [a, b]\n")
check(not list(v.iter_errors(to_json(good))), f"{list(v.iter_errors(to_json(good)))}")
cnnkit("check", write(f"{d}/good.yaml", good))

# A custom plugin's layer type joins the schema when its folder is loaded.
custom = json.loads(cnnkit("schema", "--plugins", f"{BUILD}/test-plugins/throws"))
t = custom["definitions"]["layer_test_throws"]["properties"]
check(t["fail_at"]["default"] == 0 and "layer_test_throws" not in schema["definitions"], t)
vc = jsonschema.Draft7Validator(custom)
check(not list(vc.iter_errors(to_json(base + "  - {type: test_throws, fail_at: 2}\n"))), "custom")
check(list(vc.iter_errors(to_json(base + "  - {type: test_throws, fail_at: x}\n"))), "custom bad")
print("schema: ok")
