/**
 * `gibbon demo [--model FILE] [--n N] [--eps LIST]`: FGSM (Goodfellow, Shlens & Szegedy 2015,
 * https://arxiv.org/abs/1412.6572) against an MNIST classifier on the first N test images, at each
 * L∞ budget ε: x_adv = clip(x + ε·sign(∇x CE), 0, 1). Prints clean versus adversarial accuracy.
 * The attack runs through the harness (runAttack), which clips to the budget and re-checks every
 * claimed success with a fresh forward pass.
 */
import { runAttack } from '../../attacks/attack.js';
import { FgsmAttack } from '../../attacks/fgsm.js';
import { loadMnist } from '../../data/mnist.js';
import { GibbonError } from '../../errors.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { gradientOracle } from '../../model/oracles.js';
import { argmaxRows } from '../../tensor/tensor.js';
import { shownPath } from '../format.js';
import { defaultModelPath } from '../package-root.js';
import { startProgress } from '../progress.js';
import type { Terminal } from '../terminal.js';
import { logitsInBatches, percent } from './predict.js';

export interface DemoValues {
  readonly model?: string;
  readonly n: number;
  readonly eps: readonly number[];
  readonly batchSize?: number;
  readonly threads?: number;
}

const MNIST_SHAPE = [1, 28, 28];

export async function run(values: DemoValues, terminal: Terminal): Promise<void> {
  const path = values.model ?? defaultModelPath();
  const batch = values.batchSize ?? 256;
  const model = await OnnxModel.load(path, { threads: values.threads, batchSize: batch });
  try {
    const shape = model.inputShape;
    if (shape.length !== 4 || MNIST_SHAPE.some((d, i) => shape[i + 1] !== null && shape[i + 1] !== d)) {
      throw new GibbonError(
        'invalid_model',
        `${path} takes input [N, ${shape
          .slice(1)
          .map((d) => d ?? '?')
          .join(', ')}]; the demo feeds MNIST images [N, 1, 28, 28]`,
        { path, option: '--model' },
      );
    }
    if (model.numClasses < 10) {
      throw new GibbonError('invalid_model', `${path} has ${model.numClasses} classes; an MNIST classifier needs 10`, { path, option: '--model' });
    }
    const { x, y } = loadMnist('test', { limit: values.n });
    const n = y.length;

    const cleanStart = performance.now();
    const predicted = argmaxRows(await logitsInBatches(model, x, batch, terminal, 'clean'));
    const cleanSeconds = (performance.now() - cleanStart) / 1000;
    let correct = 0;
    for (let i = 0; i < n; i++) if (predicted[i] === y[i]) correct++;

    const progress = await startProgress(terminal, 'FGSM', values.eps.length, n * values.eps.length >= 4 * batch ? 1 : Infinity);
    const epsilons = [...values.eps];
    let done = 0;
    const outcomes = await runAttack(new FgsmAttack(), gradientOracle(model), x, y, {
      eps: epsilons,
      norm: 'linf',
      onProgress: () => progress.update(++done),
    }).finally(() => progress.stop());

    for (const o of outcomes) for (const w of o.warnings) terminal.note(`${w.severity} (ε=${o.eps}): ${w.message}`);
    const rows: string[][] = [['ε (L∞)', 'accuracy', 'max ‖δ‖∞', 'time']];
    rows.push(['0 (clean)', `${percent(correct, n)}`, '0', `${cleanSeconds.toFixed(2)} s`]);
    for (const o of outcomes) {
      let robust = 0;
      let maxNorm = 0;
      for (let i = 0; i < n; i++) {
        if (!o.success[i]) robust++;
        maxNorm = Math.max(maxNorm, o.norms[i]!);
      }
      rows.push([String(o.eps), percent(robust, n), maxNorm.toFixed(4), `${o.seconds.toFixed(2)} s`]);
    }
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const table = rows.map((r) => '  ' + r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   '));
    terminal.out(
      [
        `FGSM (Goodfellow et al. 2015) on ${shownPath(path)}`,
        `first ${n} MNIST test images, pixels in [0, 1], ${model.numClasses} classes`,
        '',
        ...table,
        '',
        'accuracy under attack = examples still classified correctly after the attack (clipped to ε and re-checked)',
      ].join('\n'),
    );
  } finally {
    await model.dispose();
  }
}
