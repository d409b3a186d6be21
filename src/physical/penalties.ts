/**
 * Penalties that make a patch printable (Sharif, Bhagavatula, Bauer & Reiter, "Accessorize to a
 * Crime", CCS 2016, https://doi.org/10.1145/2976749.2978392, Section 4.3), each with its gradient:
 * - total variation: Σ √((p_{i,j} − p_{i+1,j})² + (p_{i,j} − p_{i,j+1})² + τ) over pixels inside
 *   the shape (smooth patterns survive printing and camera blur; τ keeps the gradient finite);
 * - non-printability score: Σ_pixels min_c ‖p − c‖² over a palette of printable colours (the
 *   paper's product Π_c |p − c| underflows for palettes of more than a few colours; the nearest-
 *   colour form has the same zeros and is what we minimise).
 */
import type { ImageShape } from './image-ops.js';

const TAU = 1e-8;

export interface Penalty {
  readonly value: number;
  readonly grad: Float32Array;
}

export function totalVariation(patch: Float32Array, shape: ImageShape, mask: Float32Array): Penalty {
  const { channels, height: h, width: w } = shape;
  const grad = new Float32Array(patch.length);
  let value = 0;
  for (let c = 0; c < channels; c++) {
    const base = c * h * w;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (mask[y * w + x] === 0) continue;
        const k = base + y * w + x;
        const dy = y + 1 < h && mask[(y + 1) * w + x] !== 0 ? patch[k]! - patch[k + w]! : 0;
        const dx = x + 1 < w && mask[y * w + x + 1] !== 0 ? patch[k]! - patch[k + 1]! : 0;
        const r = Math.sqrt(dy * dy + dx * dx + TAU);
        value += r;
        grad[k] = grad[k]! + (dy + dx) / r;
        if (dy !== 0) grad[k + w] = grad[k + w]! - dy / r;
        if (dx !== 0) grad[k + 1] = grad[k + 1]! - dx / r;
      }
    }
  }
  return { value, grad };
}

/** A default palette: 9 grey levels for one channel, the 27 colours of a 3×3×3 grid for three, both inside a printer's gamut [0.1, 0.9]. */
export function defaultPalette(channels: number): number[][] {
  const levels = channels === 1 ? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] : [0.1, 0.5, 0.9];
  if (channels === 1) return levels.map((v) => [v]);
  const out: number[][] = [];
  const walk = (prefix: number[]): void => {
    if (prefix.length === channels) out.push(prefix);
    else for (const v of levels) walk([...prefix, v]);
  };
  walk([]);
  return out;
}

export function nonPrintability(patch: Float32Array, shape: ImageShape, mask: Float32Array, palette: readonly (readonly number[])[]): Penalty {
  const { channels, height: h, width: w } = shape;
  const plane = h * w;
  const grad = new Float32Array(patch.length);
  let value = 0;
  for (let k = 0; k < plane; k++) {
    if (mask[k] === 0) continue;
    let best = Infinity;
    let nearest = palette[0]!;
    for (const colour of palette) {
      let d = 0;
      for (let c = 0; c < channels; c++) d += (patch[c * plane + k]! - colour[c]!) ** 2;
      if (d < best) {
        best = d;
        nearest = colour;
      }
    }
    value += best;
    for (let c = 0; c < channels; c++) grad[c * plane + k] = 2 * (patch[c * plane + k]! - nearest[c]!);
  }
  return { value, grad };
}
