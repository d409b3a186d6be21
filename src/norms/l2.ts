/** The L2 ball: the Euclidean length of the perturbation is at most ε. */
import type { Bounds } from '../model/bounds.js';
import type { Rng } from '../random.js';
import { rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkEps, checkSameShape } from './checks.js';
import type { Norm } from './norm.js';

function rowNorms(data: Float32Array, n: number, row: number, other?: Float32Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * row; j < (i + 1) * row; j++) {
      const d = other ? data[j]! - other[j]! : data[j]!;
      s += d * d;
    }
    out[i] = Math.sqrt(s);
  }
  return out;
}

function distance(a: Tensor, b: Tensor): Float64Array {
  checkSameShape(a, b, 'l2.distance');
  return rowNorms(a.data, a.shape[0]!, rowSize(a), b.data);
}

function magnitude(d: Tensor): Float64Array {
  return rowNorms(d.data, d.shape[0]!, rowSize(d));
}

function normalizeGradient(g: Tensor): Tensor {
  const row = rowSize(g);
  const n = g.shape[0]!;
  const norms = rowNorms(g.data, n, row);
  const out = new Float32Array(g.data.length);
  for (let i = 0; i < n; i++) {
    const s = norms[i]! > 0 ? 1 / norms[i]! : 0;
    for (let j = i * row; j < (i + 1) * row; j++) out[j] = g.data[j]! * s;
  }
  return { data: out, shape: [...g.shape] };
}

function project(x0: Tensor, x: Tensor, eps: number, bounds: Bounds): Tensor {
  checkSameShape(x0, x, 'l2.project');
  checkEps(eps);
  const row = rowSize(x);
  const n = x.shape[0]!;
  const out = new Float32Array(x.data.length);
  const { lower, upper } = bounds;
  const norms = rowNorms(x.data, n, row, x0.data);
  for (let i = 0; i < n; i++) {
    // Scaling first and clipping to the bounds second stays inside the ball, because clipping only
    // moves features towards x0 (which is inside the bounds).
    let scale = norms[i]! > eps ? eps / norms[i]! : 1;
    for (let attempt = 0; ; attempt++) {
      let s = 0;
      for (let j = i * row; j < (i + 1) * row; j++) {
        const c = x0.data[j]!;
        out[j] = Math.min(Math.max(c + (x.data[j]! - c) * scale, lower), upper);
        const d = out[j]! - c;
        s += d * d;
      }
      const dist = Math.sqrt(s);
      // Float32 rounding can leave the result a hair outside; shrink a little more.
      if (dist <= eps || attempt >= 8) {
        if (dist > eps) for (let j = i * row; j < (i + 1) * row; j++) out[j] = x0.data[j]!;
        break;
      }
      scale *= (eps / dist) * (1 - 1e-6);
    }
  }
  return { data: out, shape: [...x.shape] };
}

function randomStart(x0: Tensor, eps: number, rng: Rng, bounds: Bounds): Tensor {
  checkEps(eps);
  const row = rowSize(x0);
  const n = x0.shape[0]!;
  const x = new Float32Array(x0.data.length);
  for (let i = 0; i < n; i++) {
    // Uniform in the ball: a Gaussian direction and radius ε·u^(1/d).
    let s = 0;
    for (let j = i * row; j < (i + 1) * row; j++) {
      const v = rng.normal();
      x[j] = v;
      s += v * v;
    }
    const radius = eps * Math.pow(rng.uniform(), 1 / row);
    const scale = s > 0 ? radius / Math.sqrt(s) : 0;
    for (let j = i * row; j < (i + 1) * row; j++) x[j] = x0.data[j]! + x[j]! * scale;
  }
  return project(x0, { data: x, shape: x0.shape }, eps, bounds);
}

export const l2: Norm = Object.freeze({
  name: 'l2',
  distance,
  magnitude,
  dualNorm: magnitude,
  normalizeGradient,
  project,
  randomStart,
  clipPerturbation: project,
});
