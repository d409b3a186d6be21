"""Render the digit lines of the CTC patch measurement (issue 18, deliverable 5 with a recogniser).

Run with Debian's Python (PIL, numpy, torch for the shared renderer; fonts-dejavu-core):
    /usr/bin/python3 tools/physical/make_ctc_patch_lines.py
Uses the renderer of tools/ctc/train_crnn.py (the lines test/fixtures/ctc/crnn_digits.onnx was
trained on: six DejaVu faces, random sizes, positions, ink and paper tones, pixel noise) with seeds
that recogniser never saw, and writes to test/fixtures/physical/:
    ctc_train.x.npy, ctc_heldout.x.npy   uint8 (N, 1, 32, 128): pixel × 255 (divide by 255)
    ctc_lines.json                      the ground-truth strings of both sets
A patch is trained on the first set and measured on the second.
"""
import importlib.util
import json
import os
import random

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("train_crnn", os.path.join(ROOT, "tools", "ctc", "train_crnn.py"))
crnn = importlib.util.module_from_spec(spec)
spec.loader.exec_module(crnn)
OUT = os.path.join(ROOT, "test", "fixtures", "physical")


def write_npy(path, x):
    np.save(path, np.round(x * 255.0).astype(np.uint8))


def main():
    xtr, ttr = crnn.make_set(200, random.Random(181))
    xho, tho = crnn.make_set(150, random.Random(182))
    write_npy(os.path.join(OUT, "ctc_train.x.npy"), xtr)
    write_npy(os.path.join(OUT, "ctc_heldout.x.npy"), xho)
    with open(os.path.join(OUT, "ctc_lines.json"), "w") as f:
        json.dump({"generator": "tools/physical/make_ctc_patch_lines.py", "model": "../ctc/crnn_digits.onnx", "scale": 255,
                   "charset": crnn.CHARSET, "blank": 0, "train": ttr, "heldout": tho}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
