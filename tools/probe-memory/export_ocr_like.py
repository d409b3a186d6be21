"""A PaddleOCR-sized text recogniser without recurrent layers (~2.5 M parameters, ~10 MB) exported
from PyTorch at 48x320, for measuring gibbon's memory on the shape probe and gradient graph.

    /usr/bin/python3 tools/probe-memory/export_ocr_like.py OUT_DIR
writes OUT_DIR/ocr_like.onnx (input 'image' [N, 3, 48, 320], output 'logits' [N, 80, 97]: per-column
class scores, read by gibbon with --output-reduce mean), OUT_DIR/ocr_like.x.npy (2 images) and
OUT_DIR/ocr_like.y.npy (labels) and OUT_DIR/ocr_like_cls.onnx (the same weights, mean over the columns inside the model). The file is too large for git; the measurement is in the README of
this folder.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
os.makedirs(out, exist_ok=True)
torch.manual_seed(48320)


def block(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.Hardswish())


class OcrLike(nn.Module):
    def __init__(self, classes=97):
        super().__init__()
        self.body = nn.Sequential(
            block(3, 32, 1), block(32, 64, (2, 1)), block(64, 64, 1), block(64, 128, (2, 2)), block(128, 128, 1),
            block(128, 256, (2, 1)), block(256, 256, 1), block(256, 320, (2, 2)), block(320, 320, 1),
        )
        self.head = nn.Linear(320, classes)

    def forward(self, x):
        y = self.body(x)              # (N, 320, 3, 80)
        y = y.mean(dim=2).permute(0, 2, 1)  # (N, 80, 320)
        return self.head(y)           # (N, 80, classes)


m = OcrLike().eval()
print("parameters:", sum(p.numel() for p in m.parameters()))
torch.onnx.export(m, torch.rand(1, 3, 48, 320), os.path.join(out, "ocr_like.onnx"), opset_version=13,
                  input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
rng = np.random.default_rng(1)
np.save(os.path.join(out, "ocr_like.x.npy"), rng.random((2, 3, 48, 320), dtype=np.float32))
np.save(os.path.join(out, "ocr_like.y.npy"), np.array([1, 2], dtype=np.int64))


class OcrLikeClassifier(OcrLike):
    """The same network read as one classifier (mean over the columns), for gibbon versions without --output-reduce."""

    def forward(self, x):
        return super().forward(x).mean(dim=1)


c = OcrLikeClassifier().eval()
c.load_state_dict(m.state_dict())
torch.onnx.export(c, torch.rand(1, 3, 48, 320), os.path.join(out, "ocr_like_cls.onnx"), opset_version=13,
                  input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
