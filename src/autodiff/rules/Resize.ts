/**
 * Resize: for fixed sizes Y is linear in X and separable, Y = X ×_d W_d over the resized axes d
 * (W_d[j][i]: weight of input i in output j), so dX = dY ×_d W_dᵀ. Each W_d is built at graph-build
 * time from the static sizes, following onnxruntime's coordinate arithmetic (float32).
 */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { VjpContext, VjpRule } from '../vjp-rule.js';
import { dimOf, floatTensor, int64Vector, normalizeAxis } from './common.js';

interface AxisResize {
  /** Input and output sizes. */
  n: number;
  m: number;
  scale: number;
  roi: readonly [number, number];
}

interface ResizeAttrs {
  mode: string;
  coordinates: string;
  nearest: string;
  cubicA: number;
  excludeOutside: boolean;
}

const COORDINATE_MODES = [
  'half_pixel',
  'half_pixel_symmetric',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'tf_crop_and_resize',
];
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'];

export const resizeVjp: VjpRule = {
  opType: 'Resize',
  sinceVersion: 13,
  inputs: ['X', 'roi', 'scales', 'sizes'],
  vjp(ctx: VjpContext) {
    const { b, attrs } = ctx;
    const X = ctx.input(0);
    const xShape = ctx.shape(X);
    const yShape = ctx.shape(ctx.output(0));
    const rank = xShape.length;
    const a: ResizeAttrs = {
      mode: attrs.string('mode', 'nearest'),
      coordinates: attrs.string('coordinate_transformation_mode', 'half_pixel'),
      nearest: attrs.string('nearest_mode', 'round_prefer_floor'),
      cubicA: attrs.float('cubic_coeff_a', -0.75),
      excludeOutside: attrs.int('exclude_outside', 0) !== 0,
    };
    if (!['nearest', 'linear', 'cubic'].includes(a.mode)) ctx.unsupported(`mode='${a.mode}'`);
    if (!COORDINATE_MODES.includes(a.coordinates)) ctx.unsupported(`coordinate_transformation_mode='${a.coordinates}'`);
    if (a.mode === 'nearest' && !NEAREST_MODES.includes(a.nearest)) ctx.unsupported(`nearest_mode='${a.nearest}'`);
    const antialias = attrs.int('antialias', 0) !== 0 && a.mode !== 'nearest';
    const axes = attrs
      .ints(
        'axes',
        xShape.map((_, i) => i),
      )
      .map((d) => normalizeAxis(d, rank));

    const given = (i: number): readonly number[] | undefined => {
      const name = ctx.input(i);
      if (!name) return undefined;
      const v = ctx.constant(name);
      if (!v) ctx.unsupported(`${['roi', 'scales', 'sizes'][i - 1]} computed from the data at run time`);
      return v.length ? v : undefined;
    };
    const scales = given(2);
    const sizes = scales ? undefined : given(3);
    const roi = a.coordinates === 'tf_crop_and_resize' ? given(1) : undefined;
    if (a.coordinates === 'tf_crop_and_resize' && !roi) ctx.unsupported("coordinate_transformation_mode='tf_crop_and_resize' without a constant roi");

    const policy = attrs.string('keep_aspect_ratio_policy', 'stretch');
    let common: number | undefined;
    if (!scales && policy !== 'stretch') {
      if (!sizes) ctx.unsupported('neither scales nor sizes given');
      const ratios = axes.map((d, k) => {
        const n = xShape[d];
        if (n === null || n === undefined) ctx.unsupported(`keep_aspect_ratio_policy='${policy}' with axis ${d} sized at run time`);
        return Math.fround(sizes[k]! / n);
      });
      if (policy === 'not_larger') common = Math.min(...ratios);
      else if (policy === 'not_smaller') common = Math.max(...ratios);
      else ctx.unsupported(`keep_aspect_ratio_policy='${policy}'`);
    }

    const general: { axis: number; w: Float64Array; n: number; m: number }[] = [];
    const replicated: { axis: number; n: number; k: number }[] = [];
    axes.forEach((d, k) => {
      const n = xShape[d];
      const m = yShape[d];
      const scale = scales ? Math.fround(scales[k]!) : (common ?? (n && m !== null && m !== undefined ? Math.fround(m / n) : undefined));
      const window: readonly [number, number] = roi ? [roi[k]!, roi[k + axes.length]!] : [0, 1];
      if (n === null || n === undefined || m === null || m === undefined) {
        // An axis left alone (typically the batch) needs no sizes.
        if (scale === 1 && a.coordinates !== 'tf_crop_and_resize') return;
        ctx.unsupported(`resizing axis ${d}, whose size is only known at run time`);
      }
      if (n === 0 || m === 0) ctx.unsupported(`an empty axis ${d}`);
      if (antialias && scale! < 1) ctx.unsupported(`antialias=1 when downscaling axis ${d} (the widened filter is not modelled)`);
      const w = axisWeights(a, { n, m, scale: scale!, roi: window });
      const factor = replicationFactor(w, n, m);
      if (factor === 1) return;
      if (factor) replicated.push({ axis: d, n, k: factor });
      else general.push({ axis: d, w, n, m });
    });

    let g = ctx.dY()!;
    const type = ctx.dataType(X);
    for (const { axis, w, n, m } of general) g = alongAxis(b, g, rank, axis, w, m, n, type);
    if (replicated.length) {
      // Nearest upsampling by an integer factor copies blocks: reshape each axis to [n, k] and sum the copies.
      const dims: (number | string)[] = [];
      const copyAxes: number[] = [];
      for (let d = 0; d < rank; d++) {
        const r = replicated.find((x) => x.axis === d);
        if (r) {
          dims.push(r.n);
          copyAxes.push(dims.length);
          dims.push(r.k);
        } else {
          const fixed = general.find((x) => x.axis === d)?.n ?? yShape[d];
          dims.push(fixed ?? dimOf(b, g, d));
        }
      }
      const blocks = b.op('Reshape', [g, int64Vector(b, dims)], {}, { name: 'Resize_blocks' });
      g = b.op('ReduceSum', [blocks, b.int64s(copyAxes)], { keepdims: 0 }, { name: 'Resize_dX' });
    }
    return { X: g, roi: null, scales: null, sizes: null };
  },
};

