/**
 * PNG files of patches and universal perturbations for people and printers: 16 bits per channel
 * (a value v in [0, 1] is stored as round(65535·v), within 7.7e-6 of the float32 value), an alpha
 * channel for the patch's shape, and a pHYs chunk stating the print resolution, so a printer or
 * an image editor prints each PNG pixel at the stated size.
 */
import { encode } from 'fast-png';

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The PNG with a pHYs chunk (pixels per metre from dots per inch) inserted after IHDR. */
function withResolution(png: Uint8Array, dpi: number): Uint8Array {
  const perMetre = Math.round(dpi / 0.0254);
  const chunk = new Uint8Array(4 + 4 + 9 + 4);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, 9);
  chunk.set([0x70, 0x48, 0x59, 0x73], 4); // 'pHYs'
  view.setUint32(8, perMetre);
  view.setUint32(12, perMetre);
  chunk[16] = 1; // unit: metre
  view.setUint32(17, crc32(chunk.subarray(4, 17)));
  const ihdrEnd = 8 + 4 + 4 + 13 + 4;
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, ihdrEnd));
  out.set(chunk, ihdrEnd);
  out.set(png.subarray(ihdrEnd), ihdrEnd + chunk.length);
  return out;
}

/**
 * A 16-bit PNG of a (C, h, w) image with values in [0, 1] (C = 1 grey, 3 RGB), each pixel repeated
 * `scale` × `scale` times, with alpha from `alpha` (h · w, 1 opaque) when given, at `dpi`.
 */
export function encodePrintablePng(
  values: Float32Array,
  shape: { channels: number; height: number; width: number },
  options: { alpha?: Float32Array; scale?: number; dpi: number },
): Uint8Array {
  const { channels, height, width } = shape;
  const scale = options.scale ?? 1;
  const outChannels = channels + (options.alpha ? 1 : 0);
  const W = width * scale;
  const H = height * scale;
  const data = new Uint16Array(W * H * outChannels);
  const q = (v: number): number => Math.round(65535 * Math.min(1, Math.max(0, v)));
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const k = Math.floor(y / scale) * width + Math.floor(x / scale);
      const at = (y * W + x) * outChannels;
      for (let c = 0; c < channels; c++) data[at + c] = q(values[c * height * width + k]!);
      if (options.alpha) data[at + channels] = q(options.alpha[k]!);
    }
  }
  return withResolution(encode({ width: W, height: H, data, channels: outChannels, depth: 16 }), options.dpi);
}
