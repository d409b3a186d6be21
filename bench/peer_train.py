#!/usr/bin/python3
"""PyTorch CPU peer for gibbon's training-step benchmark (bench/train-speed.ts), measured in the same run.

Usage: peer_train.py [--threads 2] [--batch 128] [--models madry_cnn,mnist_cnn,cnn,mnist_mlp]
                     [--tasks train_step,train_step_fast_at] [--reps 7]
Prints JSON on stdout: {"peer": "pytorch <version>", "results": [{model, task, batch, threads, images_per_s}]}
(images/s = batch / median seconds per step over `reps` timed steps after two warm-up steps).

Tasks:
  train_step          model.train(), forward, mean cross-entropy, backward, SGD (lr 0.01, momentum 0.9) step.
  train_step_fast_at  the FGSM-with-random-start step of Wong et al. 2020 ("Fast is better than free",
                      arXiv:2001.03994) as their training scripts write it: delta ~ U[-eps, eps], x + delta
                      clamped to [0, 1], one forward/backward to delta, delta = clamp(delta + alpha*sign(grad),
                      -eps, eps), x + delta clamped to [0, 1], then the train_step above on clamp(x + delta, 0, 1);
                      eps 0.3, alpha 1.25*eps = 0.375.

Differences from gibbon's fast-AT step, all kept because they are what the reference code does:
  - the model stays in train mode while the adversarial example is made; gibbon makes it in eval mode (running
    BatchNorm statistics, no dropout). For these BatchNorm- and dropout-free nets both compute the same thing.
  - the attack's loss.backward() also computes every weight gradient (the parameters require grad; opt.zero_grad()
    discards them before the training backward); gibbon's attack graph computes the input gradient only.
  - the attack loss is the mean cross-entropy (gibbon's attack graph sums it); the sign step is the same.
  - Wong et al.'s MNIST script does not clamp the random start to [0, 1] (their CIFAR-10 script does, and gibbon's
    randomStart does); we clamp it, so both sides compute the same step.

Architectures (PyTorch default initialisation; speed does not depend on the weights):
  madry_cnn  conv 32@5x5 pad 2, ReLU, maxpool 2, conv 64@5x5 pad 2, ReLU, maxpool 2, fc 1024, ReLU, fc 10
             (Madry et al. 2018; gibbon's built-in 'madry').
  mnist_cnn  conv 16@3x3 pad 1, ReLU, maxpool 2, conv 32@3x3 pad 1, ReLU, maxpool 2, fc 128, ReLU, fc 10
             (the reference model in ../shared/reference/mnist_cnn).
  cnn        conv 32@3x3 pad 1, ReLU, maxpool 2, conv 64@3x3 pad 1, ReLU, maxpool 2, fc 128, ReLU, fc 10
             (gibbon's built-in 'cnn').
  mnist_mlp  fc 256, ReLU, fc 256, ReLU, fc 10 (the reference model in ../shared/reference/mnist_mlp).
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 0.3
ALPHA = 1.25 * EPS
LR = 0.01


def conv_net(c1, c2, k, hidden):
    return nn.Sequential(
        nn.Conv2d(1, c1, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, k, padding=k // 2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, 10))


ARCHITECTURES = {
    "madry_cnn": lambda: conv_net(32, 64, 5, 1024),
    "mnist_cnn": lambda: conv_net(16, 32, 3, 128),
    "cnn": lambda: conv_net(32, 64, 3, 128),
    "mnist_mlp": lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)),
}


def median_seconds(fn, reps):
    fn()
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--models", default="madry_cnn,mnist_cnn,cnn,mnist_mlp")
    ap.add_argument("--tasks", default="train_step,train_step_fast_at")
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tasks = args.tasks.split(",")
    out = []
    for name in args.models.split(","):
        if name not in ARCHITECTURES:
            continue  # gibbon reports 'no peer' for it
        x = torch.rand(args.batch, 1, 28, 28)
        y = torch.randint(0, 10, (args.batch,))
        model = ARCHITECTURES[name]().train()
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)

        def train_on(inputs):
            output = model(inputs)
            loss = F.cross_entropy(output, y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        def train_step():
            train_on(x)

        def train_step_fast_at():
            delta = torch.zeros_like(x).uniform_(-EPS, EPS)
            delta.data = torch.max(torch.min(1 - x, delta.data), 0 - x)
            delta.requires_grad = True
            output = model(x + delta)
            loss = F.cross_entropy(output, y)
            loss.backward()
            grad = delta.grad.detach()
            delta.data = torch.clamp(delta + ALPHA * torch.sign(grad), -EPS, EPS)
            delta.data = torch.max(torch.min(1 - x, delta.data), 0 - x)
            delta = delta.detach()
            train_on(torch.clamp(x + delta, 0, 1))

        runners = {"train_step": train_step, "train_step_fast_at": train_step_fast_at}
        for task in tasks:
            if task not in runners:
                continue
            seconds = median_seconds(runners[task], args.reps)
            out.append({"model": name, "task": task, "batch": args.batch, "threads": args.threads, "images_per_s": args.batch / seconds})
    print(json.dumps({"peer": "pytorch " + torch.__version__, "results": out}))


if __name__ == "__main__":
    main()
