/** The L∞ ball: every feature may move by at most ε. */
import type { Bounds } from '../model/bounds.js';
import type { Rng } from '../random.js';
import { rowSize } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkEps, checkSameShape, nextFloat32Toward } from './checks.js';
import type { Norm } from './norm.js';

/** Per row of an (N, …) tensor t: the largest |value(j)| over the row's flat indices j. */
function rowMaxAbs(t: Tensor, value: (j: number) => number): Float64Array {
  const row = rowSize(t);
  const out = new Float64Array(t.shape[0]!);
  for (let i = 0; i < out.length; i++) {
    let m = 0;
    for (let j = i * row; j < (i + 1) * row; j++) m = Math.max(m, Math.abs(value(j)));
    out[i] = m;
  }
  return out;
}

function distance(a: Tensor, b: Tensor): Float64Array {
  checkSameShape(a, b, 'linf.distance');
  return rowMaxAbs(a, (j) => a.data[j]! - b.data[j]!);
}

function magnitude(d: Tensor): Float64Array {
  return rowMaxAbs(d, (j) => d.data[j]!);
}

function dualNorm(g: Tensor): Float64Array {
  const row = rowSize(g);
  const out = new Float64Array(g.shape[0]!);
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let j = i * row; j < (i + 1) * row; j++) s += Math.abs(g.data[j]!);
    out[i] = s;
  }
  return out;
}

function normalizeGradient(g: Tensor): Tensor {
  const out = new Float32Array(g.data.length);
  for (let j = 0; j < out.length; j++) out[j] = Math.sign(g.data[j]!);
  return { data: out, shape: [...g.shape] };
}

function project(x0: Tensor, x: Tensor, eps: number, bounds: Bounds): Tensor {
  checkSameShape(x0, x, 'linf.project');
  checkEps(eps);
  const out = new Float32Array(x.data.length);
  const { lower, upper } = bounds;
  for (let j = 0; j < out.length; j++) {
    const c = x0.data[j]!;
    const v = Math.min(Math.max(x.data[j]!, c - eps, lower), c + eps, upper);
    out[j] = v;
    // Rounding to float32 can land one ulp outside the ball; step back inside.
    const stored = out[j]!;
    if (Math.abs(stored - c) > eps) out[j] = nextFloat32Toward(stored, c);
  }
  return { data: out, shape: [...x.shape] };
}

function randomStart(x0: Tensor, eps: number, rng: Rng, bounds: Bounds): Tensor {
  checkEps(eps);
  const x = new Float32Array(x0.data.length);
  for (let j = 0; j < x.length; j++) x[j] = x0.data[j]! + rng.uniformIn(-eps, eps);
  return project(x0, { data: x, shape: x0.shape }, eps, bounds);
}

export const linf: Norm = Object.freeze({
  name: 'linf',
  distance,
  magnitude,
  dualNorm,
  normalizeGradient,
  project,
  randomStart,
  clipPerturbation: project,
});
