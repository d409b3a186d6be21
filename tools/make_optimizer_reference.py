#!/usr/bin/env python3
"""PyTorch reference data for gibbon's optimizers and learning-rate schedules (src/training).

Writes to test/fixtures/optimizer/ (or the folder given as the only argument):

- ``params0.w.npy`` (7, 5) and ``params0.b.npy`` (5,): seeded float32 starting parameters;
- ``grads.w.npy`` (4, 7, 5) and ``grads.b.npy`` (4, 5): four seeded gradient sets with magnitudes spread
  over three decades (and a few exact zeros);
- ``<case>.w.npy`` (4, 7, 5) and ``<case>.b.npy`` (4, 5): the parameters after each of the four
  ``optimizer.step()`` calls of one torch.optim case (SGD, SGD+Nesterov+weight decay, SGD with dampening,
  plain SGD, Adam, AdamW, Adam with weight decay and a step where ``b`` has no gradient);
- ``reference.json``: the torch version, every optimizer case (gibbon spec, learning rate per step, which
  steps give ``b`` no gradient) and every schedule case (gibbon spec, base lr, total steps and the lr of
  ``optimizer.param_groups[0]`` before each of the ``total_steps`` updates plus the one after the last).

torch.optim is run with ``foreach=False`` (the single-tensor algorithm gibbon mirrors), float32, CPU.
How it was run (Debian's python3-torch 1.13 and python3-numpy; the ``python3`` of a virtualenv may lack them):

    /usr/bin/python3 tools/make_optimizer_reference.py

Deterministic: re-running gives the same files on the same torch version (total ~20 KB).
"""
import json
import os
import sys

import numpy as np
import torch

STEPS = 4
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'optimizer')

# (name, torch class, torch kwargs, gibbon OptimizerSpec, lr per step, steps at which b has no grad)
CASES = [
    ('sgd_momentum', torch.optim.SGD, dict(momentum=0.9), {'type': 'sgd', 'momentum': 0.9}, [0.1] * 4, []),
    ('sgd_nesterov_wd', torch.optim.SGD, dict(momentum=0.9, nesterov=True, weight_decay=5e-4),
     {'type': 'sgd', 'momentum': 0.9, 'nesterov': True, 'weightDecay': 5e-4}, [0.1] * 4, []),
    ('sgd_dampening_wd', torch.optim.SGD, dict(momentum=0.8, dampening=0.3, weight_decay=1e-2),
     {'type': 'sgd', 'momentum': 0.8, 'dampening': 0.3, 'weightDecay': 1e-2}, [0.1, 0.05, 0.02, 0.01], [2]),
    ('sgd_plain', torch.optim.SGD, dict(), {'type': 'sgd'}, [0.1] * 4, []),
    ('adam', torch.optim.Adam, dict(), {'type': 'adam'}, [1e-3] * 4, []),
    ('adamw', torch.optim.AdamW, dict(weight_decay=0.01), {'type': 'adamw', 'weightDecay': 0.01}, [1e-3] * 4, []),
    ('adamw_default_lr_schedule', torch.optim.AdamW, dict(), {'type': 'adamw'}, [1e-2, 3e-2, 2e-2, 5e-3], []),
    ('adam_wd_skip', torch.optim.Adam, dict(betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2),
     {'type': 'adam', 'beta1': 0.8, 'beta2': 0.99, 'eps': 1e-6, 'weightDecay': 1e-2}, [1e-2] * 4, [1]),
]

