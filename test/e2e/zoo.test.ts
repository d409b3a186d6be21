/**
 * The model zoo as a new user meets it: every real-world-shaped export in test/fixtures/zoo
 * (tools/zoo/export_zoo.py: PyTorch → ONNX at opsets 9–17 with fixed batch 1, dynamic H/W, If,
 * LSTM/GRU, several inputs, sigmoid heads, sequence and map outputs, Constant-node weights, dynamic
 * quantisation, per-channel normalisation), used exactly as exported, through the CLI only:
 * `gibbon info`, `predict`, `grad` (checked against central finite differences of the loss that
 * `predict --out` implies) and `eval --attacks auto`. The only per-model inputs are what a user
 * would pass on the command line, taken from manifest.json (other inputs' feeds, the input to
 * differentiate, the output to attack and how to reduce it, the input domain).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, toFloat32, writeNpy } from '../../src/tensor/npy.js';
import { assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const ZOO = join(ROOT, 'test', 'fixtures', 'zoo');

interface ZooEntry {
  readonly file: string;
  readonly inputs: string;
  readonly opset: number;
  readonly exercises: readonly string[];
  readonly domain?: readonly [number, number];
  /** Per-channel bounds (instead of domain): ε is then a fraction of each channel's range. */
  readonly lower?: readonly number[];
  readonly upper?: readonly number[];
  readonly feeds?: Record<string, string | number>;
  readonly wrt_input?: string;
  readonly output?: string;
  readonly output_kind?: 'embedding' | 'map';
  readonly layout?: string;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

const manifest = JSON.parse(readFileSync(join(ZOO, 'manifest.json'), 'utf8')) as { models: Record<string, ZooEntry> };
const { work, gibbon } = cliWorkspace('gibbon-zoo-');

/** The command-line options a user passes for this model (the same for predict, grad and eval). */
function modelOptions(e: ZooEntry): string[] {
  const args: string[] = [];
  for (const [name, value] of Object.entries(e.feeds ?? {})) {
    args.push('--feed', `${name}=${typeof value === 'string' ? join(ZOO, value) : String(value)}`);
  }
  if (e.wrt_input) args.push('--wrt-input', e.wrt_input);
  if (e.output) args.push('--output', e.output);
  // Outputs that are not (N, C): a dense map is reduced to one score per image (a binary detector),
  // a sequence (T, N, C) is averaged over time.
  if (e.output_kind === 'map' || e.layout) args.push('--output-reduce', 'mean');
  if (e.output_kind === 'embedding') args.push('--output-reduce', 'flatten');
  return args;
}

/** predict and grad also take the input domain and normalisation (eval reads them from the threat model). */
function domainOptions(e: ZooEntry): string[] {
  const args = ['--domain', e.lower ? e.lower.map((l, c) => `${l}:${e.upper![c]}`).join(',') : e.domain!.join(',')];
  if (e.mean) args.push('--mean', e.mean.join(','), '--std', e.std!.join(','));
  return args;
}

/** Inputs as float32 in the model's own scale (uint8 pixels kept as 0–255, not divided). */
function floatInputs(name: string, e: ZooEntry): { path: string; x: Float32Array; shape: number[] } {
  const raw = readNpy(join(ZOO, e.inputs));
  const x = raw.type === 'uint8' ? Float32Array.from(raw.data as Uint8Array) : toFloat32(raw);
  const path = join(work, `${name}.x.npy`);
  writeNpy(path, { type: 'float32', data: x, shape: [...raw.shape] });
  return { path, x, shape: [...raw.shape] };
}

function ce(logits: Float32Array, row: number, classes: number, label: number): number {
  let max = -Infinity;
  for (let j = 0; j < classes; j++) max = Math.max(max, logits[row * classes + j]!);
  let sum = 0;
  for (let j = 0; j < classes; j++) sum += Math.exp(logits[row * classes + j]! - max);
  return Math.log(sum) + max - logits[row * classes + label]!;
}

async function predictLogits(name: string, e: ZooEntry, xPath: string): Promise<{ data: Float32Array; classes: number }> {
  const out = join(work, `${name}.${Math.random().toString(36).slice(2)}.logits.npy`);
  const r = await gibbon('predict', join(ZOO, e.file), '--input', xPath, '--out', out, ...modelOptions(e), ...domainOptions(e), '--threads', '1');
  assertOk(r);
  const t = readNpy(out);
  return { data: toFloat32(t), classes: t.shape[1]! };
}

