"""Builds gibbon's model zoo: small, real-world-shaped classifiers exported from PyTorch to ONNX the way
projects ship them (fixed batch 1, dynamic H/W, If branches, LSTM/GRU, several inputs, sigmoid heads,
sequence outputs for CTC, weights as Constant nodes, dynamic quantisation, per-channel normalisation, per-channel bounds,
opsets 9 to 17). Weights are random (seeded): the zoo tests that gibbon can load, run, differentiate
and attack each file as exported, not that the models are good.

Run from the repository root with Debian's python3 (torch 1.13, onnx 1.12):
    /usr/bin/python3 tools/zoo/export_zoo.py test/fixtures/zoo
Writes MODEL.onnx, MODEL.x.npy (a few inputs in the model's domain), MODEL.feeds/*.npy where the
model has other inputs, and manifest.json describing each file (what it exercises, its input name,
its domain, how its output is read).
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/zoo"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(20261204)
rng = np.random.default_rng(20261204)
manifest = {}


def export(name, model, args, opset, input_names, output_names, dynamic_axes=None, script=False):
    model.eval()
    path = os.path.join(OUT, f"{name}.onnx")
    m = torch.jit.script(model) if script else model
    kwargs = {}
    if script:
        kwargs["example_outputs"] = None
    torch.onnx.export(
        m, args, path, opset_version=opset, input_names=input_names, output_names=output_names,
        dynamic_axes=dynamic_axes or {}, do_constant_folding=True,
    )
    return path


def save_x(name, x):
    np.save(os.path.join(OUT, f"{name}.x.npy"), x)


def entry(name, opset, exercises, **kw):
    manifest[name] = {"file": f"{name}.onnx", "inputs": f"{name}.x.npy", "opset": opset, "exercises": exercises, **kw}


# 1. An MLP on tabular features, opset 9, fixed batch 1 (no dynamic axes at all).
class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))

    def forward(self, x):
        return self.net(x)


export("mlp_fixed1_op9", Mlp(), torch.rand(1, 20), 9, ["features"], ["logits"])
save_x("mlp_fixed1_op9", rng.random((4, 20), dtype=np.float32))
entry("mlp_fixed1_op9", 9, ["fixed batch 1", "opset 9"], domain=[0, 1])


# 2. A CNN with dynamic H and W (global pooling), opset 11.
class DynCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 6)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


export("cnn_dynamic_hw_op11", DynCnn(), torch.rand(2, 3, 24, 32), 11, ["image"], ["logits"],
       {"image": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}})
save_x("cnn_dynamic_hw_op11", rng.random((4, 3, 20, 28), dtype=np.float32))
entry("cnn_dynamic_hw_op11", 11, ["dynamic H/W"], domain=[0, 1])


# 3. A wake-word style 1-D conv net on raw audio samples, fixed batch 1, int16-scale input.
class AudioConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(1, 8, 9, stride=4)
        self.c2 = nn.Conv1d(8, 16, 5, stride=2)
        self.fc = nn.Linear(16, 4)

    def forward(self, samples):
        x = samples.unsqueeze(1) / 32768.0
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = x.mean(dim=2)
        return self.fc(x)


export("audio_conv1d_fixed1_op12", AudioConv(), torch.rand(1, 1600), 12, ["samples"], ["logits"])
save_x("audio_conv1d_fixed1_op12", (rng.standard_normal((3, 1600)) * 3000).clip(-32768, 32767).astype(np.float32))
entry("audio_conv1d_fixed1_op12", 12, ["fixed batch 1", "1-D input", "int16-scale domain"], domain=[-32768, 32767])


# 4. A binary detector with one sigmoid output (N, 1), opset 13.
class SigmoidDetector(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, x):
        return torch.sigmoid(self.net(x))


export("sigmoid_detector_op13", SigmoidDetector(), torch.rand(2, 32), 13, ["x"], ["score"],
       {"x": {0: "N"}, "score": {0: "N"}})
save_x("sigmoid_detector_op13", rng.random((6, 32), dtype=np.float32))
entry("sigmoid_detector_op13", 13, ["one sigmoid output"], domain=[0, 1])


# 5. A CNN ending in Softmax at opset 10 (Softmax before 13: coerced to 2-D).
class SoftmaxCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(1, 6, 5)
        self.fc = nn.Linear(6 * 12 * 12, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c(x)), 2)
        return F.softmax(self.fc(x.flatten(1)), dim=1)


export("softmax_cnn_op10", SoftmaxCnn(), torch.rand(2, 1, 28, 28), 10, ["input"], ["probs"],
       {"input": {0: "N"}, "probs": {0: "N"}})
save_x("softmax_cnn_op10", rng.random((4, 1, 28, 28), dtype=np.float32))
entry("softmax_cnn_op10", 10, ["Softmax before opset 13", "probability output"], domain=[0, 1])


# 6. A scripted model with a data-dependent If (two heads chosen by the input's mean brightness).
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(16, 16)
        self.bright = nn.Linear(16, 3)
        self.dark = nn.Linear(16, 3)

    def forward(self, x):
        h = torch.relu(self.body(x))
        if bool(x.mean() > 0.5):
            out = self.bright(h)
        else:
            out = self.dark(h) * 2.0
        return out


export("if_branches_op11", Branchy(), (torch.rand(2, 16),), 11, ["x"], ["logits"],
       {"x": {0: "N"}, "logits": {0: "N"}}, script=True)
save_x("if_branches_op11", rng.random((4, 16), dtype=np.float32))
entry("if_branches_op11", 11, ["If with a data-dependent condition"], domain=[0, 1])


# 7. An LSTM sequence classifier (N, T, F) -> (N, C), opset 13.
class LstmClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(12, 16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y[:, -1])


export("lstm_classifier_op13", LstmClassifier(), torch.rand(2, 10, 12), 13, ["frames"], ["logits"],
       {"frames": {0: "N"}, "logits": {0: "N"}})
save_x("lstm_classifier_op13", rng.random((3, 10, 12), dtype=np.float32))
entry("lstm_classifier_op13", 13, ["LSTM"], domain=[0, 1])


# 8. A GRU wake-word model on MFCC-like frames, fixed batch 1, opset 14.
class GruWake(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(10, 12, num_layers=2, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(h[-1])


export("gru_wakeword_fixed1_op14", GruWake(), torch.rand(1, 8, 10), 14, ["mfcc"], ["logits"])
save_x("gru_wakeword_fixed1_op14", rng.random((3, 8, 10), dtype=np.float32))
entry("gru_wakeword_fixed1_op14", 14, ["GRU", "fixed batch 1", "2 layers"], domain=[0, 1])


# 9. A voice-activity model with three inputs (audio chunk, recurrent state, sample rate) and two
#    outputs (speech probability, new state), fixed batch 1, opset 16: the shape of Silero-style VADs.
class Vad(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv1d(1, 8, 16, stride=8)
        self.state_in = nn.Linear(32, 8)
        self.state_out = nn.Linear(8, 32)
        self.head = nn.Linear(8, 1)

    def forward(self, audio, state, sr):
        x = self.enc(audio.unsqueeze(1)).relu().mean(dim=2)
        x = x * (sr.to(torch.float32) / 16000.0)
        h = torch.tanh(x + self.state_in(state[0]))
        new_state = self.state_out(h).unsqueeze(0)
        return torch.sigmoid(self.head(h)), new_state


export("vad_three_inputs_op16", Vad(), (torch.rand(1, 512), torch.zeros(1, 1, 32), torch.tensor(16000, dtype=torch.int64)),
       16, ["input", "state", "sr"], ["output", "stateN"])
save_x("vad_three_inputs_op16", (rng.standard_normal((3, 512)) * 0.1).clip(-1, 1).astype(np.float32))
os.makedirs(os.path.join(OUT, "vad_three_inputs_op16.feeds"), exist_ok=True)
np.save(os.path.join(OUT, "vad_three_inputs_op16.feeds", "state.npy"), np.zeros((1, 1, 32), dtype=np.float32))
entry("vad_three_inputs_op16", 16, ["several inputs (input, state, sr)", "fixed batch 1", "two outputs", "sigmoid head", "[-1, 1] domain"],
      domain=[-1, 1], feeds={"state": "vad_three_inputs_op16.feeds/state.npy", "sr": 16000}, wrt_input="input", output="output")


# 10. A CRNN-style recogniser: conv stack, bidirectional LSTM, per-frame log-probabilities (T, N, C)
#     for CTC, dynamic width, opset 12.
class Crnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.rnn = nn.LSTM(16 * 4, 16, bidirectional=True)
        self.fc = nn.Linear(32, 11)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), (2, 1))
        n, c, h, w = x.shape
        x = x.permute(3, 0, 1, 2).reshape(w, n, c * h)
        y, _ = self.rnn(x)
        return F.log_softmax(self.fc(y), dim=2)


export("crnn_ctc_op12", Crnn(), torch.rand(1, 1, 16, 64), 12, ["image"], ["log_probs"],
       {"image": {0: "N", 3: "W"}, "log_probs": {0: "T", 1: "N"}})
save_x("crnn_ctc_op12", rng.random((2, 1, 16, 64), dtype=np.float32))
entry("crnn_ctc_op12", 12, ["sequence output (T, N, C)", "CTC", "bidirectional LSTM", "dynamic width"], domain=[0, 1], layout="TNC", blank=0)


# 11. Weights stored as Constant nodes (as paddle2onnx writes them), opset 11.
export("constant_weights_op11", DynCnn(), torch.rand(2, 3, 16, 16), 11, ["image"], ["logits"],
       {"image": {0: "N"}, "logits": {0: "N"}})
m = onnx.load(os.path.join(OUT, "constant_weights_op11.onnx"))
consts = []
for init in m.graph.initializer:
    consts.append(helper.make_node("Constant", [], [init.name], name=f"const_{init.name}", value=init))
del m.graph.initializer[:]
inits = {c.output[0] for c in consts}
keep_inputs = [i for i in m.graph.input if i.name not in inits]
del m.graph.input[:]
m.graph.input.extend(keep_inputs)
nodes = list(m.graph.node)
del m.graph.node[:]
m.graph.node.extend(consts + nodes)
onnx.checker.check_model(m)
onnx.save(m, os.path.join(OUT, "constant_weights_op11.onnx"))
save_x("constant_weights_op11", rng.random((3, 3, 16, 16), dtype=np.float32))
entry("constant_weights_op11", 11, ["weights as Constant nodes"], domain=[0, 1])


# 12. Dynamic quantisation of an MLP: DynamicQuantizeLinear + MatMulInteger with uint8 weights,
#     the graph onnxruntime's quantize_dynamic writes, opset 13.
def dyn_quant_mlp(path):
    w1 = rng.standard_normal((24, 32)).astype(np.float32) * 0.3
    b1 = rng.standard_normal(32).astype(np.float32) * 0.1
    w2 = rng.standard_normal((32, 5)).astype(np.float32) * 0.3
    b2 = rng.standard_normal(5).astype(np.float32) * 0.1
    nodes, inits = [], []

    def qweight(name, w):
        lo, hi = min(0.0, float(w.min())), max(0.0, float(w.max()))
        scale = (hi - lo) / 255.0
        zp = int(round(-lo / scale))
        q = np.clip(np.round(w / scale) + zp, 0, 255).astype(np.uint8)
        inits.extend([numpy_helper.from_array(q, f"{name}_q"), numpy_helper.from_array(np.array(scale, np.float32), f"{name}_scale"),
                      numpy_helper.from_array(np.array(zp, np.uint8), f"{name}_zp")])

    def qlinear(prefix, x, wname, bname, out):
        nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [f"{prefix}_xq", f"{prefix}_xs", f"{prefix}_xz"], name=f"{prefix}_dql"))
        nodes.append(helper.make_node("MatMulInteger", [f"{prefix}_xq", f"{wname}_q", f"{prefix}_xz", f"{wname}_zp"], [f"{prefix}_mm"], name=f"{prefix}_mmi"))
        nodes.append(helper.make_node("Cast", [f"{prefix}_mm"], [f"{prefix}_mmf"], to=TensorProto.FLOAT, name=f"{prefix}_cast"))
        nodes.append(helper.make_node("Mul", [f"{prefix}_xs", f"{wname}_scale"], [f"{prefix}_s"], name=f"{prefix}_smul"))
        nodes.append(helper.make_node("Mul", [f"{prefix}_mmf", f"{prefix}_s"], [f"{prefix}_deq"], name=f"{prefix}_deq"))
        nodes.append(helper.make_node("Add", [f"{prefix}_deq", bname], [out], name=f"{prefix}_bias"))

    qweight("w1", w1)
    qweight("w2", w2)
    inits.extend([numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(b2, "b2")])
    qlinear("l1", "x", "w1", "b1", "h_pre")
    nodes.append(helper.make_node("Relu", ["h_pre"], ["h"], name="relu"))
    qlinear("l2", "h", "w2", "b2", "logits")
    graph = helper.make_graph(nodes, "dynquant_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 24])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="onnxruntime.quantization")
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


dyn_quant_mlp(os.path.join(OUT, "dynamic_quant_mlp_op13.onnx"))
save_x("dynamic_quant_mlp_op13", rng.random((4, 24), dtype=np.float32))
entry("dynamic_quant_mlp_op13", 13, ["DynamicQuantizeLinear", "MatMulInteger"], domain=[0, 1])


# 13. An ImageNet-style model that expects per-channel normalised input: the normalisation is the
#     user's preprocessing (mean/std in the threat model), pixels are 0-255, opset 15.
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


class Normalised(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 7)

    def forward(self, x):
        x = F.relu(self.bn(self.c1(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


net = Normalised()
with torch.no_grad():
    net.bn.running_mean.uniform_(-0.2, 0.2)
    net.bn.running_var.uniform_(0.5, 2.0)
export("normalised_input_op15", net, torch.rand(2, 3, 32, 32), 15, ["pixel_values"], ["logits"],
       {"pixel_values": {0: "N"}, "logits": {0: "N"}})
save_x("normalised_input_op15", (rng.random((3, 3, 32, 32)) * 255).round().astype(np.uint8))
entry("normalised_input_op15", 15, ["per-channel normalisation (mean/std)", "0-255 uint8 inputs", "BatchNorm"], domain=[0, 255], mean=MEAN, std=STD)


# 14. A residual CNN with BatchNorm, opset 17 (the newest torch 1.13 exports).
class ResBlockNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(x + self.bn(self.a(x)))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


export("resnet_block_op17", ResBlockNet(), torch.rand(2, 3, 16, 16), 17, ["input"], ["logits"],
       {"input": {0: "N"}, "logits": {0: "N"}})
save_x("resnet_block_op17", rng.random((4, 3, 16, 16), dtype=np.float32))
entry("resnet_block_op17", 17, ["opset 17", "residual", "BatchNorm"], domain=[0, 1])


# 15. A face-embedding style model with an (N, 1, 1, D) output, opset 14.
class Embedder(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.proj = nn.Conv2d(16, 8, 1)

    def forward(self, x):
        x = F.relu(self.c(x))
        x = F.adaptive_avg_pool2d(self.proj(x), 1)
        x = x.permute(0, 2, 3, 1)
        return F.normalize(x, dim=3)


export("embedding_n11d_op14", Embedder(), torch.rand(2, 3, 24, 24), 14, ["face"], ["embedding"],
       {"face": {0: "N"}, "embedding": {0: "N"}})
save_x("embedding_n11d_op14", rng.random((3, 3, 24, 24), dtype=np.float32))
entry("embedding_n11d_op14", 14, ["embedding output (N, 1, 1, D)"], domain=[0, 1], output_kind="embedding")


# 16. A segmentation-style net with a dense (N, 1, H, W) map, dynamic H/W, opset 13.
class Segmenter(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        return torch.sigmoid(self.out(F.relu(self.up(F.relu(self.down(x))))))


export("segmentation_map_op13", Segmenter(), torch.rand(1, 3, 32, 32), 13, ["image"], ["mask"],
       {"image": {0: "N", 2: "H", 3: "W"}, "mask": {0: "N", 2: "H", 3: "W"}})
save_x("segmentation_map_op13", rng.random((2, 3, 32, 32), dtype=np.float32))
entry("segmentation_map_op13", 13, ["dense map output (N, 1, H, W)", "dynamic H/W", "ConvTranspose"], domain=[0, 1], output_kind="map")


# 17. A MobileNet-style block: depthwise conv, HardSwish, squeeze-excite, opset 14.
class MobileBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.se1 = nn.Linear(16, 4)
        self.se2 = nn.Linear(4, 16)
        self.pw = nn.Conv2d(16, 24, 1)
        self.fc = nn.Linear(24, 8)

    def forward(self, x):
        x = F.hardswish(self.stem(x))
        x = F.hardswish(self.dw(x))
        s = torch.sigmoid(self.se2(F.relu(self.se1(x.mean(dim=(2, 3))))))
        x = x * s[:, :, None, None]
        x = F.relu6(self.pw(x))
        return self.fc(x.mean(dim=(2, 3)))


export("mobilenet_block_op14", MobileBlock(), torch.rand(2, 3, 32, 32), 14, ["input"], ["logits"],
       {"input": {0: "N"}, "logits": {0: "N"}})
save_x("mobilenet_block_op14", rng.random((3, 3, 32, 32), dtype=np.float32))
entry("mobilenet_block_op14", 14, ["depthwise conv", "HardSwish", "squeeze-excite"], domain=[0, 1])


# 18. A tiny transformer encoder over token features (LayerNorm, attention, GELU), opset 17.
class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(16, 48)
        self.ln1 = nn.LayerNorm(16)
        self.ff = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
        self.ln2 = nn.LayerNorm(16)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
        att = torch.softmax(q @ k.transpose(1, 2) / 4.0, dim=-1)
        x = x + att @ v
        x = x + self.ff(self.ln2(x))
        return self.fc(x.mean(dim=1))


export("transformer_op17", TinyTransformer(), torch.rand(2, 6, 16), 17, ["tokens"], ["logits"],
       {"tokens": {0: "N"}, "logits": {0: "N"}})
save_x("transformer_op17", rng.random((3, 6, 16), dtype=np.float32))
entry("transformer_op17", 17, ["LayerNorm", "attention (MatMul, Softmax)", "GELU (Erf)"], domain=[0, 1])

# 19. A two-logit binary classifier on tabular features (dynamic batch), opset 13: AutoAttack's
#     targeted stage has no class to target, and Square searches 1-D inputs.
class TwoClass(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2))

    def forward(self, x):
        return self.net(x)


export("two_class_features_op13", TwoClass(), torch.rand(2, 16), 13, ["features"], ["logits"],
       {"features": {0: "N"}, "logits": {0: "N"}})
save_x("two_class_features_op13", rng.random((8, 16), dtype=np.float32))
entry("two_class_features_op13", 13, ["2 classes", "1-D features"], domain=[0, 1])

# 20. A tabular classifier whose features have their own ranges ([0, 1], [-100, 100], [0, 5000]) in raw
#     units, scaled inside the model, opset 13: per-channel bounds (threat model input.lower/upper,
#     --domain 0:1,-100:100,0:5000), so ε is a fraction of each feature's range.
class Ranges(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("scale", torch.tensor([1.0, 0.01, 0.0002]))
        self.net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 3))

    def forward(self, x):
        return self.net(x * self.scale)


torch.manual_seed(20)
lower, upper = np.array([0, -100, 0], dtype=np.float32), np.array([1, 100, 5000], dtype=np.float32)
export("tabular_ranges_op13", Ranges(), torch.rand(2, 3), 13, ["features"], ["logits"],
       {"features": {0: "N"}, "logits": {0: "N"}})
save_x("tabular_ranges_op13", (lower + np.random.default_rng(20).random((6, 3), dtype=np.float32) * (upper - lower)).astype(np.float32))
entry("tabular_ranges_op13", 13, ["per-channel bounds", "features of different ranges"], lower=lower.tolist(), upper=upper.tolist())

with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump({"generator": "tools/zoo/export_zoo.py", "torch": torch.__version__, "onnx": onnx.__version__, "models": manifest}, f, indent=1)
print(f"wrote {len(manifest)} models to {OUT}")
