/**
 * The CTC loss head: an ONNX fragment appended to a sequence recogniser's per-frame class scores
 * that computes, per example, −log p(target | x) by the CTC forward algorithm (Graves et al.,
 * "Connectionist Temporal Classification", ICML 2006), in log space, batched, with padded targets
 * of per-example length.
 *
 * The scores are (T, N, C) ('TNC', PyTorch's CRNN convention) or (N, T, C) ('NTC', PaddleOCR's);
 * log-softmax over C is applied first, so raw scores and log-probabilities both work (log-softmax
 * of log-probabilities changes nothing). Every example uses all T frames.
 *
 * The recursion runs over the extended label sequence l' = (blank, l1, blank, l2, …, lS, blank) of
 * length L = 2S + 1, unrolled over the static number of frames T:
 *   α_0(s)  = y_0(l'_s) for s < 2, else impossible
 *   α_t(s)  = logsumexp(α_{t−1}(s), α_{t−1}(s−1), α_{t−1}(s−2) if l'_s ≠ blank and l'_s ≠ l'_{s−2}) + y_t(l'_s)
 *   −log p  = −logsumexp(α_{T−1}(2·len), α_{T−1}(2·len − 1))
 * "Impossible" is a large finite negative number (−1e30) rather than −∞, so no NaN can arise
 * from −∞ − (−∞) in the forward pass or in the gradient; a target that no alignment of T frames
 * can produce gets a loss near 1e30 (callers should check feasibility, see ctcFramesNeeded).
 * The fragment uses only standard ops that gibbon differentiates (LogSoftmax, Transpose,
 * GatherElements, Split, Squeeze, Slice, Pad, Unsqueeze, Concat, ReduceLogSumExp, Add, Neg); the
 * masks are computed from the integer targets and carry no gradient.
 */
