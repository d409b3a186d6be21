#!/usr/bin/python3
"""Larger architectures for gibbon's speed benchmark, and PyTorch's CPU figures on them in the same run.

Usage: peer_architectures.py OUT_DIR [--threads 2] [--models resnet18_32,mobilenetv2_224] [--batch-resnet 128]
                             [--batch-mobilenet 16] [--reps 5] [--export-only]

For each model it writes OUT_DIR/<model>.onnx once (random weights, seed 0, eval mode, opset 13, dynamic batch) and,
unless --export-only, prints JSON on stdout: {"peer": "pytorch <version>", "results": [{model, task, batch, threads,
images_per_s, flops_per_image}]}. images/s = batch / median seconds over `reps` timed runs after two warm-ups.

Tasks, as gibbon's bench/architecture-speed.ts runs them:
  forward     eval mode, no gradients.
  input_grad  eval mode, the summed cross-entropy's gradient with respect to the input only (weights frozen).
  train_step  train mode, mean cross-entropy, every weight gradient, SGD (lr 0.01, momentum 0.9) step.
flops_per_image counts 2 FLOPs per multiply-add of the convolutions and linear layers of one forward pass.

Architectures (written here from the papers, PyTorch default initialisation):
  resnet18_32      ResNet-18 for 32x32 inputs (He et al. 2016, arXiv:1512.03385; the CIFAR stem used by robustness
                   work: one 3x3 conv of 64, no max-pool), BasicBlocks [2, 2, 2, 2] of widths 64-512, BatchNorm, 10 classes.
  mobilenetv2_224  MobileNetV2 width 1.0 (Sandler et al. 2018, arXiv:1801.04381): inverted residual blocks with
                   ReLU6 and linear bottlenecks as in the paper's Table 2, 224x224 inputs, 1000 classes.
"""
import argparse, json, os, time
import torch, torch.nn as nn, torch.nn.functional as F


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False); self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False); self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet18(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [Basic(cin, cout, stride), Basic(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.layers(self.stem(x)), 1).flatten(1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        parts = []
        if expand != 1:
            parts += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        parts += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
                  nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*parts)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(nn.Module):
    # (expansion t, output channels c, repeats n, first stride s), the paper's Table 2.
    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, classes=1000):
        super().__init__()
        parts, cin = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()], 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                parts.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        parts += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()]
        self.features = nn.Sequential(*parts)
        self.fc = nn.Linear(1280, classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


MODELS = {
    "resnet18_32": (ResNet18, (3, 32, 32), 10),
    "mobilenetv2_224": (MobileNetV2, (3, 224, 224), 1000),
}


def flops_per_image(model, shape):
    total = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total[0] += 2 * k * out.numel()
        elif isinstance(m, nn.Linear):
            total[0] += 2 * m.in_features * out.numel()

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for h in hs:
        h.remove()
    return total[0]


def timeit(fn, reps):
    fn(); fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); fn(); ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default="resnet18_32,mobilenetv2_224")
    p.add_argument("--batch-resnet", type=int, default=128)
    p.add_argument("--batch-mobilenet", type=int, default=16)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--export-only", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.out_dir, exist_ok=True)
    results = []
    for name in a.models.split(","):
        ctor, shape, classes = MODELS[name]
        torch.manual_seed(0)
        model = ctor(classes).eval()
        path = os.path.join(a.out_dir, name + ".onnx")
        if not os.path.exists(path):
            tmp = path + ".tmp"
            torch.onnx.export(model, torch.rand(2, *shape), tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
            os.replace(tmp, path)
        if a.export_only:
            continue
        flops = flops_per_image(model, shape)
        batch = a.batch_resnet if name.startswith("resnet") else a.batch_mobilenet
        x = torch.rand(batch, *shape)
        y = torch.randint(0, classes, (batch,))
        for q in model.parameters():
            q.requires_grad_(False)

        def forward():
            with torch.no_grad():
                model(x)

        def input_grad():
            xx = x.clone().requires_grad_(True)
            F.cross_entropy(model(xx), y, reduction="sum").backward()

        train_model = ctor(classes).train()
        opt = torch.optim.SGD(train_model.parameters(), lr=0.01, momentum=0.9)

        def train_step():
            opt.zero_grad(); F.cross_entropy(train_model(x), y).backward(); opt.step()

        for task, fn in (("forward", forward), ("input_grad", input_grad), ("train_step", train_step)):
            t = timeit(fn, a.reps)
            results.append({"model": name, "task": task, "batch": batch, "threads": a.threads, "images_per_s": batch / t,
                            "flops_per_image": flops})
    if not a.export_only:
        print(json.dumps({"peer": "pytorch " + torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
