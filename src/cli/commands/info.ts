/** `gibbon info MODEL [--json]`: what a model is and what gibbon can do with it. */
import { loadModel } from '../../onnx/model.js';
import { describeModel, type ModelDescription, type OpDescription, type ValueDescription } from '../describe-model.js';
import type { Terminal } from '../terminal.js';
import { textInfoRows, textModelFacts, type TextModelFacts } from '../text-model-facts.js';

export interface InfoValues {
  readonly model: string;
  readonly json?: boolean;
}

function shape(v: ValueDescription): string {
  return v.shape ? `[${v.shape.map((d) => d ?? '?').join(', ')}]` : '[rank unknown]';
}

function opList(ops: readonly Pick<OpDescription, 'op' | 'count'>[]): string {
  return ops.map((o) => (o.count > 1 ? `${o.op} ×${o.count}` : o.op)).join(', ');
}

const number = (n: number): string => n.toLocaleString('en-US');

export function renderInfo(d: ModelDescription, text?: TextModelFacts): string {
  const rows: [string, string][] = [];
  rows.push(['producer', d.producer]);
  const domains = d.otherDomains.map((o) => `, ${o.domain} ${o.version}`).join('');
  rows.push(['format', `IR version ${d.irVersion}, opset ${d.opset}${domains}`]);
  for (const v of d.inputs) rows.push([rows.some(([k]) => k === 'inputs') ? '' : 'inputs', `${v.name}  ${v.dtype} ${shape(v)}`]);
  const o = d.output;
  const outputKind =
    o.kind === 'one-score'
      ? `one score (binary${o.activation === 'Sigmoid' ? `; final Sigmoid, gradients start from its input '${o.scores}'` : ''}; read as the two-class logits (0, s))`
      : o.kind === 'probabilities'
        ? `probabilities (${o.activation} at the end; gradients start from its input '${o.scores}')`
        : o.kind === 'log-probabilities'
          ? 'log-probabilities (LogSoftmax at the end; used as logits)'
          : 'logits';
  d.outputs.forEach((v, i) => rows.push([i === 0 ? 'outputs' : '', `${v.name}  ${v.dtype} ${shape(v)}${i === 0 ? `  — ${outputKind}` : ''}`]));
  rows.push([
    'parameters',
    `${number(d.parameters.values)} in ${d.parameters.tensors} trainable initializers` +
      (d.constants.tensors ? ` (+${number(d.constants.values)} in ${d.constants.tensors} constants)` : ''),
  ]);
  const nested = d.subgraphs.reduce((a, x) => a + x.nodes, 0);
  rows.push(['nodes', `${d.nodes}${nested ? ` (${nested} in subgraphs)` : ''}: ${opList(d.ops)}`]);
  d.subgraphs.forEach((x, i) => {
    const state =
      x.gradient === 'folded'
        ? x.opType === 'If'
          ? 'replaced by the branch its constant condition takes'
          : 'unrolled (constant trip count)'
        : x.gradient === 'path'
          ? `on the gradient path: ${x.ops
              .filter((o) => o.onGradientPath > 0)
              .map((o) => o.op)
              .join(', ')}`
          : 'off the gradient path';
    rows.push([i === 0 ? 'subgraphs' : '', `${x.path}: ${x.nodes} node${x.nodes === 1 ? '' : 's'} (${opList(x.ops)}) — ${state}`]);
  });
  const g = d.gradient;
  // A text model's input is token ids: its gradients start at the embedding output (the text rows say whether they work).
  if (text) {
    // no input-gradient row
  } else if (g.unsupportedOnPath.length === 0) rows.push(['gradients', `every op between input '${g.input ?? '?'}' and the class scores has a gradient rule`]);
  else rows.push(['gradients', `no gradient rule for ${g.unsupportedOnPath.join(', ')} on the path from the input: gradients (attacks, training) will fail`]);
  if (g.unsupportedElsewhere.length) rows.push(['', `no gradient rule for ${g.unsupportedElsewhere.join(', ')} (off the gradient path: harmless)`]);
  if (g.nonDifferentiable.length) {
    const onPath = g.nonDifferentiableOnPath.length ? `; on the gradient path: ${g.nonDifferentiableOnPath.join(', ')} (zero gradient: consider BPDA)` : '';
    rows.push(['non-differentiable', `${g.nonDifferentiable.join(', ')}${onPath}`]);
  }
  if (text) rows.push(...textInfoRows(text));
  const width = Math.max(...rows.map(([k]) => k.length));
  const head = d.file ? `${d.file}${d.sha256 ? `  (sha256 ${d.sha256.slice(0, 12)}…)` : ''}` : 'model';
  return [head, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

export async function run(values: InfoValues, terminal: Terminal): Promise<void> {
  const model = loadModel(values.model);
  const description = describeModel(model);
  const text = textModelFacts(model);
  terminal.out(values.json ? JSON.stringify(text ? { ...description, text } : description, null, 2) : renderInfo(description, text));
}
