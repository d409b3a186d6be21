/**
 * `gibbon grad MODEL --input X.npy --labels Y.npy --loss L [--target T.npy] [--wrt input|params] --out OUT`:
 * the gradient of the loss summed over the batch. With respect to the input it is one .npy shaped
 * like the input (row i is example i's own gradient); with respect to the parameters, a folder
 * with one `<initializer name>.npy` per trainable initializer.
 */
import type { ChannelDomain } from '../../model/channel-domain.js';
import { join } from 'node:path';
import type { EmbeddingLoss, LossName } from '../../autodiff/loss-heads.js';
import { GibbonError } from '../../errors.js';
import { existsSync } from 'node:fs';
import { readNpy, toFloat32, writeNpy } from '../../tensor/npy.js';
import { concatBatch, sliceBatch, type Tensor } from '../../tensor/tensor.js';
import { checkOutputIsNotAnInput, checkWritableFile, fileNameFor, prepareOutputFolder, readClasses } from '../files.js';
import { modelCommandInputs, openModelWithInputs, type ModelInterfaceValues } from '../model-options.js';
import { startProgress } from '../progress.js';
import type { Terminal } from '../terminal.js';

export interface GradValues extends ModelInterfaceValues {
  readonly domain?: readonly [number, number] | ChannelDomain;
  readonly model: string;
  readonly input: string;
  readonly labels?: string;
  readonly loss: LossName | EmbeddingLoss;
  readonly reference?: string;
  readonly target?: string;
  readonly wrt: 'input' | 'params';
  readonly out: string;
  readonly batchSize?: number;
  readonly threads?: number;
}

const DEFAULT_BATCH = 256;

/** Reference embeddings for --loss embedding: float (N, D), one row per input example. */
function readReference(path: string, n: number, dims: number): Tensor {
  const option = '--reference';
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path}`, { path, option });
  let t;
  try {
    t = readNpy(path);
  } catch (e) {
    if (e instanceof GibbonError) throw new GibbonError(e.code, e.message, { ...e.location, path, option }, { cause: e });
    throw e;
  }
  if (t.type !== 'float32' && t.type !== 'float64')
    throw new GibbonError('invalid_input', `${path} has dtype ${t.type}; reference embeddings must be float32 or float64`, { path, option });
  if (t.shape.length !== 2 || t.shape[0] !== n || t.shape[1] !== dims) {
    throw new GibbonError(
      'invalid_input',
      `${path} has shape [${t.shape.join(', ')}]; expected one embedding of the model's ${dims} values per example, [${n}, ${dims}]`,
      { path, option },
    );
  }
  const data = toFloat32(t);
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new GibbonError('invalid_input', `${path} contains ${data[bad]} at flat index ${bad}; reference embeddings must be finite`, { path, option });
  return { data, shape: [...t.shape] };
}

export async function run(values: GradValues, terminal: Terminal): Promise<void> {
  if (values.wrt === 'input') checkWritableFile(values.out, '--out');
  checkOutputIsNotAnInput({ path: values.out, option: '--out' }, modelCommandInputs(values));
  const batch = values.batchSize ?? DEFAULT_BATCH;
  const { model, x, notes } = await openModelWithInputs(values, batch);
  try {
    const n = x.shape[0]!;
    const embedding = values.loss === 'embedding';
    const reference = embedding ? readReference(values.reference!, n, model.numClasses) : undefined;
    const labels = embedding ? new Int32Array(n) : readClasses(values.labels!, '--labels', n, values.input, model.numClasses);
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
          const r = reference
            ? await model.embeddingDistanceAndGrad(sliceBatch(x, start, end), sliceBatch(reference, start, end))
            : await model.lossAndGrad(sliceBatch(x, start, end), labels.subarray(start, end), values.loss as LossName, targets?.subarray(start, end));
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
          const r = await model.paramGrads(sliceBatch(x, start, end), labels.subarray(start, end), values.loss as LossName, 'sum');
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
    const estimated = values.loss === 'embedding' ? [] : (await model.gradientGraphFor(values.loss, values.wrt)).straightThroughNodes;
    if (estimated.length > 0)
      terminal.note(
        `straight-through estimate (rounding taken as the identity) at ${estimated.length} quantising node(s): ${estimated.map((d) => `${d.name} (${d.opType})`).join(', ')}`,
      );
    const seconds = (performance.now() - started) / 1000;
    lines.unshift(`loss ${values.loss} summed over ${n} examples: ${lossSum.toPrecision(6)} (${seconds.toFixed(2)} s)`);
    terminal.out(lines.join('\n'));
  } finally {
    await model.dispose();
  }
}