import { GibbonError } from '../errors.js';
import type { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';

export type SequenceLayout = 'TNC' | 'NTC';
export const SEQUENCE_LAYOUTS: readonly SequenceLayout[] = ['TNC', 'NTC'];

export interface CtcHeadInputs {
  /** Per-frame class scores, laid out as `layout`. */
  readonly scores: string;
  readonly layout: SequenceLayout;
  /** Number of frames T (static). */
  readonly frames: number;
  /** Number of classes C, blank included. */
  readonly classes: number;
  readonly blank: number;
  /** Target label sequences, int64 (N, S), padded with any class past each length. */
  readonly targets: string;
  /** Length of each target, int64 (N), 0 ≤ length ≤ S. */
  readonly targetLengths: string;
  /** S, the padded length (static, ≥ 1). */
  readonly maxTargetLength: number;
  /** ONNX float type of the scores (default float32). */
  readonly dataType?: number;
}

/** Stands for log 0: finite, so that differences and gradients stay finite. */
export const CTC_IMPOSSIBLE = -1e30;

/**
 * Frames a CTC alignment of `labels` needs: one per label plus one blank between each pair of equal
 * neighbours. A target needing more frames than the model emits has probability 0.
 */
export function ctcFramesNeeded(labels: readonly number[]): number {
  let repeats = 0;
  for (let i = 1; i < labels.length; i++) if (labels[i] === labels[i - 1]) repeats++;
  return labels.length + repeats;
}

/** Emits the head; returns the per-example negative log-likelihood −log p(target | x), shape (N). */
export function emitCtcLoss(b: GraphBuilder, io: CtcHeadInputs): string {
  const { frames: T, classes: C, blank, maxTargetLength: S } = io;
  const dt = io.dataType ?? DT.FLOAT;
  if (!Number.isInteger(T) || T < 1) throw new GibbonError('invalid_model', `a CTC head needs a known number of frames; got ${T}`);
  if (!Number.isInteger(S) || S < 1) throw new GibbonError('invalid_option', `padded target length must be ≥ 1; got ${S}`, { option: 'targets' });
  if (!Number.isInteger(blank) || blank < 0 || blank >= C) {
    throw new GibbonError('invalid_option', `blank class ${blank} is not a class of this model (0…${C - 1})`, { option: 'blank' });
  }
  const L = 2 * S + 1;
  const name = (hint: string): { name: string } => ({ name: `ctc/${hint}` });
  const axes = (...a: number[]): string => b.int64s(a);
  const impossible = b.scalar(CTC_IMPOSSIBLE, dt);
  const zero = b.scalar(0, dt);

  // log-probabilities, (N, T, C)
  let logp = b.op('LogSoftmax', [io.scores], { axis: 2 }, name('log_softmax'));
  if (io.layout === 'TNC') logp = b.op('Transpose', [logp], { perm: [1, 0, 2] }, name('to_ntc'));

  // Extended labels l' (N, L): blank, l1, blank, l2, …, lS, blank.
  const blanks = b.op('Add', [b.op('Mul', [io.targets, b.int64Scalar(0)]), b.int64Scalar(blank)], {}, name('blanks'));
  const pairs = b.op('Concat', [b.op('Unsqueeze', [blanks, axes(2)]), b.op('Unsqueeze', [io.targets, axes(2)])], { axis: 2 }, name('pairs'));
  const interleaved = b.op('Reshape', [pairs, b.int64s([0, 2 * S])], {}, name('interleaved'));
  const lastBlank = b.op('Slice', [blanks, axes(0), axes(1), axes(1)], {}, name('last_blank'));
  const ext = b.op('Concat', [interleaved, lastBlank], { axis: 1 }, name('extended'));

  // Emissions y_t(l'_s): (N, T, L), then one (N, L) slice per frame.
  const index = b.op('Expand', [b.op('Unsqueeze', [ext, axes(1)]), b.int64s([1, T, L])], {}, name('emission_index'));
  const emissions = b.op('GatherElements', [logp, index], { axis: 2 }, name('emissions'));
  const perFrame = T === 1 ? [emissions] : b.node('Split', [emissions], { axis: 1, num_outputs: T }, { outputs: T, name: 'ctc/frames' });
  const frame = (t: number): string => b.op('Squeeze', [perFrame[t]!, axes(1)], {}, name(`frame_${t}`));

  // Masks (0 where allowed, "impossible" elsewhere); integer-only inputs, so no gradient.
  const mask = (allowed: string, hint: string): string => b.op('Where', [allowed, zero, impossible], {}, name(hint));
  const positions = b.int64s(
    Array.from({ length: L }, (_, s) => s),
    [1, L],
  );
  const startMask = mask(b.op('Less', [positions, b.int64Scalar(2)]), 'start_mask');
  const twoBack = b.op('Pad', [b.op('Slice', [ext, axes(0), axes(L - 2), axes(1)]), b.int64s([0, 2, 0, 0]), b.int64Scalar(-1)], {}, name('ext_shift2'));
  const skipAllowed = b.op(
    'And',
    [b.op('Not', [b.op('Equal', [ext, b.int64Scalar(blank)])]), b.op('Not', [b.op('Equal', [ext, twoBack])])],
    {},
    name('skip_allowed'),
  );
  const skipMask = mask(skipAllowed, 'skip_mask');
  const twoLen = b.op('Mul', [b.op('Unsqueeze', [io.targetLengths, axes(1)]), b.int64Scalar(2)], {}, name('two_len'));
  const isEnd = b.op('Or', [b.op('Equal', [positions, twoLen]), b.op('Equal', [positions, b.op('Sub', [twoLen, b.int64Scalar(1)])])], {}, name('is_end'));
  const endMask = mask(isEnd, 'end_mask');

  // Shifted copies of α along s, filled with "impossible" where s − k < 0.
  const shift = (alpha: string, k: number, t: number): string =>
    b.op('Pad', [b.op('Slice', [alpha, axes(0), axes(L - k), axes(1)]), b.int64s([0, k, 0, 0]), impossible], {}, name(`alpha_${t}_shift${k}`));
  const column = (v: string): string => b.op('Unsqueeze', [v, axes(2)]);

  let alpha = b.op('Add', [frame(0), startMask], {}, name('alpha_0'));
  for (let t = 1; t < T; t++) {
    const stay = column(alpha);
    const step = column(shift(alpha, 1, t));
    const skip = column(b.op('Add', [shift(alpha, 2, t), skipMask]));
    const paths = b.op('Concat', [stay, step, skip], { axis: 2 }, name(`paths_${t}`));
    const merged = b.op('ReduceLogSumExp', [paths, axes(2)], { keepdims: 0 }, name(`merge_${t}`));
    alpha = b.op('Add', [merged, frame(t)], {}, name(`alpha_${t}`));
  }
  const logLikelihood = b.op('ReduceLogSumExp', [b.op('Add', [alpha, endMask]), axes(1)], { keepdims: 0 }, name('log_likelihood'));
  return b.op('Neg', [logLikelihood], {}, name('nll'));
}
