/**
 * Loss heads: ONNX fragments appended to the logits z (N, C) that compute a per-example loss (N).
 * Every head is oriented so that INCREASING it moves towards the attacker's goal, so attacks always
 * ascend:
 *   ce               CE(z, y) = logsumexp(z) − z_y
 *   margin           max_{j≠y} z_j − z_y                         (Carlini & Wagner 2017)
 *   dlr              −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3 + 1e-12)   (Croce & Hein 2020)
 *   ce-targeted      −CE(z, t)
 *   margin-targeted  z_t − max_{j≠t} z_j
 *   dlr-targeted     −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e-12)  (Croce & Hein 2020)
 * where y are the true labels (input 'labels') and t the targets (input 'targets'), int64 (N).
 */
import { GibbonError } from '../errors.js';
import type { GraphBuilder } from '../onnx/builder.js';

export const LOSS_NAMES = ['ce', 'margin', 'dlr', 'ce-targeted', 'margin-targeted', 'dlr-targeted'] as const;
export type LossName = (typeof LOSS_NAMES)[number];

export function isTargetedLoss(loss: LossName | EmbeddingLoss): boolean {
  return loss.endsWith('-targeted');
}

/**
 * The loss of embedding models (face or speaker embeddings, (N, D) after the output head): the
 * squared distance Σ_d (e_d − r_d)² of the embedding e from a reference r (input 'reference',
 * float (N, D)), usually the clean input's own. Increasing it pushes the embedding away. Its
 * gradient is zero at the reference itself, so attacks start from a random point.
 */
export const EMBEDDING_LOSS = 'embedding';
export type EmbeddingLoss = typeof EMBEDDING_LOSS;

/** The embedding head: per-example squared distance from the reference. */
export function emitEmbeddingHead(b: GraphBuilder, embedding: string, reference: string): string {
  const diff = b.op('Sub', [embedding, reference], {}, { name: 'loss/embedding_diff' });
  return b.op('ReduceSum', [b.op('Mul', [diff, diff], {}, { name: 'loss/embedding_square' }), b.int64s([1])], { keepdims: 0 }, { name: 'loss/embedding' });
}

export interface LossHeadInputs {
  logits: string;
  labels: string;
  targets?: string;
  numClasses: number;
}

const MOST_NEGATIVE = -3.4e38;

/** Emits the head; returns the per-example loss value (N). */
export function emitLossHead(b: GraphBuilder, loss: LossName, io: LossHeadInputs): string {
  const { logits: z, numClasses: c } = io;
  const column = (labels: string): string => b.op('Unsqueeze', [labels, b.int64s([1])], {}, { name: 'loss/labels' });
  const pick = (labels: string): string =>
    b.op('Squeeze', [b.op('GatherElements', [z, column(labels)], { axis: 1 }, { name: 'loss/pick' }), b.int64s([1])], {}, { name: 'loss/pick' });
  const maxOther = (labels: string): string => {
    // 0 … C−1 made in the graph (Range), not stored: a model may have very many classes.
    const classes = b.op('Unsqueeze', [b.op('Range', [b.int64s([0], []), b.int64s([c], []), b.int64s([1], [])], {}, { name: 'loss/classes' }), b.int64s([0])]);
    const isLabel = b.op('Equal', [classes, column(labels)], {}, { name: 'loss/is_label' });
    const others = b.op('Where', [isLabel, b.scalar(MOST_NEGATIVE), z], {}, { name: 'loss/others' });
    return b.op('ReduceMax', [others, b.int64s([1])], { keepdims: 0 }, { name: 'loss/max_other' });
  };
  const targets = (): string => {
    if (!io.targets) throw new GibbonError('invalid_option', `loss '${loss}' needs target classes`, { option: 'targets' });
    return io.targets;
  };
  const top = (k: number): string[] => {
    if (c < k) throw new GibbonError('invalid_option', `loss '${loss}' needs at least ${k} classes; the model has ${c}`, { option: 'loss' });
    const [values] = b.node('TopK', [z, b.int64s([k])], { axis: 1, largest: 1, sorted: 1 }, { outputs: 2, name: 'loss/topk' });
    const parts = b.node('Split', [values!], { axis: 1, num_outputs: k }, { outputs: k, name: 'loss/topk_split' });
    return parts.map((p) => b.op('Squeeze', [p, b.int64s([1])], {}, { name: 'loss/topk_value' }));
  };
  switch (loss) {
    case 'ce':
    case 'ce-targeted': {
      const labels = loss === 'ce' ? io.labels : targets();
      const logp = b.op('LogSoftmax', [z], { axis: 1 }, { name: 'loss/log_softmax' });
      const picked = b.op('Squeeze', [b.op('GatherElements', [logp, column(labels)], { axis: 1 }, { name: 'loss/pick' }), b.int64s([1])]);
      return loss === 'ce' ? b.op('Neg', [picked], {}, { name: 'loss/ce' }) : picked;
    }
    case 'margin':
      return b.op('Sub', [maxOther(io.labels), pick(io.labels)], {}, { name: 'loss/margin' });
    case 'margin-targeted':
      return b.op('Sub', [pick(targets()), maxOther(targets())], {}, { name: 'loss/margin_targeted' });
    case 'dlr': {
      const [p1, , p3] = top(3) as [string, string, string];
      const num = b.op('Sub', [maxOther(io.labels), pick(io.labels)]);
      const den = b.op('Add', [b.op('Sub', [p1, p3]), b.scalar(1e-12)]);
      return b.op('Div', [num, den], {}, { name: 'loss/dlr' });
    }
    case 'dlr-targeted': {
      const [p1, , p3, p4] = top(4) as [string, string, string, string];
      const num = b.op('Sub', [pick(targets()), pick(io.labels)]);
      const mid = b.op('Mul', [b.op('Add', [p3, p4]), b.scalar(0.5)]);
      const den = b.op('Add', [b.op('Sub', [p1, mid]), b.scalar(1e-12)]);
      return b.op('Div', [num, den], {}, { name: 'loss/dlr_targeted' });
    }
    default:
      throw new GibbonError('invalid_option', `unknown loss '${String(loss)}'; valid: ${LOSS_NAMES.join(', ')}`, { option: 'loss' });
  }
}
