/**
 * Training heads: ONNX fragments appended to the logits z that compute, from forward values only,
 * the loss (for the log) and its gradient with respect to z (the cotangent that seeds backprop).
 * Emitting the cotangent in the graph lets one onnxruntime run do forward, loss and backward, and
 * lets a loss couple rows of the batch (TRADES compares each example with its adversarial twin).
 *
 *   ce      L = reduce_i CE(z_i, y_i)                         ∂L/∂z_i = s·(softmax(z_i) − onehot(y_i))
 *   kl      L = Σ_i KL(p_i ‖ softmax(z_i)), p fed (N, C)      ∂L/∂z_i = softmax(z_i) − p_i
 *   trades  z = [z_clean; z_adv] (2N rows), p = softmax(z_clean), q = softmax(z_adv), r = log p − log q:
 *           L = mean_i CE(z_clean_i, y_i) + β · mean_i KL(p_i ‖ q_i)            (Zhang et al. 2019)
 *           ∂L/∂z_clean_i = (p_i − onehot(y_i))/N + β/N · p_i ⊙ (r_i − KL_i)
 *           ∂L/∂z_adv_i   = β/N · (q_i − p_i)
 * `s` is 1 for reduction 'sum' and 1/N for 'mean'.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';

export const HEAD_LABELS = 'labels';
export const HEAD_PROBS = 'target_probs';
export const HEAD_BETA = 'trades_beta';

export type HeadSpec = { type: 'ce'; reduction: 'sum' | 'mean' } | { type: 'kl' } | { type: 'trades' };

export interface EmittedHead {
  /** Scalar loss. */
  loss: string;
  /** ∂loss/∂logits, shaped like the logits. */
  cotangent: string;
  /** Graph inputs the head added: name → ONNX type and shape. */
  inputs: { name: string; dataType: number; shape: (number | string | null)[] }[];
}

export function emitTrainingHead(b: GraphBuilder, head: HeadSpec, logits: string, numClasses: number): EmittedHead {
  const onehot = (labels: string): string =>
    b.op(
      'OneHot',
      [labels, b.int64s([numClasses], []), b.constant(DT.FLOAT, [2], Float32Array.of(0, 1), 'onehot_values')],
      { axis: -1 },
      { name: 'head/onehot' },
    );
  const rows = (v: string): string =>
    b.op('Cast', [b.op('Gather', [b.op('Shape', [v]), b.int64s([0], [])], { axis: 0 })], { to: DT.FLOAT }, { name: 'head/rows' });
  const labelsInput = { name: HEAD_LABELS, dataType: DT.INT64, shape: ['batch'] as (number | string | null)[] };
  switch (head.type) {
    case 'ce': {
      const p = b.op('Softmax', [logits], { axis: 1 }, { name: 'head/softmax' });
      const logp = b.op('LogSoftmax', [logits], { axis: 1 }, { name: 'head/log_softmax' });
      const y = onehot(HEAD_LABELS);
      const total = b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [logp, y])], { keepdims: 0 })], {}, { name: 'head/ce' });
      let cot = b.op('Sub', [p, y], {}, { name: 'head/ce_grad' });
      let loss = total;
      if (head.reduction === 'mean') {
        const n = rows(logits);
        cot = b.op('Div', [cot, n]);
        loss = b.op('Div', [total, n]);
      }
      return { loss, cotangent: cot, inputs: [labelsInput] };
    }
    case 'kl': {
      const q = b.op('Softmax', [logits], { axis: 1 }, { name: 'head/softmax' });
      const logq = b.op('LogSoftmax', [logits], { axis: 1 }, { name: 'head/log_softmax' });
      const p = HEAD_PROBS;
      // KL(p‖q) = Σ p (log p − log q), with 0·log 0 = 0.
      const logp = b.op('Log', [b.op('Max', [p, b.scalar(1e-30)])]);
      const kl = b.op('ReduceSum', [b.op('Mul', [p, b.op('Sub', [logp, logq])])], { keepdims: 0 }, { name: 'head/kl' });
      return {
        loss: kl,
        cotangent: b.op('Sub', [q, p], {}, { name: 'head/kl_grad' }),
        inputs: [{ name: HEAD_PROBS, dataType: DT.FLOAT, shape: ['batch', numClasses] }],
      };
    }
    case 'trades': {
      const [zc, za] = b.node('Split', [logits], { axis: 0, num_outputs: 2 }, { outputs: 2, name: 'head/split' }) as [string, string];
      const p = b.op('Softmax', [zc], { axis: 1 });
      const q = b.op('Softmax', [za], { axis: 1 });
      const logp = b.op('LogSoftmax', [zc], { axis: 1 });
      const logq = b.op('LogSoftmax', [za], { axis: 1 });
      const y = onehot(HEAD_LABELS);
      const n = rows(zc);
      const r = b.op('Sub', [logp, logq]);
      const klRow = b.op('ReduceSum', [b.op('Mul', [p, r]), b.int64s([1])], { keepdims: 1 }, { name: 'head/kl_row' });
      const beta = HEAD_BETA;
      const ce = b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [logp, y])], { keepdims: 0 })]);
      const klSum = b.op('ReduceSum', [klRow], { keepdims: 0 });
      const loss = b.op('Div', [b.op('Add', [ce, b.op('Mul', [beta, klSum])]), n], {}, { name: 'head/trades' });
      const betaOverN = b.op('Div', [beta, n]);
      const gClean = b.op('Add', [b.op('Div', [b.op('Sub', [p, y]), n]), b.op('Mul', [betaOverN, b.op('Mul', [p, b.op('Sub', [r, klRow])])])]);
      const gAdv = b.op('Mul', [betaOverN, b.op('Sub', [q, p])]);
      return {
        loss,
        cotangent: b.op('Concat', [gClean, gAdv], { axis: 0 }, { name: 'head/trades_grad' }),
        inputs: [labelsInput, { name: HEAD_BETA, dataType: DT.FLOAT, shape: [] }],
      };
    }
  }
}

