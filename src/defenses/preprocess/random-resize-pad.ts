/**
 * Random resizing and padding: every row is shrunk to a random size and zero-padded back to H×W
 * at a random position, with fresh randomness on every run, drawn inside the ONNX graph — the
 * exported model is the whole randomised defense, and EOT averages over its randomness.
 *
 * Paper: Xie, Wang, Zhang, Ren & Yuille, "Mitigating Adversarial Effects Through Randomization",
 * ICLR 2018, https://arxiv.org/abs/1711.01991. They enlarge a 299×299 image to a random size in
 * [299, 331) and pad it at a random position to 331×331, so the classifier sees a larger input.
 * Here the output keeps the model's input shape (the classifier is not retrained or re-shaped):
 * the image is shrunk to r_h × r_w with r = round(s·H), round(s·W), s ~ U[minScale, 1], then
 * placed at a random integer offset (o_h ~ U{0 … H − r_h}, likewise o_w) in a zero canvas.
 * Threat model: a randomised preprocessing defense against any input perturbation; evaluate it
 * with EOT (`gibbon eval --eot N`; Athalye, Carlini & Wagner 2018, Section 5.3 breaks the original).
 * Options: minScale in (0, 1] (default 0.8); 1 keeps the image as it is.
 *
 * ONNX form, per row n (batched): y = A_n · x · B_nᵀ, where A_n (H×H) and B_n (W×W) are bilinear
 * resampling matrices with half-pixel centres, zero outside the placed rows/columns:
 * A[i, u] = [o ≤ i < o + r] · max(0, 1 − |(i − o + ½)·H/r − ½ − u|). The scale and offsets come
 * from one RandomUniformLike draw of shape [N, 3, 1] (without a seed onnxruntime seeds it at
 * random, and it draws anew on every run). The map is linear in x, so gibbon differentiates it exactly (MatMul); the random values
 * depend on x only through its shape, so they carry no gradient and BPDA leaves them alone.
 * Shrinking needs no antialiasing beyond bilinear for scales ≥ ½.
 *
 * @example
 * ```ts
 * const defended = applyInputTransforms(model, [randomResizePad(0.8)]);
 * // evaluate: gibbon eval defended.onnx --eot 10
 * ```
 */
