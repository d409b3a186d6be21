/** `gibbon predict MODEL --input X.npy [--labels Y.npy] [--out P.npy]`: classes, accuracy, logits. */
import type { ChannelDomain } from '../../model/channel-domain.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { writeNpy } from '../../tensor/npy.js';
import { argmaxRows, concatBatch, sliceBatch, type Tensor } from '../../tensor/tensor.js';
import { checkOutputIsNotAnInput, checkWritableFile, readClasses } from '../files.js';
import { modelCommandInputs, openModelWithInputs, type ModelInterfaceValues } from '../model-options.js';
import { startProgress } from '../progress.js';
import type { Terminal } from '../terminal.js';
import { percent } from '../format.js';

export interface PredictValues extends ModelInterfaceValues {
  readonly domain?: readonly [number, number] | ChannelDomain;
  readonly model: string;
  readonly input: string;
  /** Text models: texts to classify (instead of --input). */
  readonly text?: readonly string[];
  readonly vocab?: string;
  readonly labels?: string;
  readonly out?: string;
  readonly batchSize?: number;
  readonly threads?: number;
}

const DEFAULT_BATCH = 256;

/** Logits of all examples, batch by batch (with a progress bar on a terminal for long runs). */
export async function logitsInBatches(model: OnnxModel, x: Tensor, batch: number, terminal: Terminal, label: string): Promise<Tensor> {
  const n = x.shape[0]!;
  const progress = await startProgress(terminal, label, n, 4 * batch);
  const parts: Tensor[] = [];
  try {
    for (let start = 0; start < n; start += batch) {
      parts.push(await model.logits(sliceBatch(x, start, Math.min(n, start + batch))));
      progress.update(Math.min(n, start + batch));
    }
  } finally {
    progress.stop();
  }
  return concatBatch(parts);
}

export { percent };

export async function run(values: PredictValues, terminal: Terminal): Promise<void> {
  if (values.text !== undefined || values.vocab !== undefined || /\.jsonl$/i.test(values.input ?? '')) {
    return (await import('./predict-text.js')).runTextPredict(values, terminal);
  }
  if (values.out) checkWritableFile(values.out, '--out');
  checkOutputIsNotAnInput({ path: values.out, option: '--out' }, modelCommandInputs(values));
  const batch = values.batchSize ?? DEFAULT_BATCH;
  const { model, x, notes } = await openModelWithInputs(values, batch);
  try {
    const n = x.shape[0]!;
    const labels = values.labels ? readClasses(values.labels, '--labels', n, values.input, model.numClasses) : undefined;
    for (const note of notes) terminal.note(note);

    const started = performance.now();
    const logits = await logitsInBatches(model, x, batch, terminal, 'predict');
    const seconds = (performance.now() - started) / 1000;
    const predicted = argmaxRows(logits);

    const perClass = new Array<number>(model.numClasses).fill(0);
    for (const p of predicted) perClass[p]!++;
    const lines = [`${n} examples, ${model.numClasses} classes, ${seconds.toFixed(2)} s`];
    lines.push(`predicted classes: ${perClass.map((c, k) => `${k}:${c}`).join(' ')}`);
    if (n <= 20) lines.push(`predictions: ${[...predicted].join(' ')}`);
    if (labels) {
      let correct = 0;
      for (let i = 0; i < n; i++) if (predicted[i] === labels[i]) correct++;
      lines.push(`accuracy: ${percent(correct, n)} (${correct}/${n})`);
    }
    if (values.out) {
      writeNpy(values.out, { type: 'float32', data: logits.data, shape: logits.shape });
      lines.push(
        `wrote logits [${logits.shape.join(', ')}]${model.outputsProbabilities ? ` (the scores before the final ${model.classScores.source === 'sigmoid-input' ? 'Sigmoid' : 'Softmax'})` : ''}${model.classScores.binary ? ' (one score s read as the two classes (0, s))' : ''} to ${values.out}`,
      );
    }
    terminal.out(lines.join('\n'));
  } finally {
    await model.dispose();
  }
}
