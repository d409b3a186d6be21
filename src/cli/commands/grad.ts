/**
 * `gibbon grad MODEL --input X.npy --labels Y.npy --loss L [--target T.npy] [--wrt input|params] --out OUT`:
 * the gradient of the loss summed over the batch. With respect to the input it is one .npy shaped
 * like the input (row i is example i's own gradient); with respect to the parameters, a folder
 * with one `<initializer name>.npy` per trainable initializer.
 */
import { join } from 'node:path';
import type { LossName } from '../../autodiff/loss-heads.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { writeNpy } from '../../tensor/npy.js';
import { concatBatch, sliceBatch, type Tensor } from '../../tensor/tensor.js';
import { checkWritableFile, fileNameFor, prepareOutputFolder, readClasses, readModelInputs } from '../files.js';
import { modelInterfaceOptions, type ModelInterfaceValues } from '../model-options.js';
import { startProgress } from '../progress.js';
import type { Terminal } from '../terminal.js';

export interface GradValues extends ModelInterfaceValues {
  readonly domain?: readonly [number, number];
  readonly model: string;
  readonly input: string;
  readonly labels: string;
  readonly loss: LossName;
  readonly target?: string;
  readonly wrt: 'input' | 'params';
  readonly out: string;
  readonly batchSize?: number;
  readonly threads?: number;
}

const DEFAULT_BATCH = 256;

export async function run(values: GradValues, terminal: Terminal): Promise<void> {
  if (values.wrt === 'input') checkWritableFile(values.out, '--out');
  const batch = values.batchSize ?? DEFAULT_BATCH;
  const model = await OnnxModel.load(values.model, { threads: values.threads, batchSize: batch, ...modelInterfaceOptions(values, values.input) });
  try {
    const { x, notes } = readModelInputs(values.input, '--input', model, values.domain);
    const n = x.shape[0]!;
    const labels = readClasses(values.labels, '--labels', n, values.input, model.numClasses);
    const targets = values.target ? readClasses(values.target, '--target', n, values.input, model.numClasses) : undefined;
    if (values.wrt === 'params') prepareOutputFolder(values.out, '--out');
    for (const note of notes) terminal.note(note);

    const started = performance.now();
    const progress = await startProgress(terminal, `grad ${values.loss}`, n, 4 * batch);
    let lossSum = 0;
    const lines: string[] = [];
    try {
      if (values.wrt === 'input') {
        const parts: Tensor[] = [];
        for (let start = 0; start < n; start += batch) {
          const end = Math.min(n, start + batch);
          const r = await model.lossAndGrad(sliceBatch(x, start, end), labels.subarray(start, end), values.loss, targets?.subarray(start, end));
          for (const v of r.loss) lossSum += v;
          parts.push(r.grad);
          progress.update(end);
        }
        const grad = concatBatch(parts);
        writeNpy(values.out, { type: 'float32', data: grad.data, shape: grad.shape });
        lines.push(`wrote d(Σ ${values.loss})/d${model.inputName} [${grad.shape.join(', ')}] to ${values.out}`);
      } else {
        const sums = new Map<string, Tensor>();
        for (let start = 0; start < n; start += batch) {
          const end = Math.min(n, start + batch);
          const r = await model.paramGrads(sliceBatch(x, start, end), labels.subarray(start, end), values.loss, 'sum');
          for (const v of r.loss) lossSum += v;
          for (const [name, g] of r.grads) {
            const acc = sums.get(name);
            if (!acc) sums.set(name, { data: Float32Array.from(g.data), shape: [...g.shape] });
            else for (let i = 0; i < acc.data.length; i++) acc.data[i]! += g.data[i]!;
          }
          progress.update(end);
        }
        for (const [name, g] of sums) writeNpy(join(values.out, `${fileNameFor(name)}.npy`), { type: 'float32', data: g.data, shape: g.shape });
        lines.push(`wrote d(Σ ${values.loss})/dθ for ${sums.size} trainable initializers to ${values.out}/`);
        for (const [name, g] of sums) lines.push(`  ${fileNameFor(name)}.npy  [${g.shape.join(', ')}]`);
      }
    } finally {
      progress.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    lines.unshift(`loss ${values.loss} summed over ${n} examples: ${lossSum.toPrecision(6)} (${seconds.toFixed(2)} s)`);
    terminal.out(lines.join('\n'));
  } finally {
    await model.dispose();
  }
}