export const HEAD_KAPPA = 'ibp_kappa';

export interface EmittedIbpHead {
  /** Scalar loss. */
  loss: string;
  /** Logits of the clean rows (N, C). */
  clean: string;
  /** ∂loss/∂logits_lower and ∂loss/∂margin_lower (2N, C each). */
  cotangents: { logitsLower: string; marginLower: string };
}

/**
 * The IBP head (Gowal et al. 2018, arXiv:1810.12715) on a bound graph run on 2N rows, the first N
 * with lower = upper = x (so logits_lower is z(x)), the last N the ε-boxes. With the worst-case
 * logits ẑ_j = −margin_lower_j (ẑ_y = 0) and κ fed (`ibp_kappa`):
 *   L = κ · mean_i CE(z_i, y_i) + (1 − κ) · mean_i CE(ẑ_i, y_i)
 *   ∂L/∂z_i = κ/N · (softmax(z_i) − onehot(y_i))      ∂L/∂margin_i = −(1 − κ)/N · (softmax(ẑ_i) − onehot(y_i))
 * `labels` holds the 2N labels (each example's twice).
 */
export function emitIbpHead(b: GraphBuilder, logitsLower: string, marginLower: string, labels: string, numClasses: number): EmittedIbpHead {
  const halves = (v: string, name: string): [string, string] => b.node('Split', [v], { axis: 0, num_outputs: 2 }, { outputs: 2, name }) as [string, string];
  const [z] = halves(logitsLower, 'head/ibp_split_logits');
  const [, margin] = halves(marginLower, 'head/ibp_split_margin');
  const onehot = b.op(
    'OneHot',
    [labels, b.int64s([numClasses], []), b.constant(DT.FLOAT, [2], Float32Array.of(0, 1), 'onehot_values')],
    { axis: -1 },
    { name: 'head/onehot' },
  );
  const [yClean, yBox] = halves(onehot, 'head/ibp_split_labels');
  const worst = b.op('Neg', [margin], {}, { name: 'head/ibp_worst_logits' });
  const n = b.op('Cast', [b.op('Gather', [b.op('Shape', [z]), b.int64s([0], [])], { axis: 0 })], { to: DT.FLOAT }, { name: 'head/rows' });
  const ce = (logits: string, y: string, name: string): string =>
    b.op('Neg', [b.op('ReduceSum', [b.op('Mul', [b.op('LogSoftmax', [logits], { axis: 1 }), y])], { keepdims: 0 })], {}, { name });
  const kappa = HEAD_KAPPA;
  const rest = b.op('Sub', [b.scalar(1), kappa], {}, { name: 'head/ibp_one_minus_kappa' });
  const loss = b.op(
    'Div',
    [b.op('Add', [b.op('Mul', [kappa, ce(z, yClean, 'head/ibp_ce_clean')]), b.op('Mul', [rest, ce(worst, yBox, 'head/ibp_ce_worst')])]), n],
    {},
    { name: 'head/ibp' },
  );
  const gClean = b.op('Mul', [b.op('Div', [kappa, n]), b.op('Sub', [b.op('Softmax', [z], { axis: 1 }), yClean])], {}, { name: 'head/ibp_grad_clean' });
  const gMargin = b.op(
    'Mul',
    [b.op('Div', [b.op('Neg', [rest]), n]), b.op('Sub', [b.op('Softmax', [worst], { axis: 1 }), yBox])],
    {},
    { name: 'head/ibp_grad_margin' },
  );
  const zeros = b.op('Mul', [gClean, b.scalar(0)], {}, { name: 'head/ibp_zeros' });
  return {
    loss,
    clean: z,
    cotangents: {
      logitsLower: b.op('Concat', [gClean, zeros], { axis: 0 }, { name: 'head/ibp_grad_logits_lower' }),
      marginLower: b.op('Concat', [zeros, gMargin], { axis: 0 }, { name: 'head/ibp_grad_margin_lower' }),
    },
  };
}
