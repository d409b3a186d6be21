/**
 * Median smoothing: each pixel of each channel becomes the median of the size×size window around
 * it; the output has the input's shape.
 *
 * Paper: Xu, Evans & Qi, "Feature Squeezing: Detecting Adversarial Examples in Deep Neural
 * Networks", NDSS 2018, https://arxiv.org/abs/1704.01155 (Section 3.2; a 2×2 median for MNIST,
 * 2×2 and 3×3 for CIFAR-10 and ImageNet).
 * Threat model: a preprocessing defense against any input perturbation. The median is
 * differentiable almost everywhere (its gradient flows to the selected pixel), so plain gradient
 * attacks work through it.
 *
 * Definition (matching `scipy.ndimage.median_filter(x, size=(1, 1, k, k))`, which Xu et al. used):
 * - the window of output pixel (i, j) covers rows i − ⌊k/2⌋ … i + k − 1 − ⌊k/2⌋ (and likewise
 *   columns), so an even window reaches one pixel further up/left than down/right (2×2: rows
 *   i − 1 and i);
 * - the "median" of the k² values is the one at index ⌊k²/2⌋ of the ascending order, i.e. the
 *   upper of the two middle values when k² is even;
 * - the border is padded by repeating the edge pixel (ONNX Pad mode 'edge'), which is scipy's
 *   default mode 'reflect' for k ≤ 3 (one pixel of padding per side) and differs from it beyond.
 *
 * ONNX form: Pad('edge') → a grouped Conv with one-hot kernels that copies the k² neighbours of
 * every pixel into k² channels → TopK (smallest ⌊k²/2⌋ + 1) along them → the last of those.
 * Needs static C, H and W.
 * Options: size k, an integer from 1 (the identity) to 9.
 *
 * @example
 * ```ts
 * const defended = applyInputTransforms(model, [medianFilter(2)]);
 * ```
 */
import { GibbonError } from '../../errors.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import { checkInteger, type InputTransform } from './input-transform.js';

export function medianFilter(size: number): InputTransform {
  checkInteger(size, 1, 9, 'median filter size', 'size');
  const window = size * size;
  const rank = Math.floor(window / 2);
  const before = Math.floor(size / 2);
  const after = size - 1 - before;
  return {
    name: `median:${size}`,
    description: `median filter over ${size}×${size} windows per channel, edge-padded (Xu et al. 2018)`,
    randomized: false,
    emit(b, x, shape) {
      const [, channels, height, width] = shape;
      if (shape.length !== 4 || typeof channels !== 'number' || typeof height !== 'number' || typeof width !== 'number') {
        throw new GibbonError('invalid_model', `median filter: the input must be NCHW with static C, H and W; got [${shape.map((d) => d ?? '?').join(', ')}]`, {
          option: 'size',
        });
      }
      if (size === 1) return b.op('Identity', [x], {}, { name: 'median' });
      const padded = b.op('Pad', [x, b.int64s([0, 0, before, before, 0, 0, after, after])], { mode: 'edge' }, { name: 'median_pad' });
      // Filter c·k² + (dy·k + dx) of group c copies the neighbour at (dy, dx) of channel c.
      const kernel = new Float32Array(channels * window * window);
      for (let c = 0; c < channels; c++) for (let j = 0; j < window; j++) kernel[(c * window + j) * window + j] = 1;
      const weights = b.constant(DT.FLOAT, [channels * window, 1, size, size], kernel, 'median_unfold');
      const unfolded = b.op('Conv', [padded, weights], { group: channels, kernel_shape: [size, size] }, { name: 'median_unfold' });
      const neighbours = b.op('Reshape', [unfolded, b.int64s([0, channels, window, height, width])], {}, { name: 'median_neighbours' });
      const [lowest] = b.node('TopK', [neighbours, b.int64s([rank + 1])], { axis: 2, largest: 0, sorted: 1 }, { outputs: 2, name: 'median_sort' });
      const median = b.op('Slice', [lowest!, b.int64s([rank]), b.int64s([rank + 1]), b.int64s([2])], {}, { name: 'median_pick' });
      return b.op('Reshape', [median, b.int64s([0, channels, height, width])], {}, { name: 'median' });
    },
  };
}
