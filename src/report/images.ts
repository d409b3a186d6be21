/**
 * The gallery's pictures as PNG data: URIs: the clean image, the adversarial image, and their
 * difference amplified to the full range. Small images (MNIST's 28×28) are enlarged by an integer
 * factor with nearest-neighbour sampling, so every pixel stays a crisp square.
 */
import { encode } from 'fast-png';
import type { GalleryItem } from './schema.js';

/** Images are enlarged until their longer side is at least this many pixels. */
const TARGET_SIDE = 112;

export interface GalleryImages {
  readonly clean: string;
  readonly adversarial: string;
  readonly difference: string;
  /** Factor that maps the largest change to full colour (0 when the images are equal). */
  readonly amplification: number;
  /** Size of the encoded (enlarged) images. */
  readonly width: number;
  readonly height: number;
  /** Largest absolute pixel change, in the input's units. */
  readonly maxChange: number;
}

/** Integer nearest-neighbour enlargement factor for an h × w image. */
export function upscaleFactor(height: number, width: number): number {
  return Math.max(1, Math.ceil(TARGET_SIDE / Math.max(height, width)));
}

export function galleryImages(item: GalleryItem, bounds: readonly [number, number] = [0, 1]): GalleryImages {
  const [channels, height, width] = item.shape as [number, number, number];
  const [low, high] = bounds;
  const range = high - low || 1;
  const unit = (v: number): number => Math.min(1, Math.max(0, (v - low) / range));
  const clean = Float64Array.from(item.clean, unit);
  const adversarial = Float64Array.from(item.adversarial, unit);
  const difference = adversarial.map((v, i) => v - clean[i]!);
  const maxDifference = difference.reduce((m, d) => Math.max(m, Math.abs(d)), 0);
  const amplification = maxDifference > 0 ? 1 / maxDifference : 0;
  const scale = upscaleFactor(height, width);
  const encodeImage = (pixels: Uint8Array, c: number): string => dataUri(encodePixels(pixels, c, height, width, scale));
  return {
    clean: encodeImage(toBytes(clean, channels, height, width), channels),
    adversarial: encodeImage(toBytes(adversarial, channels, height, width), channels),
    difference:
      channels === 1
        ? encodeImage(divergingColours(difference, amplification), 3)
        : encodeImage(
            toBytes(
              difference.map((d) => 0.5 + 0.5 * amplification * d),
              channels,
              height,
              width,
            ),
            channels,
          ),
    amplification,
    width: width * scale,
    height: height * scale,
    maxChange: maxDifference * range,
  };
}

/** CHW values in [0, 1] → interleaved HWC bytes. */
export function toBytes(values: Float64Array, channels: number, height: number, width: number): Uint8Array {
  const plane = height * width;
  const out = new Uint8Array(channels * plane);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane; p++) out[p * channels + c] = Math.round(Math.min(1, Math.max(0, values[c * plane + p]!)) * 255);
  }
  return out;
}

// A single-channel difference reads better in colour than in grey: blue where the attack darkened
// a pixel, red where it brightened it, white where it left it alone (ColorBrewer RdBu ends).
const NEGATIVE = [33, 102, 172];
const ZERO = [247, 247, 247];
const POSITIVE = [178, 24, 43];

function divergingColours(difference: Float64Array, amplification: number): Uint8Array {
  const out = new Uint8Array(difference.length * 3);
  for (let p = 0; p < difference.length; p++) {
    const t = Math.max(-1, Math.min(1, amplification * difference[p]!));
    const end = t < 0 ? NEGATIVE : POSITIVE;
    const a = Math.abs(t);
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round(ZERO[c]! + a * (end[c]! - ZERO[c]!));
  }
  return out;
}

/** Interleaved bytes → PNG, each pixel repeated `scale` times in both directions. */
export function encodePixels(pixels: Uint8Array, channels: number, height: number, width: number, scale: number): Uint8Array {
  const outWidth = width * scale;
  const out = new Uint8Array(pixels.length * scale * scale);
  for (let y = 0; y < height * scale; y++) {
    const sourceRow = Math.floor(y / scale) * width;
    for (let x = 0; x < outWidth; x++) {
      const source = (sourceRow + Math.floor(x / scale)) * channels;
      const target = (y * outWidth + x) * channels;
      for (let c = 0; c < channels; c++) out[target + c] = pixels[source + c]!;
    }
  }
  return encode({ width: outWidth, height: height * scale, data: out, channels, depth: 8 });
}

// btoa rather than Buffer, so the report renders in a browser too.
function dataUri(png: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < png.length; i += 0x8000) binary += String.fromCharCode(...png.subarray(i, i + 0x8000));
  return `data:image/png;base64,${btoa(binary)}`;
}
