/**
 * Image operations with their vector–Jacobian products, computed in JS, for EOT over physical
 * conditions. An op maps one image (C, H, W) to another; `backward` takes d loss/d output and
 * returns d loss/d input. Linear ops (brightness/contrast, colour shift, blur, resampling) use their
 * exact adjoint; the non-differentiable ones (JPEG-like quantisation, clamping into the domain)
 * pass the gradient straight through (BPDA with the identity, Athalye et al. 2018), which is the
 * gradient of the op's smooth approximation `identity`. Additive noise has the identity Jacobian.
 *
 * Every op is built for one drawn set of parameters (one sample of the transform distribution), so
 * forward and backward see the same randomness.
 */
export interface ImageShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export interface ImageOp {
  /** What the op is, with its drawn parameters, for reports. */
  readonly name: string;
  forward(image: Float32Array): Float32Array;
  backward(grad: Float32Array): Float32Array;
}

/** A sparse linear map: out[k] = Σ weights[j] · in[sources[j]] over j in rows[k]…rows[k+1]. */
export interface SparseMap {
  readonly outputs: number;
  readonly inputs: number;
  readonly rows: Int32Array;
  readonly sources: Int32Array;
  readonly weights: Float32Array;
}

export function applySparse(map: SparseMap, input: Float32Array): Float32Array {
  const out = new Float32Array(map.outputs);
  for (let k = 0; k < map.outputs; k++) {
    let s = 0;
    for (let j = map.rows[k]!; j < map.rows[k + 1]!; j++) s += map.weights[j]! * input[map.sources[j]!]!;
    out[k] = s;
  }
  return out;
}

/** The adjoint (transpose) of a sparse map: scatters each output's gradient back onto its sources. */
export function applySparseAdjoint(map: SparseMap, grad: Float32Array): Float32Array {
  const out = new Float32Array(map.inputs);
  for (let k = 0; k < map.outputs; k++) {
    const g = grad[k]!;
    if (g === 0) continue;
    for (let j = map.rows[k]!; j < map.rows[k + 1]!; j++) out[map.sources[j]!] += map.weights[j]! * g;
  }
  return out;
}

/** An op that is a sparse linear map, with its exact adjoint. */
export function linearOp(name: string, map: SparseMap): ImageOp {
  return { name, forward: (x) => applySparse(map, x), backward: (g) => applySparseAdjoint(map, g) };
}

/** Per-channel gain and offset, v ↦ gain_c · v + offset_c (brightness/contrast, a printer's colour shift). */
export function affineColour(name: string, shape: ImageShape, gain: readonly number[], offset: readonly number[]): ImageOp {
  const plane = shape.height * shape.width;
  const at = (values: readonly number[], c: number): number => values[values.length === 1 ? 0 : c]!;
  return {
    name,
    forward: (x) => x.map((v, i) => at(gain, Math.floor(i / plane)) * v + at(offset, Math.floor(i / plane))),
    backward: (g) => g.map((v, i) => at(gain, Math.floor(i / plane)) * v),
  };
}

/** Adds fixed noise (drawn once for this op). */
export function additive(name: string, noise: Float32Array): ImageOp {
  return { name, forward: (x) => x.map((v, i) => v + noise[i]!), backward: (g) => g };
}

/** Clamps into [lower, upper]; the gradient passes straight through (the domain clip of a camera or printer). */
export function clampOp(lower: number, upper: number): ImageOp {
  return { name: `clamp [${lower}, ${upper}]`, forward: (x) => x.map((v) => Math.min(upper, Math.max(lower, v))), backward: (g) => g };
}

/** Runs ops in order; backward runs their VJPs in reverse. */
export function chain(ops: readonly ImageOp[]): ImageOp {
  return {
    name: ops.map((o) => o.name).join(' → '),
    forward: (x) => ops.reduce((v, op) => op.forward(v), x),
    backward: (g) => ops.reduceRight((v, op) => op.backward(v), g),
  };
}

/** Separable Gaussian blur of standard deviation sigma (pixels), edges replicated, as a sparse map. */
export function gaussianBlurMap(shape: ImageShape, sigma: number): SparseMap {
  const radius = Math.max(1, Math.ceil(2.5 * sigma));
  const taps: number[] = [];
  for (let d = -radius; d <= radius; d++) taps.push(Math.exp(-(d * d) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  const kernel = taps.map((t) => t / total);
  const { channels, height, width } = shape;
  const n = channels * height * width;
  const per = kernel.length * kernel.length;
  const rows = new Int32Array(n + 1);
  const sources = new Int32Array(n * per);
  const weights = new Float32Array(n * per);
  let j = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const k = (c * height + y) * width + x;
        rows[k] = j;
        for (let dy = -radius; dy <= radius; dy++) {
          const sy = Math.min(height - 1, Math.max(0, y + dy));
          for (let dx = -radius; dx <= radius; dx++) {
            const sx = Math.min(width - 1, Math.max(0, x + dx));
            sources[j] = (c * height + sy) * width + sx;
            weights[j++] = kernel[dy + radius]! * kernel[dx + radius]!;
          }
        }
      }
    }
  }
  rows[n] = j;
  return { outputs: n, inputs: n, rows, sources, weights };
}