# (name, gibbon ScheduleSpec, base lr, total steps, scheduler factory)
SCHEDULES = [
    ('step_7_0.5', {'type': 'step', 'stepSize': 7, 'gamma': 0.5}, 0.1, 50, lambda o, t: torch.optim.lr_scheduler.StepLR(o, 7, gamma=0.5)),
    ('step_10', {'type': 'step', 'stepSize': 10}, 0.1, 50, lambda o, t: torch.optim.lr_scheduler.StepLR(o, 10)),
    ('cosine', {'type': 'cosine'}, 0.1, 50, lambda o, t: torch.optim.lr_scheduler.CosineAnnealingLR(o, t)),
    ('cosine_eta_min', {'type': 'cosine', 'etaMin': 1e-3}, 0.05, 37,
     lambda o, t: torch.optim.lr_scheduler.CosineAnnealingLR(o, t, eta_min=1e-3)),
    ('one_cycle', {'type': 'one-cycle'}, 0.1, 50, lambda o, t: torch.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=t)),
    ('one_cycle_linear', {'type': 'one-cycle', 'pctStart': 0.25, 'divFactor': 10, 'finalDivFactor': 100, 'annealStrategy': 'linear'},
     0.02, 37, lambda o, t: torch.optim.lr_scheduler.OneCycleLR(o, 0.02, total_steps=t, pct_start=0.25, div_factor=10.,
                                                                 final_div_factor=100., anneal_strategy='linear')),
    ('one_cycle_short_warmup', {'type': 'one-cycle', 'pctStart': 0.1}, 0.1, 50,
     lambda o, t: torch.optim.lr_scheduler.OneCycleLR(o, 0.1, total_steps=t, pct_start=0.1)),
]


def save(name, array):
    np.save(os.path.join(OUT, name), np.ascontiguousarray(array))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20240611)
    w0 = torch.randn(7, 5) * 0.3
    b0 = torch.randn(5) * 0.1
    scale_w = 10.0 ** torch.empty(STEPS, 7, 5).uniform_(-3, 0)
    scale_b = 10.0 ** torch.empty(STEPS, 5).uniform_(-3, 0)
    gw = torch.randn(STEPS, 7, 5) * scale_w
    gb = torch.randn(STEPS, 5) * scale_b
    gw[:, 0, 0] = 0.0  # an entry that never gets a gradient
    gw[1, 3, :] = 0.0
    save('params0.w.npy', w0.numpy())
    save('params0.b.npy', b0.numpy())
    save('grads.w.npy', gw.numpy())
    save('grads.b.npy', gb.numpy())

    cases = []
    for name, cls, kwargs, spec, lrs, skip_b in CASES:
        w = w0.clone().requires_grad_(True)
        b = b0.clone().requires_grad_(True)
        opt = cls([w, b], lr=lrs[0], foreach=False, **kwargs)
        ws, bs = [], []
        for k in range(STEPS):
            opt.param_groups[0]['lr'] = lrs[k]
            w.grad = gw[k].clone()
            b.grad = None if k in skip_b else gb[k].clone()
            opt.step()
            ws.append(w.detach().clone().numpy())
            bs.append(b.detach().clone().numpy())
        save(f'{name}.w.npy', np.stack(ws))
        save(f'{name}.b.npy', np.stack(bs))
        cases.append({'name': name, 'spec': spec, 'lrs': lrs, 'noGradForB': skip_b,
                      'torch': f'{cls.__name__}({", ".join([f"{k}={v}" for k, v in kwargs.items()] + ["foreach=False"])})'})

    schedules = []
    for name, spec, base_lr, total, make in SCHEDULES:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=base_lr, momentum=0.9)
        sched = make(opt, total)
        lrs = []
        for _ in range(total):
            lrs.append(opt.param_groups[0]['lr'])
            p.grad = torch.zeros(1)
            opt.step()
            sched.step()
        lrs.append(opt.param_groups[0]['lr'])
        schedules.append({'name': name, 'spec': spec, 'baseLr': base_lr, 'totalSteps': total, 'lrs': lrs,
                          'torch': type(sched).__name__})

    meta = {
        'description': 'PyTorch reference for gibbon optimizers and lr schedules; made by tools/make_optimizer_reference.py',
        'torch': torch.__version__,
        'numpy': np.__version__,
        'steps': STEPS,
        'params': {'w': [7, 5], 'b': [5]},
        'optimizers': cases,
        'schedules': schedules,
    }
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
