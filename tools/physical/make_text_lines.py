#!/usr/bin/python3
"""Text-line fixture for the physical-attack tests: rendered lines with real fonts and a small
ONNX classifier of them.

Renders short phrases of 6 kinds (the class is the kind) as 32x96 grey lines (dark text on a light
page) with Debian's DejaVu fonts (fonts-dejavu-core: Sans, Serif, Mono and their bold and
oblique variants), random size, position, ink and paper tone; trains a small CNN with PyTorch
1.13 and exports it to ONNX (opset 13). Held-out lines are drawn from a separate random stream
and are never trained on.

    /usr/bin/python3 tools/physical/make_text_lines.py   # writes test/fixtures/physical/

Writes text_line_classifier.onnx, lines_train.npy / labels_train.npy (patch training) and
lines_heldout.npy / labels_heldout.npy (uint8 pixels, N x 1 x 32 x 96), and prints the
classifier's held-out accuracy.
"""
import os
import random

import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageDraw, ImageFont

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'physical')
FONT_DIR = '/usr/share/fonts/truetype/dejavu'
FONTS = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSans-Oblique.ttf', 'DejaVuSerif.ttf', 'DejaVuSerif-Bold.ttf',
         'DejaVuSerif-Italic.ttf', 'DejaVuSansMono.ttf', 'DejaVuSansMono-Bold.ttf', 'DejaVuSansCondensed.ttf']
KINDS = [
    ['pay now', 'paid', 'invoice', 'refund'],
    ['stop', 'halt', 'wait here', 'no entry'],
    ['go left', 'turn left', 'left lane', 'exit left'],
    ['open', 'push', 'enter', 'welcome'],
    ['danger', 'warning', 'caution', 'hazard'],
    ['exit', 'way out', 'fire exit', 'escape'],
]
H, W = 32, 96


def render(rng, kind):
    text = rng.choice(KINDS[kind])
    font = ImageFont.truetype(os.path.join(FONT_DIR, rng.choice(FONTS)), rng.randint(13, 17))
    paper = rng.randint(200, 255)
    ink = rng.randint(0, 70)
    img = Image.new('L', (W, H), paper)
    draw = ImageDraw.Draw(img)
    box = draw.textbbox((0, 0), text, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    x = rng.randint(0, max(0, W - tw - 1)) - box[0]
    y = rng.randint(0, max(0, H - th - 1)) - box[1]
    draw.text((x, y), text, fill=ink, font=font)
    return np.asarray(img, dtype=np.uint8)


def dataset(seed, n):
    rng = random.Random(seed)
    labels = np.array([i % len(KINDS) for i in range(n)], dtype=np.int64)
    rng.shuffle(labels)
    lines = np.stack([render(rng, int(k)) for k in labels])[:, None]
    return lines, labels


class LineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 4 * 12, 64), nn.ReLU(), nn.Linear(64, len(KINDS)))

    def forward(self, x):
        # Ink is dark on a light page: invert so that the strokes are the large values.
        return self.head(self.features(1 - x))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    train_x, train_y = dataset(1, 8000)
    fit_x, fit_y = dataset(2, 300)
    held_x, held_y = dataset(3, 300)
    net = LineNet()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    xs = torch.tensor(train_x, dtype=torch.float32) / 255
    ys = torch.tensor(train_y)
    for epoch in range(14):
        perm = torch.randperm(len(xs))
        for i in range(0, len(xs), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (net(torch.tensor(held_x, dtype=torch.float32) / 255).argmax(1).numpy() == held_y).mean()
        print(f'epoch {epoch + 1}: loss {loss.item():.3f}, held-out accuracy {acc:.3f}')
    net.eval()
    torch.onnx.export(net, torch.zeros(1, 1, H, W), os.path.join(OUT, 'text_line_classifier.onnx'), opset_version=13,
                      input_names=['line'], output_names=['logits'], dynamic_axes={'line': {0: 'N'}, 'logits': {0: 'N'}})
    np.save(os.path.join(OUT, 'lines_train.npy'), fit_x)
    np.save(os.path.join(OUT, 'labels_train.npy'), fit_y)
    np.save(os.path.join(OUT, 'lines_heldout.npy'), held_x)
    np.save(os.path.join(OUT, 'labels_heldout.npy'), held_y)


if __name__ == '__main__':
    main()
