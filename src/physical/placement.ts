/**
 * Where a patch lands: a centre, a rotation and a scale, drawn at random inside the image (or the
 * allowed region), and the warp that pastes the patch there as a sparse linear map.
 *
 * The warp is the method that lets gradients reach the patch (Brown et al. 2017, Athalye et al.
 * 2018): each image pixel inside the placed patch is a bilinear mix of (at most) four patch pixels,
 * weighted also by the patch's shape mask, so the composed image is
 *   x' = (1 − m) ⊙ x + W p,
 * with m = W·mask the coverage and W the sparse warp matrix. The model's input gradient g = ∂L/∂x'
 * (from the GradientOracle) is projected back onto the patch by the adjoint, ∂L/∂p = Wᵀ g.
 */
import { GibbonError } from '../errors.js';
import type { Rng } from '../random.js';
import type { SparseMap } from './image-ops.js';
import type { PatchSet } from './patch-set.js';

export interface Placement {
  /** Centre in pixel coordinates (0…W, 0…H). */
  readonly x: number;
  readonly y: number;
  /** Rotation in degrees (counter-clockwise on screen). */
  readonly angle: number;
  readonly scale: number;
}

export interface PlacementRanges {
  /** Largest |rotation| in degrees. */
  readonly rotation: number;
  readonly scale: readonly [number, number];
}

/** Half the width and height of the box the rotated, scaled patch occupies. */
function halfExtent(set: PatchSet, angle: number, scale: number): [number, number] {
  const t = (angle * Math.PI) / 180;
  const c = Math.abs(Math.cos(t));
  const s = Math.abs(Math.sin(t));
  const { height, width } = set.patch;
  return [(scale * (c * width + s * height)) / 2, (scale * (s * width + c * height)) / 2];
}

/** Throws when the patch at the largest scale and worst rotation of `ranges` cannot fit in the image. */
export function checkPlacementRanges(set: PatchSet, ranges: PlacementRanges): void {
  const [s0, s1] = ranges.scale;
  if (!(s0 > 0 && s1 >= s0)) throw new GibbonError('invalid_option', `scale range must be 0 < low ≤ high; got ${s0}, ${s1}`, { option: 'scale' });
  if (!(ranges.rotation >= 0 && ranges.rotation <= 180))
    throw new GibbonError('invalid_option', `rotation must be in [0, 180] degrees; got ${ranges.rotation}`, { option: 'rotation' });
  const worst = Math.min(45, ranges.rotation);
  const [hx, hy] = halfExtent(set, worst, s1);
  if (2 * hx > set.image.width || 2 * hy > set.image.height) {
    throw new GibbonError(
      'invalid_option',
      `the ${set.patch.height}×${set.patch.width} patch at scale ${s1} and rotation ${worst}° needs ${Math.ceil(2 * hx)}×${Math.ceil(2 * hy)} pixels, more than the ${set.image.height}×${set.image.width} image`,
      { option: 'size' },
    );
  }
}

/** A random placement: scale and angle uniform in their ranges, the centre uniform where the patch fits (and the region allows). */
export function drawPlacement(set: PatchSet, ranges: PlacementRanges, rng: Rng): Placement {
  const scale = rng.uniformIn(ranges.scale[0], ranges.scale[1]);
  const angle = ranges.rotation > 0 ? rng.uniformIn(-ranges.rotation, ranges.rotation) : 0;
  const [hx, hy] = halfExtent(set, angle, scale);
  const { height: H, width: W } = set.image;
  if (!set.region) return { x: rng.uniformIn(hx, W - hx), y: rng.uniformIn(hy, H - hy), angle, scale };
  const fits: number[] = [];
  set.region.forEach((v, k) => {
    const cx = (k % W) + 0.5;
    const cy = Math.floor(k / W) + 0.5;
    if (v !== 0 && cx >= hx && cx <= W - hx && cy >= hy && cy <= H - hy) fits.push(k);
  });
  if (fits.length === 0) {
    throw new GibbonError(
      'invalid_input',
      `no allowed centre of the region mask keeps the ${set.patch.height}×${set.patch.width} patch (scale ${scale.toFixed(2)}) inside the image`,
      {
        option: 'region',
      },
    );
  }
  const k = fits[rng.integer(fits.length)]!;
  return { x: (k % W) + 0.5, y: Math.floor(k / W) + 0.5, angle, scale };
}

