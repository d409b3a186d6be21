/**
 * `node dist/bench/eval-throughput.js [--n 100] [--threads 2] [--attacks fast,auto] [--json]`
 * Evaluation throughput (images/s) of the whole runner — cascade, masking-check runs, report built
 * in memory — under the mnist-linf-0.3 threat model (ε 0.1, 0.2, 0.3) on the first n MNIST test
 * images, for the bundled trained model (mnist-standard) and the Madry et al. CNN with seeded random
 * weights (labelled with its own predictions, so every example is attacked).
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadMnist } from '../src/data/mnist.js';
import { resolveEnsemble } from '../src/evaluation/presets.js';
import { evaluate } from '../src/evaluation/runner.js';
import { THREAT_MODEL_PRESETS, withOverrides } from '../src/evaluation/threat-model.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { loadModel, type ModelIR } from '../src/onnx/model.js';
import { argmaxRows } from '../src/tensor/tensor.js';
import { madryCnn } from './models.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface EvalThroughput {
  readonly model: string;
  readonly attacks: string;
  readonly n: number;
  readonly threads: number;
  readonly seconds: number;
  readonly images_per_s: number;
  readonly robust_accuracy: readonly number[];
}

/** One evaluation of `ir` with the given ensemble; labels are the true ones or the model's own predictions. */
export async function evalThroughput(name: string, ir: ModelIR, attacks: string, n: number, threads: number, ownLabels: boolean): Promise<EvalThroughput> {
  const model = await OnnxModel.load(ir, { threads, batchSize: 128 });
  try {
    const tm = withOverrides(THREAT_MODEL_PRESETS.get('mnist-linf-0.3')!, { n });
    const { x, y } = loadMnist('test', { limit: n });
    const labels = ownLabels ? argmaxRows(await model.logits(x)) : y;
    const started = performance.now();
    const { report } = await evaluate({
      model,
      modelPath: name,
      threatModel: tm,
      data: { x, labels, source: 'mnist-test', notes: [] },
      ensemble: resolveEnsemble(attacks),
      threads,
    });
    const seconds = (performance.now() - started) / 1000;
    return { model: name, attacks, n, threads, seconds, images_per_s: n / seconds, robust_accuracy: report.robust_accuracy.map((p) => p.accuracy) };
  } finally {
    await model.dispose();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: 'string', default: '100' },
      threads: { type: 'string', default: '2' },
      attacks: { type: 'string', default: 'fast,auto' },
      json: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.n);
  const threads = Number(values.threads);
  const results: EvalThroughput[] = [];
  for (const attacks of values.attacks!.split(',')) {
    results.push(await evalThroughput('mnist-standard', loadModel(join(ROOT, 'models', 'mnist-standard.onnx')), attacks, n, threads, false));
    results.push(await evalThroughput('madry_cnn (random weights)', madryCnn(0), attacks, n, threads, true));
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  for (const r of results) {
    process.stdout.write(
      `eval --attacks ${r.attacks.padEnd(4)}  ${r.model.padEnd(28)} n=${r.n} threads=${r.threads}  ${r.images_per_s.toFixed(2)} images/s (${r.seconds.toFixed(1)} s; robust ${r.robust_accuracy.map((a) => (100 * a).toFixed(0) + '%').join(' / ')})\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
