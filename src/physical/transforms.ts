/**
 * The distribution of physical conditions a patch or a universal perturbation should survive (EOT,
 * Athalye et al. 2018): placement (rotation, scale, position), appearance (brightness, contrast),
 * the camera (blur, sensor noise) and, optionally, a simulated print-and-scan of the printed
 * pattern (a printer's colour shift, blur, JPEG-like quantisation, resampling). `drawConditions`
 * draws one sample; the ranges are data, saved beside a patch as the transforms seen in training.
 */
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import type { Rng } from '../random.js';
import { additive, affineColour, chain, clampOp, gaussianBlurMap, jpegOp, linearOp, resampleOp, type ImageOp, type ImageShape } from './image-ops.js';
import type { PlacementRanges } from './placement.js';

export interface TransformRanges extends PlacementRanges {
  /** Largest |brightness offset| (in units of the input range). */
  readonly brightness: number;
  /** Largest |contrast gain − 1|. */
  readonly contrast: number;
  /** Largest Gaussian blur σ in pixels (a σ uniform in [0, blur]; 0: none). */
  readonly blur: number;
  /** Largest standard deviation of Gaussian pixel noise (0: none). */
  readonly noise: number;
  /** Apply the simulated print-and-scan pipeline. */
  readonly printScan: boolean;
}

export const transformRangesSchema = z
  .object({
    rotation: z.number().min(0).max(180),
    scale: z.tuple([z.number().positive(), z.number().positive()]),
    brightness: z.number().min(0).max(1),
    contrast: z.number().min(0).max(1),
    blur: z.number().min(0).max(10),
    noise: z.number().min(0).max(1),
    printScan: z.boolean(),
  })
  .strict();

/** No transformation at all: the patch pasted at scale 1, upright. */
export const IDENTITY_RANGES: TransformRanges = Object.freeze({
  rotation: 0,
  scale: [1, 1] as const,
  brightness: 0,
  contrast: 0,
  blur: 0,
  noise: 0,
  printScan: false,
});

/**
 * The print-and-scan simulation's parameter ranges (ours; chosen to match common office printers
 * and scanners: a compressed, tinted gamut, slight defocus, JPEG at quality 60–90, and a scan at
 * 60–90% of the printed resolution).
 */
export const PRINT_SCAN = Object.freeze({ gain: [0.8, 0.95], offset: [0.02, 0.1], tint: 0.03, blur: [0.3, 0.8], quality: [60, 90], resample: [0.6, 0.9] });

export function checkTransformRanges(ranges: TransformRanges, option = 'transforms'): TransformRanges {
  const parsed = transformRangesSchema.safeParse(ranges);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new GibbonError('invalid_option', `transform range ${issue.path.join('.')}: ${issue.message}`, { option });
  }
  if (ranges.scale[0] > ranges.scale[1])
    throw new GibbonError('invalid_option', `scale range must be low ≤ high; got ${ranges.scale.join(', ')}`, { option: 'scale' });
  return Object.freeze({ ...ranges, scale: [ranges.scale[0], ranges.scale[1]] as const });
}

/** One draw of the simulated print-and-scan pipeline for an image of this shape. */
export function drawPrintScan(shape: ImageShape, rng: Rng): ImageOp {
  const gain = rng.uniformIn(PRINT_SCAN.gain[0], PRINT_SCAN.gain[1]);
  const offset = rng.uniformIn(PRINT_SCAN.offset[0], PRINT_SCAN.offset[1]);
  const gains = Array.from({ length: shape.channels }, () => gain * (1 + rng.uniformIn(-PRINT_SCAN.tint, PRINT_SCAN.tint)));
  const offsets = Array.from({ length: shape.channels }, () => offset + rng.uniformIn(-PRINT_SCAN.tint, PRINT_SCAN.tint) / 2);
  const sigma = rng.uniformIn(PRINT_SCAN.blur[0], PRINT_SCAN.blur[1]);
  const quality = rng.uniformIn(PRINT_SCAN.quality[0], PRINT_SCAN.quality[1]);
  const factor = rng.uniformIn(PRINT_SCAN.resample[0], PRINT_SCAN.resample[1]);
  return chain([
    affineColour(`print colour ×${gain.toFixed(2)} +${offset.toFixed(2)}`, shape, gains, offsets),
    linearOp(`print blur σ=${sigma.toFixed(2)}`, gaussianBlurMap(shape, sigma)),
    resampleOp(shape, factor),
    clampOp(0, 1),
    jpegOp(shape, quality),
  ]);
}

/** Brightness and contrast of one viewing: v ↦ c·v + b. */
export function drawAppearance(shape: ImageShape, ranges: TransformRanges, rng: Rng): ImageOp | undefined {
  if (ranges.brightness === 0 && ranges.contrast === 0) return undefined;
  const c = 1 + (ranges.contrast > 0 ? rng.uniformIn(-ranges.contrast, ranges.contrast) : 0);
  const b = ranges.brightness > 0 ? rng.uniformIn(-ranges.brightness, ranges.brightness) : 0;
  return affineColour(`contrast ×${c.toFixed(2)} brightness ${b >= 0 ? '+' : ''}${b.toFixed(2)}`, shape, [c], [b]);
}

/** The camera of one viewing: blur, then sensor noise, then the clip into the domain. */
export function drawCamera(shape: ImageShape, ranges: TransformRanges, rng: Rng, bounds: { lower: number; upper: number }): ImageOp {
  const ops: ImageOp[] = [];
  if (ranges.blur > 0) {
    const sigma = rng.uniformIn(0, ranges.blur);
    if (sigma > 0.05) ops.push(linearOp(`blur σ=${sigma.toFixed(2)}`, gaussianBlurMap(shape, sigma)));
  }
  if (ranges.noise > 0) {
    const std = rng.uniformIn(0, ranges.noise) * (bounds.upper - bounds.lower);
    const n = shape.channels * shape.height * shape.width;
    ops.push(
      additive(
        `noise σ=${std.toFixed(3)}`,
        Float32Array.from({ length: n }, () => std * rng.normal()),
      ),
    );
  }
  ops.push(clampOp(bounds.lower, bounds.upper));
  return chain(ops);
}
