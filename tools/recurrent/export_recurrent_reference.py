"""Reference data for gibbon's LSTM/GRU/RNN gradients: small PyTorch sequence classifiers exported
to ONNX, with inputs, labels, logits and torch autograd's gradient of the summed cross-entropy with
respect to the input.

Run from the repository root with Debian's python3 (torch 1.13, onnx 1.12):
    /usr/bin/python3 tools/recurrent/export_recurrent_reference.py test/fixtures/recurrent
Writes, per model NAME: NAME.onnx, NAME.x.npy (float32, batch first), NAME.y.npy (int64 labels),
NAME.logits.npy and NAME.grad_ce.npy (float32), NAME.grad_{W,R,B}.npy (the summed CE's gradients of the
first recurrent layer's initializers W, R, B, in ONNX layout) and manifest.json describing each model.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/recurrent"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20261206)
rng = np.random.default_rng(20261206)
manifest = {}


class LstmBidirectional(nn.Module):
    """Two bidirectional LSTM layers; the head reads Y (mean over time), Y_h and Y_c."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(5, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(12 + 6 + 6, 3)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        return self.fc(torch.cat([y.mean(1), h[-1], c[-1]], 1))


class GruLearnedState(nn.Module):
    """A GRU (exported with linear_before_reset=1) whose initial state is a learned vector expanded to the batch."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(5, 6, batch_first=True)
        self.h0 = nn.Parameter(torch.randn(1, 1, 6) * 0.5)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        h0 = self.h0.expand(1, x.shape[0], 6).contiguous()
        y, h = self.gru(x, h0)
        return self.fc(y[:, -1] + h[-1])


class RnnRelu(nn.Module):
    """A time-first, two-layer Elman RNN with ReLU (activations=['Relu'])."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 6, num_layers=2, nonlinearity="relu")
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        y, _ = self.rnn(x.transpose(0, 1))
        return self.fc(y[-1])


def export(name, model, opset, what):
    model.eval()
    x = torch.tensor(rng.random((4, 7, 5), dtype=np.float32))
    y = torch.tensor([0, 1, 2, 1], dtype=torch.int64)
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, (x[:2],), path, opset_version=opset, input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    F.cross_entropy(logits, y, reduction="sum").backward()
    np.save(os.path.join(OUT, name + ".x.npy"), x.numpy())
    np.save(os.path.join(OUT, name + ".y.npy"), y.numpy())
    np.save(os.path.join(OUT, name + ".logits.npy"), logits.detach().numpy())
    np.save(os.path.join(OUT, name + ".grad_ce.npy"), xg.grad.numpy())
    manifest[name] = {"opset": opset, "exercises": what, "input": "x", "shape": list(x.shape), "loss": "ce, summed over the batch",
                      "param_grads": first_layer_param_grads(name, path, model)}


# PyTorch's gate order per ONNX gate: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h.
GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN": [0]}


def first_layer_param_grads(name, path, model):
    """Torch gradients of the first recurrent layer's weights, laid out as the ONNX W, R, B initializers."""
    graph = onnx.load(path).graph
    node = next(n for n in graph.node if n.op_type in GATE_ORDER)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    rnn = next(m for m in model.modules() if isinstance(m, (nn.LSTM, nn.GRU, nn.RNN)))
    order = GATE_ORDER[node.op_type]
    suffixes = ["_l0", "_l0_reverse"] if rnn.bidirectional else ["_l0"]

    def onnx_layout(kind, attr):
        per_direction = []
        for sfx in suffixes:
            t = getattr(rnn, kind + sfx)
            t = t if attr == "data" else t.grad
            blocks = t.detach().numpy().reshape(len(order), rnn.hidden_size, -1)
            per_direction.append(blocks[order].reshape(len(order) * rnn.hidden_size, -1))
        return np.stack(per_direction)

    files = {}
    layouts = {1: ("weight_ih", None), 2: ("weight_hh", None), 3: ("bias_ih", "bias_hh")}
    for slot, (a, b) in layouts.items():
        init = node.input[slot]
        value = onnx_layout(a, "data")
        grad = onnx_layout(a, "grad")
        if b is not None:
            value = np.concatenate([value, onnx_layout(b, "data")], axis=1)[..., 0]
            grad = np.concatenate([grad, onnx_layout(b, "grad")], axis=1)[..., 0]
        assert np.array_equal(inits[init], value), f"{name}: initializer {init} is not the reordered torch weight"
        file = f"{name}.grad_{['W', 'R', 'B'][slot - 1]}.npy"
        np.save(os.path.join(OUT, file), grad.astype(np.float32))
        files[init] = file
    return files


export("lstm_bidirectional_op14", LstmBidirectional(), 14, ["LSTM", "bidirectional", "2 layers", "Y, Y_h and Y_c used", "batch_first"])
export("gru_learned_state_op13", GruLearnedState(), 13, ["GRU", "linear_before_reset=1", "initial_h computed from the batch size"])
export("rnn_relu_op11", RnnRelu(), 11, ["RNN", "activations=['Relu']", "2 layers", "time-first"])

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