import { GibbonError } from '../../errors.js';
import { float } from '../../onnx/attributes.js';
import type { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { InputTransform } from './input-transform.js';

export const DEFAULT_MIN_SCALE = 0.8;

export interface RandomResizePadOptions {
  /**
   * Seed of onnxruntime's generators (RandomUniformLike's `seed`). Each session still draws new
   * values on every run, but the sequence repeats from session to session: for reproducible tests
   * and measurements, never for a deployed defense (whoever knows the seed knows the draws).
   */
  readonly seed?: number;
}

export function randomResizePad(minScale = DEFAULT_MIN_SCALE, options: RandomResizePadOptions = {}): InputTransform {
  if (!(minScale > 0 && minScale <= 1)) {
    throw new GibbonError('invalid_option', `resize-pad minimum scale must be a number in (0, 1]; got ${minScale}`, { option: 'minScale' });
  }
  return {
    name: `resize-pad:${minScale}`,
    description: `random resize to ${minScale}–1 of the size and random zero padding back, per row and per run (Xie et al. 2018)`,
    randomized: true,
    emit(b, x, shape) {
      const [height, width] = staticSpatial(shape);
      // Three U[0, 1) draws per row, as one [N, 3, 1] tensor split into scale and two offsets.
      const rows = b.op('Slice', [b.op('Shape', [x]), b.int64s([0]), b.int64s([1])], {}, { name: 'resize_pad_batch' });
      const drawShape = b.op('Concat', [rows, b.int64s([3, 1])], { axis: 0 });
      const seed = options.seed === undefined ? undefined : float(options.seed);
      const uniforms = b.op('RandomUniformLike', [b.op('ConstantOfShape', [drawShape])], { dtype: DT.FLOAT, seed }, { name: 'resize_pad_draw' });
      return emitResizePad(b, x, [height, width], minScale, uniforms);
    },
  };
}

function staticSpatial(shape: readonly (number | null)[]): [number, number] {
  const [, , height, width] = shape;
  if (shape.length !== 4 || typeof height !== 'number' || typeof width !== 'number') {
    throw new GibbonError('invalid_model', `resize-pad: the input must be NCHW with static H and W; got [${shape.map((d) => d ?? '?').join(', ')}]`, {
      option: 'minScale',
    });
  }
  return [height, width];
}

/**
 * The resize-and-pad of x for given uniforms (float [N, 3, 1]: scale, row offset, column offset,
 * each in [0, 1)). Separate from the random draw so tests can feed fixed values.
 */
export function emitResizePad(b: GraphBuilder, x: string, [height, width]: readonly [number, number], minScale: number, uniforms: string): string {
  const [us, uh, uw] = b.node('Split', [uniforms, b.int64s([1, 1, 1])], { axis: 1 }, { outputs: 3, name: 'resize_pad_uniforms' }) as [string, string, string];
  const scale = b.op('Add', [b.scalar(minScale), b.op('Mul', [us, b.scalar(1 - minScale)])], {}, { name: 'resize_pad_scale' });
  const rows = resampling(b, scale, uh, height, 'rows');
  const cols = resampling(b, scale, uw, width, 'cols');
  const a = b.op('Unsqueeze', [rows, b.int64s([1])]);
  const bt = b.op('Transpose', [b.op('Unsqueeze', [cols, b.int64s([1])])], { perm: [0, 1, 3, 2] });
  return b.op('MatMul', [b.op('MatMul', [a, x], {}, { name: 'resize_pad_rows' }), bt], {}, { name: 'resize_pad' });
}

/** The [N, L, L] matrix that shrinks an axis of length L by `scale` and places it at a random offset. */
function resampling(b: GraphBuilder, scale: string, offsetDraw: string, length: number, hint: string): string {
  // r = max(1, round(s·L)); o = min(floor(u·(L − r + 1)), L − r).
  const size = b.op('Max', [b.op('Round', [b.op('Mul', [scale, b.scalar(length)])]), b.scalar(1)], {}, { name: `resize_pad_${hint}_size` });
  const room = b.op('Sub', [b.scalar(length), size]);
  const offset = b.op('Min', [b.op('Floor', [b.op('Mul', [offsetDraw, b.op('Add', [room, b.scalar(1)])])]), room], {}, { name: `resize_pad_${hint}_offset` });
  const index = (dims: number[]): string =>
    b.constant(
      DT.FLOAT,
      dims,
      Float32Array.from({ length }, (_, i) => i),
      `resize_pad_${hint}_index`,
    );
  const out = index([1, length, 1]);
  const source = index([1, 1, length]);
  // Where output pixel i samples the source axis (half-pixel centres), [N, L, 1].
  const ratio = b.op('Div', [b.scalar(length), size]);
  const half = b.scalar(0.5);
  const at = b.op('Sub', [b.op('Mul', [b.op('Add', [b.op('Sub', [out, offset]), half]), ratio]), half], {}, { name: `resize_pad_${hint}_source` });
  const weight = b.op('Relu', [b.op('Sub', [b.scalar(1), b.op('Abs', [b.op('Sub', [at, source])])])], {}, { name: `resize_pad_${hint}_bilinear` });
  const inside = b.op('And', [b.op('GreaterOrEqual', [out, offset]), b.op('Less', [out, b.op('Add', [offset, size])])]);
  const mask = b.op('Cast', [inside], { to: DT.FLOAT }, { name: `resize_pad_${hint}_mask` });
  return b.op('Mul', [weight, mask], {}, { name: `resize_pad_${hint}` });
}
