/**
 * `gibbon ctc-attack MODEL --input X.npy [--charset CHARS] [--target-text T1,T2,…] [--eps E] [--steps N] [--out ADV.npy] [--grad G.npy]`:
 * L∞ PGD on a CTC sequence recogniser (text lines, CRNN / PaddleOCR-style). Without targets it
 * ascends +CTC of each line's clean transcription (changes the string); with --target-text it
 * ascends −CTC of the target (forces it). Prints what each line read before and after, and the
 * success rate judged by greedy decoding of the clipped adversarial lines; optionally writes them
 * (--out) and the input gradient of the loss at the clean lines (--grad).
 */
import { PgdAttack } from '../../attacks/pgd.js';
import { runSequenceAttack } from '../../attacks/sequence-attack.js';
import type { SequenceLayout } from '../../autodiff/ctc-head.js';
import { GibbonError } from '../../errors.js';
import { SequenceOnnxModel } from '../../model/sequence-model.js';
import { loadModel } from '../../onnx/model.js';
import { formatNpy } from '../../tensor/npy.js';
import { writeFileAtomically } from '../../storage/atomic-write.js';
import { checkWritableFile, readModelInputs } from '../files.js';
import type { Terminal } from '../terminal.js';

export interface CtcAttackValues {
  readonly model: string;
  readonly input: string;
  readonly charset?: string;
  readonly blank: number;
  readonly layout?: SequenceLayout;
  readonly targetText?: readonly string[];
  readonly eps: number;
  readonly steps: number;
  readonly out?: string;
  readonly grad?: string;
  readonly seed: number;
  readonly batchSize?: number;
  readonly threads?: number;
}

export async function run(values: CtcAttackValues, terminal: Terminal): Promise<void> {
  if (values.out) checkWritableFile(values.out, '--out');
  if (values.grad) checkWritableFile(values.grad, '--grad');
  if (values.targetText && values.charset === undefined) {
    throw new GibbonError('invalid_option', "--target-text needs the characters of the model's classes: add --charset", { option: '--charset' });
  }
  const ir = loadModel(values.model);
  const declared = ir.graph.inputs[0];
  if (!declared) throw new GibbonError('invalid_model', `${values.model} has no inputs`, { path: values.model });
  const inputShape = (declared.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : null));
  const { x, notes } = readModelInputs(values.input, '--input', { inputName: declared.name, inputShape, numClasses: 0 });
  for (const note of notes) terminal.note(note);
  const model = await SequenceOnnxModel.load(ir, {
    blank: values.blank,
    layout: values.layout,
    charset: values.charset,
    // Dynamic widths (and heights) take the size of the lines given.
    inputShapes: { [declared.name]: [inputShape[0] ?? null, ...x.shape.slice(1)] },
    threads: values.threads,
    batchSize: values.batchSize,
  });
  try {
    const n = x.shape[0]!;
    let targets: number[][] | undefined;
    if (values.targetText) {
      const texts = values.targetText.length === 1 ? new Array<string>(n).fill(values.targetText[0]!) : values.targetText;
      if (texts.length !== n) {
        throw new GibbonError('invalid_option', `--target-text has ${texts.length} strings but ${values.input} has ${n} lines; give one, or one per line`, {
          option: '--target-text',
        });
      }
      targets = texts.map((t, i) => model.encode(t, `--target-text string ${i + 1}`));
    }
    const show = (labels: readonly number[]): string => (model.charset ? `'${model.charset.decode(labels)}'` : `[${labels.join(' ')}]`);
    const attack = new PgdAttack({ steps: values.steps, relStepsize: 0.05, randomStart: false });
    const started = performance.now();
    const r = await runSequenceAttack(attack, model, x, { eps: values.eps, norm: 'linf', targets, seed: values.seed });
    const seconds = (performance.now() - started) / 1000;
    const lines = r.original.map((o, i) => `${i}: ${show(o)} → ${show(r.adversarial[i]!)}${r.outcome.success[i] ? '' : '  (failed)'}`);
    const k = r.outcome.success.reduce((a, b) => a + b, 0);
    lines.push(
      `${targets ? 'target forced' : 'transcription changed'} on ${k}/${n} lines (${((100 * k) / n).toFixed(1)}%) by L∞ PGD-${values.steps} at ε = ${values.eps} (${seconds.toFixed(1)} s)`,
    );
    if (values.out) {
      writeFileAtomically(values.out, [formatNpy({ type: 'float32', data: r.outcome.clipped.data, shape: r.outcome.clipped.shape })]);
      lines.push(`wrote the adversarial lines [${r.outcome.clipped.shape.join(', ')}] to ${values.out}`);
    }
    if (values.grad) {
      const g = await model.lossAndGrad(x, targets ?? r.original, targets ? 'ctc-targeted' : 'ctc');
      writeFileAtomically(values.grad, [formatNpy({ type: 'float32', data: g.grad.data, shape: g.grad.shape })]);
      lines.push(`wrote d(Σ ${targets ? '−CTC(target)' : 'CTC(transcription)'})/d${declared.name} at the clean lines to ${values.grad}`);
    }
    terminal.out(lines.join('\n'));
  } finally {
    await model.dispose();
  }
}
