/**
 * PNG and JPEG files decoded in the page into model inputs: each image is drawn onto a canvas of
 * the model's height and width (so any size fits; the aspect ratio is not kept), read back as
 * bytes and mapped linearly from 0…255 onto the input domain, in NCHW order. One channel is the
 * luminance (ITU-R BT.601 weights), three are R, G, B.
 */
import type { Tensor } from '../tensor/tensor.js';

/** Decoded images are at most this many pixels per side (a model asking for more is refused). */
const MAX_SIDE = 4096;

export async function decodeImages(files: readonly File[], inputShape: readonly (number | null)[], bounds: readonly [number, number]): Promise<Tensor> {
  const [, channels, height, width] = inputShape;
  if (inputShape.length !== 4 || (channels !== 1 && channels !== 3) || !height || !width || height > MAX_SIDE || width > MAX_SIDE) {
    throw new Error(
      `images need a model input [N, 1 or 3, H, W] with fixed H and W ≤ ${MAX_SIDE}; this model's is [${inputShape.map((d) => d ?? '?').join(', ')}]`,
    );
  }
  const plane = height * width;
  const data = new Float32Array(files.length * channels * plane);
  const [lo, hi] = bounds;
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('this browser cannot draw images onto a canvas');
  for (let k = 0; k < files.length; k++) {
    const bitmap = await createImageBitmap(files[k]!).catch(() => {
      throw new Error(`${files[k]!.name} is not a PNG or JPEG image this browser can decode`);
    });
    context.clearRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0, width, height);
    bitmap.close();
    const rgba = context.getImageData(0, 0, width, height).data;
    const base = k * channels * plane;
    for (let p = 0; p < plane; p++) {
      const [r, g, b] = [rgba[4 * p]!, rgba[4 * p + 1]!, rgba[4 * p + 2]!];
      const values = channels === 1 ? [0.299 * r + 0.587 * g + 0.114 * b] : [r, g, b];
      values.forEach((v, c) => (data[base + c * plane + p] = lo + (v / 255) * (hi - lo)));
    }
  }
  return { data, shape: [files.length, channels, height, width] };
}
