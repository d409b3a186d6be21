"""Control-flow fixtures for gibbon: TorchScript models whose ONNX exports hold If and Loop nodes.

Run from the repository root with Debian's python3 (torch 1.13, onnx 1.12):
    /usr/bin/python3 tools/controlflow/export_controlflow.py test/fixtures/controlflow
Writes MODEL.onnx and MODEL.x.npy (a few inputs: some rows/batches take each branch).
"""
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
import torch.nn as nn

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/controlflow"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20261206)
rng = np.random.default_rng(20261206)


def export(name, model, x, opset):
    model.eval()
    path = os.path.join(OUT, f"{name}.onnx")
    torch.onnx.export(torch.jit.script(model), (x,), path, opset_version=opset, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    np.save(os.path.join(OUT, f"{name}.x.npy"), x.numpy())
    return path


# Branches that read outer-scope values (the hidden state h and the input x itself) and initializers.
class OuterReads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(8, 8)
        self.a = nn.Linear(8, 3)
        self.b = nn.Linear(8, 3)
        self.scale = nn.Parameter(torch.randn(3))

    def forward(self, x):
        h = torch.tanh(self.body(x))
        if bool(x.sum() > 0):
            out = self.a(h) * self.scale + x[:, :3]
        else:
            out = self.b(h * x) - torch.sigmoid(x[:, 3:6]) * self.scale
        return out


# An If nested inside another If's branch.
class Nested(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(6, 6)
        self.p = nn.Linear(6, 4)
        self.q = nn.Linear(6, 4)
        self.r = nn.Linear(6, 4)

    def forward(self, x):
        h = torch.relu(self.body(x)) + x
        if bool(x.mean() > 0):
            if bool(x.max() > 1.0):
                out = self.p(h)
            else:
                out = self.q(h) * h.sum(1, keepdim=True)
        else:
            out = self.r(torch.tanh(h))
        return out


# A loop whose trip count depends on the data (cannot be unrolled).
class DataLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.step = nn.Linear(4, 4)

    def forward(self, x):
        h = x
        n = int((x.abs().sum() > 10.0)) + 1
        for _ in range(n):
            h = torch.tanh(self.step(h))
        return h


def signed_batches(shape):
    # Half the rows clearly positive, half clearly negative, so each branch is taken by some batch.
    x = rng.uniform(0.1, 1.5, size=shape).astype(np.float32)
    x[shape[0] // 2:] *= -1
    return torch.from_numpy(x)


export("if_outer_reads_op13", OuterReads(), signed_batches((4, 8)), 13)
export("if_nested_op13", Nested(), signed_batches((4, 6)), 13)

export("loop_data_op13", DataLoop(), torch.randn(4, 4), 13)

# An If with a constant condition (as left by exporters that keep a config flag): the OuterReads
# model with its condition replaced by a Constant true.
m = onnx.load(os.path.join(OUT, "if_outer_reads_op13.onnx"))
g = m.graph
if_node = next(n for n in g.node if n.op_type == "If")
const = helper.make_node("Constant", [], ["gibbon_flag"], name="flag", value=numpy_helper.from_array(np.array(True)))
if_node.input[0] = "gibbon_flag"
g.node.insert(list(g.node).index(if_node), const)
onnx.checker.check_model(m)
onnx.save(m, os.path.join(OUT, "if_constant_op13.onnx"))
np.save(os.path.join(OUT, "if_constant_op13.x.npy"), signed_batches((4, 8)).numpy())

# A Loop with a constant trip count (TorchScript unrolls literal ranges itself, so the data loop's
# trip count is replaced by a Constant 3): gibbon unrolls it to differentiate.
m = onnx.load(os.path.join(OUT, "loop_data_op13.onnx"))
g = m.graph
loop = next(n for n in g.node if n.op_type == "Loop")
const = helper.make_node("Constant", [], ["gibbon_trip_count"], name="trip_count", value=numpy_helper.from_array(np.array(3, dtype=np.int64)))
loop.input[0] = "gibbon_trip_count"
g.node.insert(list(g.node).index(loop), const)
onnx.checker.check_model(m)
onnx.save(m, os.path.join(OUT, "loop_constant_op13.onnx"))
np.save(os.path.join(OUT, "loop_constant_op13.x.npy"), torch.randn(4, 4).numpy())
