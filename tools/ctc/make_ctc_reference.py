"""Reference numbers for gibbon's CTC loss head, from torch.nn.functional.ctc_loss (float64).

Run with Debian's Python (torch 1.13): /usr/bin/python3 tools/ctc/make_ctc_reference.py
Writes test/fixtures/ctc/ctc_reference.json: per-frame scores z (T, N, C) (unnormalised; the head
applies log-softmax), padded targets (N, S), target lengths, the per-example loss −log p(target | z)
(reduction='none') and the gradient of the summed loss with respect to z.
Cases: repeated labels (need a blank between them), a target that fills every frame, an empty
target, padding values that are not blank.
"""
import json
import os

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fixtures", "ctc", "ctc_reference.json")

torch.manual_seed(7)
T, N, C = 9, 5, 6
z = (torch.randn(T, N, C, dtype=torch.float64) * 2.0).requires_grad_(True)
# Padding uses class 5 on purpose: the head must ignore everything past each length.
targets = torch.tensor([[1, 2, 2, 3], [4, 4, 5, 5], [3, 1, 5, 5], [5, 5, 5, 5], [2, 2, 2, 2]], dtype=torch.long)
lengths = torch.tensor([4, 2, 1, 0, 4], dtype=torch.long)
# Example 4 needs 4 labels + 3 separating blanks = 7 frames of 9; example 0 needs 5.
loss = F.ctc_loss(F.log_softmax(z, dim=2), targets, torch.full((N,), T, dtype=torch.long), lengths, blank=0, reduction="none")
loss.sum().backward()
with open(OUT, "w") as fh:
    json.dump({
        "generator": "tools/ctc/make_ctc_reference.py",
        "torch": torch.__version__,
        "layout": "TNC",
        "blank": 0,
        "shape": [T, N, C],
        "scores": z.detach().flatten().tolist(),
        "targets": targets.tolist(),
        "lengths": lengths.tolist(),
        "loss": loss.detach().tolist(),
        "grad": z.grad.flatten().tolist(),
    }, fh)
    fh.write("\n")
print("loss", loss.tolist())
