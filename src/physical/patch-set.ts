/**
 * The `patch` perturbation set: a patch of fixed size and shape (square or circle) that replaces
 * the pixels it covers, anywhere its centre may go (an allowed-region mask over the image, or
 * everywhere it fits). Its values are free within the input domain; what is limited is where and
 * how much of the image it covers. Sizing is in pixels (the side of the square, the diameter of
 * the circle) or as a fraction of the image's area.
 */
import { GibbonError } from '../errors.js';
import type { ImageShape } from './image-ops.js';

export type PatchShape = 'square' | 'circle';
export const PATCH_SHAPES: readonly PatchShape[] = Object.freeze(['square', 'circle']);

/** Side in pixels, or `{ fraction }` of the image's area covered at scale 1. */
export type PatchSize = number | { readonly fraction: number };

export interface PatchSetOptions {
  readonly size: PatchSize;
  readonly shape?: PatchShape;
  /** Allowed patch centres, one byte per image pixel (H·W, row-major); default: everywhere the patch fits. */
  readonly region?: Uint8Array;
  /** Where `region` came from, for errors. */
  readonly regionSource?: string;
}

export interface PatchSet {
  readonly image: ImageShape;
  /** The patch's own pixels (same channels as the image). */
  readonly patch: ImageShape;
  readonly shape: PatchShape;
  /** 1 inside the shape, 0 outside (patch.height · patch.width). */
  readonly mask: Float32Array;
  /** Pixels inside the shape at scale 1. */
  readonly area: number;
  /** area / (H · W). */
  readonly fraction: number;
  readonly region: Uint8Array | undefined;
}

function circleMask(side: number): Float32Array {
  const mask = new Float32Array(side * side);
  const r = side / 2;
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) mask[y * side + x] = (x + 0.5 - r) ** 2 + (y + 0.5 - r) ** 2 <= r * r ? 1 : 0;
  return mask;
}

function sideFor(size: PatchSize, shape: PatchShape, image: ImageShape): number {
  if (typeof size === 'number') {
    if (!Number.isInteger(size) || size < 1)
      throw new GibbonError('invalid_option', `patch size must be a whole number of pixels ≥ 1; got ${size}`, { option: 'size' });
    return size;
  }
  const f = size.fraction;
  if (!(f > 0 && f < 1)) throw new GibbonError('invalid_option', `patch area fraction must be in (0, 1); got ${f}`, { option: 'size' });
  const pixels = f * image.height * image.width;
  // The largest side whose shape covers at most the fraction asked for.
  return Math.max(1, Math.floor(shape === 'square' ? Math.sqrt(pixels) : Math.sqrt((4 * pixels) / Math.PI)));
}

export function createPatchSet(image: ImageShape, options: PatchSetOptions): PatchSet {
  const shape = options.shape ?? 'square';
  if (!PATCH_SHAPES.includes(shape))
    throw new GibbonError('invalid_option', `patch shape must be one of ${PATCH_SHAPES.join(', ')}; got '${shape}'`, { option: 'shape' });
  const side = sideFor(options.size, shape, image);
  if (side > Math.min(image.height, image.width)) {
    throw new GibbonError(
      'invalid_option',
      `a patch of ${side}×${side} pixels is larger than the ${image.height}×${image.width} image; choose a size ≤ ${Math.min(image.height, image.width)}`,
      {
        option: 'size',
      },
    );
  }
  const mask = shape === 'square' ? new Float32Array(side * side).fill(1) : circleMask(side);
  let region: Uint8Array | undefined;
  if (options.region) {
    const where = options.regionSource ?? 'region';
    if (options.region.length !== image.height * image.width) {
      throw new GibbonError(
        'invalid_input',
        `region mask ${where} has ${options.region.length} values; the image has ${image.height}×${image.width} = ${image.height * image.width} pixels`,
        {
          option: 'region',
        },
      );
    }
    if (!options.region.some((v) => v !== 0)) {
      throw new GibbonError('invalid_input', `region mask ${where} is empty: no pixel allows the patch; mark allowed centres with non-zero values`, {
        option: 'region',
      });
    }
    region = options.region;
  }
  const area = mask.reduce((a, b) => a + b, 0);
  return { image, patch: { channels: image.channels, height: side, width: side }, shape, mask, area, fraction: area / (image.height * image.width), region };
}
