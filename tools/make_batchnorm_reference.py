#!/usr/bin/env python3
"""PyTorch reference data for gibbon's training-mode BatchNorm (src/training/training-graph.ts and
running-stats.ts): two consecutive training steps of two tiny models, as ``model.train()`` runs them.

Writes one folder per model to test/fixtures/batchnorm/ (or the folder given as the only argument):

- ``bn2d/``: Conv2d(1, 4, 3, padding=1) → BatchNorm2d(4) → ReLU → Flatten → Linear(4·8·8, 3), input (6, 1, 8, 8);
- ``bn1d/``: Linear(10, 5) → BatchNorm1d(5) → ReLU → Linear(5, 3), input (6, 10).

Module names are ``conv``/``fc0``, ``bn``, ``fc``, so the state_dict keys are ``conv.weight``, ``bn.running_mean``, ….
The BatchNorm affine weights and the starting running statistics are random (not 1/0/0/1), so that the
gradients with respect to γ and β and the momentum convention are really exercised. Each folder holds:

- ``param.<name>.npy``: every parameter, and ``bn.running_mean``/``bn.running_var`` before the first step;
- ``x.npy`` (2, 6, …) float32 and ``y.npy`` (2, 6) int64: the two batches;
- ``logits.npy`` (2, 6, 3): the training-mode logits of each step;
- ``grad.<name>.npy`` (2, …): the gradient of the mean cross-entropy of each step with respect to each parameter;
- ``running_mean.npy``/``running_var.npy`` (3, C): the running statistics before, after step 1 and after step 2
  (PyTorch momentum 0.1: running ← 0.9·running + 0.1·batch statistic, unbiased batch variance);
- ``eval_logits.npy`` (6, 3): ``model.eval()`` logits of the first batch after the two steps;
- ``reference.json``: the torch version, the two losses (float, from float32), momentum and epsilon.

The weights are not updated between the steps (no optimizer): step 2 differs from step 1 only by its batch
and by the running statistics it starts from. float32, CPU. How it was run (Debian's python3-torch 1.13 and
python3-numpy; the ``python3`` of a virtualenv may lack them):

    /usr/bin/python3 tools/make_batchnorm_reference.py

Deterministic: re-running gives the same files on the same torch version (~15 KB in all).
"""
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'batchnorm')
BATCH = 6
STEPS = 2


def save(folder, name, array):
    np.save(os.path.join(folder, name), np.ascontiguousarray(array))


def bn2d():
    return nn.Sequential(OrderedDict([
        ('conv', nn.Conv2d(1, 4, 3, padding=1)),
        ('bn', nn.BatchNorm2d(4)),
        ('relu', nn.ReLU()),
        ('flatten', nn.Flatten()),
        ('fc', nn.Linear(4 * 8 * 8, 3)),
    ])), (1, 8, 8)


def bn1d():
    return nn.Sequential(OrderedDict([
        ('fc0', nn.Linear(10, 5)),
        ('bn', nn.BatchNorm1d(5)),
        ('relu', nn.ReLU()),
        ('fc', nn.Linear(5, 3)),
    ])), (10,)


def make(name, factory, seed):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(seed)
    model, shape = factory()
    bn = model.bn
    with torch.no_grad():
        bn.weight.copy_(1 + 0.5 * torch.randn_like(bn.weight))
        bn.bias.copy_(0.3 * torch.randn_like(bn.bias))
        bn.running_mean.copy_(0.2 * torch.randn_like(bn.running_mean))
        bn.running_var.copy_(0.5 + torch.rand_like(bn.running_var))
    assert bn.momentum == 0.1 and bn.eps == 1e-5
    for key, value in model.state_dict().items():
        if key.endswith('num_batches_tracked'):
            continue
        save(folder, f'param.{key}.npy', value.numpy())
    # Inputs with a per-channel offset and scale, so the batch statistics are far from 0/1.
    x = torch.randn(STEPS, BATCH, *shape) * 1.5 + 0.7
    y = torch.randint(0, 3, (STEPS, BATCH))
    save(folder, 'x.npy', x.numpy())
    save(folder, 'y.npy', y.numpy().astype(np.int64))

    params = OrderedDict(model.named_parameters())
    logits, losses = [], []
    grads = {k: [] for k in params}
    means = [bn.running_mean.clone()]
    variances = [bn.running_var.clone()]
    model.train()
    for step in range(STEPS):
        model.zero_grad()
        z = model(x[step])
        loss = nn.functional.cross_entropy(z, y[step])  # mean reduction
        loss.backward()
        logits.append(z.detach().clone())
        losses.append(float(loss.item()))
        for k, p in params.items():
            grads[k].append(p.grad.detach().clone())
        means.append(bn.running_mean.clone())
        variances.append(bn.running_var.clone())
    model.eval()
    with torch.no_grad():
        eval_logits = model(x[0])

    save(folder, 'logits.npy', torch.stack(logits).numpy())
    for k, g in grads.items():
        save(folder, f'grad.{k}.npy', torch.stack(g).numpy())
    save(folder, 'running_mean.npy', torch.stack(means).numpy())
    save(folder, 'running_var.npy', torch.stack(variances).numpy())
    save(folder, 'eval_logits.npy', eval_logits.numpy())
    with open(os.path.join(folder, 'reference.json'), 'w') as f:
        json.dump({
            'torch': torch.__version__,
            'model': str(model),
            'input_shape': [BATCH, *shape],
            'steps': STEPS,
            'losses': losses,
            'momentum_pytorch': bn.momentum,
            'momentum_onnx': 1 - bn.momentum,
            'epsilon': bn.eps,
            'params': list(params.keys()),
        }, f, indent=1)
        f.write('\n')


def main():
    torch.set_num_threads(1)
    make('bn2d', bn2d, 20240612)
    make('bn1d', bn1d, 20240613)


if __name__ == '__main__':
    main()
