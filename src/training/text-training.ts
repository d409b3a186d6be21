/**
 * Training a text classifier with the common trainer (trainer.ts): the texts are tokenized with
 * the model's vocabulary into (N, maxLength) token ids (held as whole numbers in the float
 * dataset the trainer shuffles and batches; the model's int64 input is fed from them), and the
 * gradients reach the embedding table through Gather's rule.
 *
 * Adversarial training (A2T-style; Yoo & Qi 2021, arXiv:2109.00544): `augment(texts, labels,
 * model)` is called for every batch with the model's current weights; each string it returns is
 * an extra example with the label of the text at its position (null: no copy), added to that
 * batch's step.
 */
import { GibbonError } from '../errors.js';
import type { TextDataset } from '../data/text-data.js';
import type { ModelIR } from '../onnx/model.js';
import type { TextClassifier, WhiteBoxTextClassifier } from '../text/classifier.js';
import { OnnxTextModel } from '../text/onnx-text-model.js';
import { bindVocabulary, tokenIds, tokenizeText, vocabularyOfModel, type TextVocabulary } from '../text/vocabulary.js';
import type { Dataset } from './dataset.js';
import { train, type TrainOptions, type TrainResult } from './trainer.js';
import { argmax } from '../tensor/scores.js';

/** Attacked (or otherwise augmented) copies of a batch's texts: one per text, or null for none. */
export type TextAugment = (texts: readonly string[], labels: readonly number[], model: WhiteBoxTextClassifier) => Promise<readonly (string | null)[]>;

export interface TextTrainOptions extends Omit<TrainOptions, 'method' | 'augmentBatch' | 'bounds' | 'norm' | 'eps' | 'steps' | 'stepSize'> {
  /** A2T-style augmentation per batch (see the file comment). Default none. */
  augment?: TextAugment;
  /** onnxruntime threads of the model handed to `augment` (default: `threads`). */
  augmentThreads?: number;
}

/** The texts as the float dataset the trainer reads: one row of maxLength token ids per text. */
export function encodeTextDataset(v: TextVocabulary, data: TextDataset): Dataset {
  const ids = tokenIds(v);
  const x = new Float32Array(data.texts.length * v.maxLength).fill(v.padId);
  data.texts.forEach((text, r) => tokenizeText(v, ids, text).forEach((t, j) => (x[r * v.maxLength + j] = t.id)));
  return { x, y: Int32Array.from(data.labels), n: data.texts.length, shape: [v.maxLength], source: data.source };
}

/** Trains a text model (with its vocabulary in its metadata) on labelled texts; returns the trained model with its vocabulary. */
export async function trainTextModel(model: ModelIR, data: TextDataset, heldOut: TextDataset | undefined, o: TextTrainOptions): Promise<TrainResult> {
  const v = vocabularyOfModel(model);
  if (!v) throw new GibbonError('invalid_model', `${model.path ?? 'the model'} has no vocabulary ('gibbon.text' metadata); text training needs one`);
  bindVocabulary(model, v);
  const ids = tokenIds(v);
  const augment = o.augment;
  const result = await train(model, encodeTextDataset(v, data), heldOut ? encodeTextDataset(v, heldOut) : undefined, {
    ...o,
    method: 'standard',
    augmentBatch: augment
      ? async (batch) => {
          const texts = Array.from(batch.rows, (r) => data.texts[r]!);
          const labels = Array.from(batch.y);
          const current = await OnnxTextModel.fromModel(batch.model(), { threads: o.augmentThreads ?? o.threads });
          let copies: readonly (string | null)[];
          try {
            copies = await augment(texts, labels, current);
          } finally {
            await current.dispose();
          }
          if (copies.length !== texts.length)
            throw new GibbonError('invalid_option', `augment returned ${copies.length} texts for a batch of ${texts.length}`, { option: 'augment' });
          const kept = [...copies.keys()].filter((i) => typeof copies[i] === 'string');
          const x = new Float32Array(kept.length * v.maxLength).fill(v.padId);
          kept.forEach((i, r) => tokenizeText(v, ids, copies[i]!).forEach((t, j) => (x[r * v.maxLength + j] = t.id)));
          return { x, y: Int32Array.from(kept, (i) => labels[i]!) };
        }
      : undefined,
  });
  return result;
}

/** Accuracy, and precision and recall of one class (the positive class, e.g. spam), of a classifier on labelled texts. */
export async function textClassifierMetrics(
  model: TextClassifier,
  data: TextDataset,
  positive = 1,
): Promise<{ accuracy: number; precision: number; recall: number; n: number; predictions: Int32Array }> {
  const scores = await model.scores(data.texts);
  const predictions = Int32Array.from(scores, argmax);
  let correct = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  predictions.forEach((p, i) => {
    const y = data.labels[i]!;
    if (p === y) correct++;
    if (p === positive && y === positive) tp++;
    if (p === positive && y !== positive) fp++;
    if (p !== positive && y === positive) fn++;
  });
  const n = data.texts.length;
  return { accuracy: correct / n, precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn), n, predictions };
}