for (const [name, e] of Object.entries(manifest.models)) {
  test(`zoo ${name} (${e.exercises.join(', ')}): info, predict, grad agrees with finite differences, eval --attacks auto`, async () => {
    const model = join(ZOO, e.file);
    const info = await gibbon('info', model);
    assertOk(info);
    assert.doesNotMatch(info.stdout, /no gradient rule|without a rule/i, info.stdout);

    const { path: xPath, x, shape } = floatInputs(name, e);
    const n = shape[0]!;
    const row = x.length / n;
    const clean = await predictLogits(name, e, xPath);
    assert.equal(clean.data.length, n * clean.classes);
    assert.ok(clean.classes >= 2, `${name}: predict should give at least 2 class scores, got ${clean.classes}`);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < clean.classes; j++) if (clean.data[i * clean.classes + j]! > clean.data[i * clean.classes + best]!) best = j;
      labels[i] = best;
    }
    const yPath = join(work, `${name}.y.npy`);
    writeNpy(yPath, { type: 'int32', data: labels, shape: [n] });

    const gPath = join(work, `${name}.grad.npy`);
    const g = await gibbon(
      'grad',
      model,
      '--input',
      xPath,
      '--labels',
      yPath,
      '--loss',
      'ce',
      '--out',
      gPath,
      ...modelOptions(e),
      ...domainOptions(e),
      '--threads',
      '1',
    );
    assertOk(g);
    const grad = toFloat32(readNpy(gPath));
    assert.equal(grad.length, x.length);

    // Central differences along one random direction per example: (L(x + hv) − L(x − hv)) / 2h
    // against ⟨∇L, v⟩. Straight-through gradients of quantised models are estimates, not derivatives.
    // Steps scaled to each channel's range (axis 1; one range for a scalar domain).
    const range = e.domain ? e.domain[1] - e.domain[0] : 1;
    const channelOf = (k: number): number => Math.floor((k % row) / (row / (e.lower?.length ?? 1)));
    const channelRange = (k: number): number => (e.lower ? e.upper![channelOf(k)]! - e.lower[channelOf(k)]! : 1);
    const h = 1e-3 * range;
    let seed = 7;
    const v = Float32Array.from({ length: x.length }, (_, k) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed / 2147483648 - 0.5) * channelRange(k);
    });
    const plus = Float32Array.from(x, (xi, i) => xi + h * v[i]!);
    const minus = Float32Array.from(x, (xi, i) => xi - h * v[i]!);
    const pPath = join(work, `${name}.plus.npy`);
    const mPath = join(work, `${name}.minus.npy`);
    writeNpy(pPath, { type: 'float32', data: plus, shape });
    writeNpy(mPath, { type: 'float32', data: minus, shape });
    const lp = await predictLogits(name, e, pPath);
    const lm = await predictLogits(name, e, mPath);
    // A quantised model's gradient is a straight-through estimate (reported by grad), not a
    // derivative of its piecewise-constant loss: finite differences do not apply to it.
    const quantised = e.exercises.some((w) => /quantis|QuantizeLinear/i.test(w));
    for (let i = 0; i < n && !quantised; i++) {
      const fd = (ce(lp.data, i, lp.classes, labels[i]!) - ce(lm.data, i, lm.classes, labels[i]!)) / (2 * h);
      let analytic = 0;
      for (let k = i * row; k < (i + 1) * row; k++) analytic += grad[k]! * v[k]!;
      // float32 logits carry a rounding error of about 1e-7·|z|, which the difference quotient divides by h.
      let zmax = 0;
      for (let j = 0; j < clean.classes; j++) zmax = Math.max(zmax, Math.abs(clean.data[i * clean.classes + j]!));
      const tol = 0.03 * Math.max(Math.abs(fd), Math.abs(analytic)) + 1e-4 + (4e-7 * (1 + zmax)) / h;
      assert.ok(Math.abs(fd - analytic) <= tol, `${name} example ${i}: finite difference ${fd} vs gradient ${analytic}`);
    }
    assert.ok(
      grad.some((gi) => gi !== 0),
      `${name}: the gradient is all zeros`,
    );
    if (quantised) assert.match(g.stderr, /straight-through estimate/, `${name}: grad should say its gradient is a straight-through estimate`);

    const threat = join(work, `${name}.threat.yaml`);
    const bounds = e.lower ? `  lower: [${e.lower.join(', ')}]\n  upper: [${e.upper!.join(', ')}]\n` : `  bounds: [${e.domain!.join(', ')}]\n`;
    const domain = e.mean ? `${bounds}  mean: [${e.mean.join(', ')}]\n  std: [${e.std!.join(', ')}]\n` : bounds;
    writeFileSync(threat, `knowledge: white-box\nnorm: linf\neps: [${0.05 * range}]\ninput:\n${domain}data: { x: ${xPath}, labels: ${yPath} }\nseed: 0\n`);
    const out = join(work, `${name}.report`);
    const ev = await gibbon('eval', model, '--threat', threat, '--attacks', 'auto', '--out', out, ...modelOptions(e), '--threads', '1');
    assertOk(ev);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      clean_accuracy: number;
      robust_accuracy: { eps: number; accuracy: number }[];
    };
    assert.equal(report.clean_accuracy, 1, `${name}: labels are the model's own predictions`);
    assert.ok(report.robust_accuracy[0]!.accuracy <= 1);
  });
}