/** The (float32) input coordinate that output position j samples, as onnxruntime computes it. */
function sourceCoordinate(mode: string, j: number, p: AxisResize): number {
  const f = Math.fround;
  const { n, m, scale } = p;
  const halfPixel = (): number => f(f(f(j + 0.5) / scale) - 0.5);
  switch (mode) {
    case 'asymmetric':
      return f(j / scale);
    case 'pytorch_half_pixel':
      return m > 1 ? halfPixel() : 0;
    case 'tf_half_pixel_for_nn':
      return f(f(j + 0.5) / scale);
    case 'align_corners':
      return m === 1 ? 0 : f(f(j * (n - 1)) / (m - 1));
    case 'half_pixel_symmetric': {
      const adjustment = f(m / f(scale * n));
      const offset = f(f(n / 2) * f(1 - adjustment));
      return f(offset + halfPixel());
    }
    case 'tf_crop_and_resize': {
      const [start, end] = p.roi;
      return f(m > 1 ? start * (n - 1) + (j * (end - start) * (n - 1)) / (m - 1) : 0.5 * (start + end) * (n - 1));
    }
    default:
      return halfPixel();
  }
}

function nearestIndex(rule: string, x: number): number {
  switch (rule) {
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
    // C's round: halves away from zero.
    case 'round_prefer_ceil':
      return Math.sign(x) * Math.round(Math.abs(x));
    default:
      return x === Math.trunc(x) + 0.5 ? Math.floor(x) : Math.sign(x) * Math.round(Math.abs(x));
  }
}

/** Keys' cubic convolution weights for the 4 neighbours at offsets −1, 0, 1, 2 of fraction s. */
function cubicWeights(s: number, a: number): number[] {
  const near = (t: number): number => ((a + 2) * t - (a + 3)) * t * t + 1;
  const far = (t: number): number => ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return [far(s + 1), near(s), near(1 - s), far(2 - s)];
}

/** W[j·n + i]: the weight of input i in output j along one axis. */
function axisWeights(a: ResizeAttrs, p: AxisResize): Float64Array {
  const { n, m } = p;
  const w = new Float64Array(m * n);
  const clampIndex = (i: number): number => Math.min(Math.max(i, 0), n - 1);
  for (let j = 0; j < m; j++) {
    const x = sourceCoordinate(a.coordinates, j, p);
    // tf_crop_and_resize samples outside the input read extrapolation_value, a constant.
    if (a.coordinates === 'tf_crop_and_resize' && (x < 0 || x > n - 1)) continue;
    const row = j * n;
    if (a.mode === 'nearest') {
      w[row + clampIndex(nearestIndex(a.nearest, x))] = 1;
    } else if (a.mode === 'linear') {
      const xc = Math.min(Math.max(x, 0), n - 1);
      const i0 = Math.min(Math.floor(xc), n - 1);
      const i1 = Math.min(i0 + 1, n - 1);
      const t = Math.fround(xc - i0);
      w[row + i0] += 1 - t;
      w[row + i1] += t;
    } else {
      const i0 = Math.floor(x);
      const weights = cubicWeights(Math.fround(x - i0), a.cubicA);
      const inside = weights.map((_, k) => i0 - 1 + k >= 0 && i0 - 1 + k < n);
      const kept = a.excludeOutside ? weights.reduce((s, c, k) => s + (inside[k] ? c : 0), 0) : 1;
      weights.forEach((c, k) => {
        if (a.excludeOutside && !inside[k]) return;
        w[row + clampIndex(i0 - 1 + k)] += c / kept;
      });
    }
  }
  return w;
}

/** 1 for the identity, k when output j copies input ⌊j/k⌋ (integer nearest upsampling), else undefined. */
function replicationFactor(w: Float64Array, n: number, m: number): number | undefined {
  if (m % n !== 0) return undefined;
  const k = m / n;
  for (let j = 0; j < m; j++) {
    for (let i = 0; i < n; i++) if (w[j * n + i] !== (i === Math.floor(j / k) ? 1 : 0)) return undefined;
  }
  return k;
}

/** g ×_axis W with W of shape [m, n]: the axis of length m becomes n. */
function alongAxis(b: GraphBuilder, g: string, rank: number, axis: number, w: Float64Array, m: number, n: number, type: number): string {
  if (axis === rank - 1) return b.op('MatMul', [g, floatTensor(b, type, [m, n], Array.from(w))], {}, { name: 'Resize_dX' });
  const wT = new Array<number>(m * n);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) wT[i * m + j] = w[j * n + i]!;
  // The second-to-last axis needs no transposes: Wᵀ[n, m] · g[…, m, w].
  if (axis === rank - 2) return b.op('MatMul', [floatTensor(b, type, [n, m], wT), g], {}, { name: 'Resize_dX' });
  const perm = Array.from({ length: rank }, (_, i) => (i === axis ? rank - 1 : i === rank - 1 ? axis : i));
  const moved = b.op('Transpose', [g], { perm }, { name: 'Resize_axis_last' });
  const mixed = b.op('MatMul', [moved, floatTensor(b, type, [m, n], Array.from(w))], {}, { name: 'Resize_dX' });
  return b.op('Transpose', [mixed], { perm }, { name: 'Resize_axis_back' });
}