/**
 * Bilinear sampling of a (C, h, w) source at continuous source coordinates, one (u, v) per output
 * pixel (pixel centres at integer + 0.5); samples outside the source read the nearest edge pixel.
 */
export function bilinearMap(
  channels: number,
  source: { height: number; width: number },
  target: { height: number; width: number },
  at: (x: number, y: number) => [number, number],
): SparseMap {
  const plane = target.height * target.width;
  const n = channels * plane;
  const rows = new Int32Array(n + 1);
  const sources = new Int32Array(n * 4);
  const weights = new Float32Array(n * 4);
  let j = 0;
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < target.height; y++) {
      for (let x = 0; x < target.width; x++) {
        rows[(c * target.height + y) * target.width + x] = j;
        const [u, v] = at(x + 0.5, y + 0.5);
        const fu = Math.min(source.width - 1, Math.max(0, u - 0.5));
        const fv = Math.min(source.height - 1, Math.max(0, v - 0.5));
        const u0 = Math.floor(fu);
        const v0 = Math.floor(fv);
        const u1 = Math.min(source.width - 1, u0 + 1);
        const v1 = Math.min(source.height - 1, v0 + 1);
        const a = fu - u0;
        const b = fv - v0;
        const base = c * source.height * source.width;
        for (const [sy, sx, w] of [
          [v0, u0, (1 - a) * (1 - b)],
          [v0, u1, a * (1 - b)],
          [v1, u0, (1 - a) * b],
          [v1, u1, a * b],
        ] as const) {
          sources[j] = base + sy * source.width + sx;
          weights[j++] = w;
        }
      }
    }
  }
  rows[n] = j;
  return { outputs: n, inputs: channels * source.height * source.width, rows, sources, weights };
}

/**
 * Resampling as a scanner or camera of lower resolution sees it: bilinear down to `factor` of the
 * size, then bilinear back up. Linear, so its VJP is exact.
 */
export function resampleOp(shape: ImageShape, factor: number): ImageOp {
  const small = { height: Math.max(1, Math.round(shape.height * factor)), width: Math.max(1, Math.round(shape.width * factor)) };
  const full = { height: shape.height, width: shape.width };
  const down = bilinearMap(shape.channels, full, small, (x, y) => [(x * full.width) / small.width, (y * full.height) / small.height]);
  const up = bilinearMap(shape.channels, small, full, (x, y) => [(x * small.width) / full.width, (y * small.height) / full.height]);
  return {
    name: `resample ×${factor.toFixed(2)}`,
    forward: (x) => applySparse(up, applySparse(down, x)),
    backward: (g) => applySparseAdjoint(down, applySparseAdjoint(up, g)),
  };
}

/** The JPEG luminance quantisation table (ITU-T T.81 Annex K, Table K.1). */
const JPEG_LUMINANCE = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103,
  77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

const DCT = Array.from({ length: 8 }, (_, k) =>
  Array.from({ length: 8 }, (_, n) => (k === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * n + 1) * k * Math.PI) / 16)),
);

/** The quantisation table at a JPEG quality 1…100 (the IJG scaling). */
function jpegTable(quality: number): number[] {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  return JPEG_LUMINANCE.map((t) => Math.max(1, Math.floor((t * scale + 50) / 100)));
}

/**
 * JPEG-like quantisation: each channel in 8×8 blocks (edges replicated), the orthonormal DCT-II,
 * coefficients rounded to multiples of the quality's table (on the 0…255 scale), and back. The
 * rounding has a zero gradient almost everywhere, so the VJP is straight-through.
 */
export function jpegOp(shape: ImageShape, quality: number): ImageOp {
  const table = jpegTable(quality);
  const { channels, height, width } = shape;
  const forward = (x: Float32Array): Float32Array => {
    const out = new Float32Array(x.length);
    const block = new Float64Array(64);
    const coef = new Float64Array(64);
    for (let c = 0; c < channels; c++) {
      for (let by = 0; by < height; by += 8) {
        for (let bx = 0; bx < width; bx += 8) {
          for (let i = 0; i < 8; i++)
            for (let j = 0; j < 8; j++) block[i * 8 + j] = 255 * x[(c * height + Math.min(height - 1, by + i)) * width + Math.min(width - 1, bx + j)]! - 128;
          for (let k = 0; k < 8; k++)
            for (let l = 0; l < 8; l++) {
              let s = 0;
              for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) s += DCT[k]![i]! * DCT[l]![j]! * block[i * 8 + j]!;
              coef[k * 8 + l] = Math.round(s / table[k * 8 + l]!) * table[k * 8 + l]!;
            }
          for (let i = 0; i < 8 && by + i < height; i++)
            for (let j = 0; j < 8 && bx + j < width; j++) {
              let s = 0;
              for (let k = 0; k < 8; k++) for (let l = 0; l < 8; l++) s += DCT[k]![i]! * DCT[l]![j]! * coef[k * 8 + l]!;
              out[(c * height + by + i) * width + bx + j] = (s + 128) / 255;
            }
        }
      }
    }
    return out;
  };
  return { name: `jpeg q${Math.round(quality)}`, forward, backward: (g) => g };
}
