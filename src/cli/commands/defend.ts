/**
 * `gibbon defend MODEL --preprocess SPEC --out FILE`: puts preprocessing defenses
 * (defenses/preprocess/) in front of a model and writes the result as one self-contained ONNX
 * model, checked to load and run in onnxruntime. Prints what each step does and how to evaluate
 * the defended model adaptively: BPDA for non-differentiable steps, EOT for randomised ones.
 */
import { applyInputTransforms } from '../../defenses/preprocess/input-transform.js';
import { parsePreprocessSpec } from '../../defenses/preprocess/spec.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { loadModel, saveModel } from '../../onnx/model.js';
import { checkOutputIsNotAnInput, checkWritableFile } from '../files.js';
import { shownPath } from '../format.js';
import type { Terminal } from '../terminal.js';

export interface DefendValues {
  readonly model: string;
  readonly preprocess: string;
  readonly out: string;
}

export async function run(values: DefendValues, terminal: Terminal): Promise<void> {
  const transforms = parsePreprocessSpec(values.preprocess, '--preprocess');
  checkWritableFile(values.out, '--out');
  checkOutputIsNotAnInput({ path: values.out, option: '--out' }, [{ path: values.model, option: 'MODEL' }]);
  const defended = applyInputTransforms(loadModel(values.model), transforms);
  // Load it once: onnxruntime accepts it and it still answers with class scores.
  const check = await OnnxModel.load(defended, { threads: 1 });
  const classes = check.numClasses;
  await check.dispose();
  saveModel(defended, values.out);

  const lines = [
    `${shownPath(values.out)}: ${shownPath(values.model)} behind ${transforms.length} preprocessing step${transforms.length === 1 ? '' : 's'} (${classes} classes)`,
  ];
  transforms.forEach((t, i) => lines.push(`  ${i + 1}. ${t.name.padEnd(16)} ${t.description}`));
  const masking = transforms.filter((t) => t.levels !== undefined);
  const random = transforms.filter((t) => t.randomized);
  const flags = [...(masking.length ? ['--bpda'] : []), ...(random.length ? ['--eot 10'] : [])];
  if (masking.length)
    lines.push(
      `note: ${masking.map((t) => t.name).join(', ')} ${masking.length === 1 ? 'has' : 'have'} a zero gradient almost everywhere; plain gradient attacks overstate robustness (use BPDA)`,
    );
  if (random.length) lines.push(`note: ${random.map((t) => t.name).join(', ')} draws new randomness on every run; average gradients over passes (EOT)`);
  lines.push(`evaluate adaptively: gibbon eval ${shownPath(values.out)}${flags.length ? ` ${flags.join(' ')}` : ''}`);
  terminal.out(lines.join('\n'));
}