export interface Warp {
  /** Patch (C, h, w) → image (C, H, W): W p, zero where the patch is not. */
  readonly map: SparseMap;
  /** Coverage m per image pixel (H · W), in [0, 1]. */
  readonly coverage: Float32Array;
}

/** The warp of a placement: inverse-maps each image pixel near the patch to patch coordinates and samples bilinearly (zero outside the patch). */
export function warpFor(set: PatchSet, p: Placement): Warp {
  const { channels, height: H, width: W } = set.image;
  const { height: h, width: w } = set.patch;
  const t = (p.angle * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const [hx, hy] = halfExtent(set, p.angle, p.scale);
  const x0 = Math.max(0, Math.floor(p.x - hx - 1));
  const x1 = Math.min(W - 1, Math.ceil(p.x + hx + 1));
  const y0 = Math.max(0, Math.floor(p.y - hy - 1));
  const y1 = Math.min(H - 1, Math.ceil(p.y + hy + 1));
  const plane = H * W;
  const rows = new Int32Array(channels * plane + 1);
  const sources: number[] = [];
  const weights: number[] = [];
  const coverage = new Float32Array(plane);
  const pixel: { k: number; taps: [number, number][] }[] = [];
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - p.x;
      const dy = y + 0.5 - p.y;
      // Inverse rotation and scale: the patch coordinate this image pixel shows.
      const u = (cos * dx + sin * dy) / p.scale + w / 2 - 0.5;
      const v = (-sin * dx + cos * dy) / p.scale + h / 2 - 0.5;
      const u0 = Math.floor(u);
      const v0 = Math.floor(v);
      const a = u - u0;
      const b = v - v0;
      const taps: [number, number][] = [];
      let m = 0;
      for (const [pv, pu, wt] of [
        [v0, u0, (1 - a) * (1 - b)],
        [v0, u0 + 1, a * (1 - b)],
        [v0 + 1, u0, (1 - a) * b],
        [v0 + 1, u0 + 1, a * b],
      ] as const) {
        if (pu < 0 || pv < 0 || pu >= w || pv >= h || wt === 0) continue;
        const weight = wt * set.mask[pv * w + pu]!;
        if (weight === 0) continue;
        taps.push([pv * w + pu, weight]);
        m += weight;
      }
      if (taps.length === 0) continue;
      coverage[y * W + x] = m;
      pixel.push({ k: y * W + x, taps });
    }
  }
  // Rows in image order (channel-major); pixels were visited in row-major order within a channel.
  const byPixel = new Map(pixel.map((e) => [e.k, e.taps]));
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < plane; k++) {
      rows[c * plane + k] = sources.length;
      for (const [src, wt] of byPixel.get(k) ?? []) {
        sources.push(c * h * w + src);
        weights.push(wt);
      }
    }
  }
  rows[channels * plane] = sources.length;
  return {
    map: { outputs: channels * plane, inputs: channels * h * w, rows, sources: Int32Array.from(sources), weights: Float32Array.from(weights) },
    coverage,
  };
}

/** Where an attacker may stick the patch under a best-placement policy: a rows × cols grid of centres, spread over the positions where the patch fits at the largest scale and rotation of `ranges`. */
export function placementGrid(set: PatchSet, ranges: PlacementRanges, rows: number, cols: number): { x: number; y: number }[] {
  const [hx, hy] = halfExtent(set, Math.min(45, ranges.rotation), ranges.scale[1]);
  const { height: H, width: W } = set.image;
  const spread = (lo: number, hi: number, k: number, i: number): number => (k === 1 ? (lo + hi) / 2 : lo + ((hi - lo) * i) / (k - 1));
  const out: { x: number; y: number }[] = [];
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out.push({ x: spread(hx, W - hx, cols, c), y: spread(hy, H - hy, rows, r) });
  return out;
}

/** A placement at a chosen centre; rotation and scale are still drawn (the viewing conditions are not the attacker's to choose). */
export function drawPlacementAt(ranges: PlacementRanges, rng: Rng, centre: { x: number; y: number }): Placement {
  const scale = rng.uniformIn(ranges.scale[0], ranges.scale[1]);
  const angle = ranges.rotation > 0 ? rng.uniformIn(-ranges.rotation, ranges.rotation) : 0;
  return { x: centre.x, y: centre.y, angle, scale };
}
