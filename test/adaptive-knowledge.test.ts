/**
 * The runner under each kind of attacker knowledge, on the bundled models/mnist-standard.onnx:
 * - transfer: PGD and MI-FGSM on the reference MLP (another architecture, trained separately),
 *   with the target's decisions, lower the CNN's accuracy well below clean;
 * - scores: the 'auto' ensemble runs Square alone, within the threat model's query budget;
 * - decision: the 'auto' ensemble falls back to HopSkipJump;
 * - white-box with EOT (`eotSamples`): a model with Gaussian input noise inside the ONNX graph
 *   (RandomNormalLike) is attacked with gradients averaged over 4 passes.
 * Measured numbers are in the assertion comments.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadEvaluationData } from '../src/evaluation/data.js';
import { resolveEnsemble, type Ensemble } from '../src/evaluation/presets.js';
import { evaluate, type EvaluationModel } from '../src/evaluation/runner.js';
import { validateThreatModel, type ThreatModel } from '../src/evaluation/threat-model.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { float } from '../src/onnx/attributes.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { cloneModel, loadModel, type ModelIR } from '../src/onnx/model.js';
import type { Report } from '../src/report/index.js';
import { ROOT } from './helpers/cli.js';

const TARGET = join(ROOT, 'models', 'mnist-standard.onnx');
const MLP = join(ROOT, 'test', 'fixtures', 'reference', 'mnist_mlp', 'mnist_mlp.onnx');

function threatModel(fields: Record<string, unknown>): ThreatModel {
  return validateThreatModel({ knowledge: 'white-box', norm: 'linf', eps: [0.3], data: 'mnist-test', seed: 0, ...fields });
}

async function run(
  model: EvaluationModel,
  tm: ThreatModel,
  ensemble: Ensemble,
  extra: Partial<Parameters<typeof evaluate>[0]> = {},
): Promise<{ report: Report; stages: readonly string[]; notes: readonly string[] }> {
  return evaluate({
    model,
    white: model,
    modelPath: TARGET,
    threatModel: tm,
    data: loadEvaluationData(tm, model),
    ensemble,
    batchSize: 100,
    threads: 2,
    ...extra,
  });
}

/** The model with x + N(0, σ²) noise (RandomNormalLike, seeded per session) in front of its first op. */
function noisyModel(path: string, sigma: number): ModelIR {
  const model = cloneModel(loadModel(path));
  const g = model.graph;
  const input = g.inputs[0]!.name;
  const before = g.nodes.length;
  const b = new GraphBuilder(g, 'noise');
  const noisy = b.op('Add', [input, b.op('RandomNormalLike', [input], { scale: float(sigma), seed: float(7) })]);
  const added = g.nodes.splice(before);
  for (const node of g.nodes) node.inputs = node.inputs.map((v) => (v === input ? noisy : v));
  g.nodes = [...added, ...g.nodes];
  return { proto: model.proto, graph: g, opset: model.opset };
}

let target: OnnxModel;
before(async () => {
  target = await OnnxModel.load(TARGET, { threads: 2, batchSize: 100 });
});
after(async () => target.dispose());

test('transfer: PGD and MI-FGSM on the MLP, judged on the CNN, lower its accuracy well below clean (ε = 0.3, 100 images)', async () => {
  const surrogate = await OnnxModel.load(MLP, { threads: 2, batchSize: 100 });
  try {
    const tm = threatModel({ knowledge: 'transfer', surrogate: MLP, n: 100 });
    const list = resolveEnsemble('pgd,mi-fgsm');
    const { report } = await run(target, tm, list, { surrogate });
    const at = (name: string): number => report.attacks.find((a) => a.name === name)!.accuracy;
    // Measured: clean 99%, after transfer PGD 62%, after MI-FGSM (cumulative) 39%.
    assert.ok(report.clean_accuracy >= 0.95, `clean ${report.clean_accuracy}`);
    assert.ok(at('pgd') <= 0.75, `after transfer PGD ${at('pgd')}`);
    assert.ok(at('mi-fgsm') <= 0.5, `after MI-FGSM ${at('mi-fgsm')}`);
    assert.deepEqual(report.masking_checks, []);
    // Target queries: one decision per attack step and example, within the default budget of 5000.
    const pgd = report.attacks.find((a) => a.name === 'pgd')!;
    assert.ok(pgd.queries > 0 && pgd.queries <= 41 * 100, `PGD target queries ${pgd.queries}`);
  } finally {
    await surrogate.dispose();
  }
});

test("scores: 'auto' runs Square alone, each example within the query budget", async () => {
  const tm = threatModel({ knowledge: 'scores', n: 20, query_budget: 200 });
  const { report, stages, notes } = await run(target, tm, resolveEnsemble('auto'));
  assert.deepEqual(stages, ['square']);
  assert.ok(notes.some((n) => /'apgd-ce' left out .* knowledge 'scores'/.test(n)));
  const square = report.attacks.find((a) => a.name === 'square')!;
  // Measured: clean 95%, after Square (≤ 200 queries each) 0%; the slowest example took 98 queries.
  assert.ok(square.accuracy <= 0.2, `after Square ${square.accuracy}`);
  assert.ok(square.queries <= 200 * square.attacked!, `queries ${square.queries}`);
  assert.ok(square.queries_to_success!.every((q) => q <= 200));
});

test("decision: 'auto' falls back to HopSkipJump", async () => {
  const tm = threatModel({ knowledge: 'decision', norm: 'l2', eps: [3], n: 10, query_budget: 300 });
  const { report, stages } = await run(target, tm, resolveEnsemble('auto'));
  assert.deepEqual(stages, ['hsj']);
  const hsj = report.attacks.find((a) => a.name === 'hsj')!;
  assert.ok(hsj.queries <= 300 * hsj.attacked!, `queries ${hsj.queries}`);
  // A minimization attack spends its whole budget on an example, success or not.
  assert.ok(hsj.queries_to_success!.every((q) => q <= 300));
  // Measured: clean 100%, after HopSkipJump (300 queries, L2 ε = 3) 80%.
  assert.ok(hsj.accuracy < report.clean_accuracy, `after HopSkipJump ${hsj.accuracy}`);
});

test('EOT in the runner: every gradient averages 4 passes of a model with random input noise', async () => {
  const noisy = await OnnxModel.load(noisyModel(TARGET, 0.3), { threads: 2, batchSize: 100 });
  try {
    const tm = threatModel({ eps: [0.1], n: 32 });
    const fast = resolveEnsemble('fast');
    const plain = await run(noisy, tm, fast, { checks: false });
    const eot = await run(noisy, tm, fast, { checks: false, eotSamples: 4 });
    const pgd = (r: Report): { accuracy: number; queries: number } => r.attacks.find((a) => a.name === 'pgd-20')!;
    // Measured: clean 97%, after PGD-20 72%, after EOT-PGD-20 53%.
    assert.ok(eot.report.warnings.some((w) => w.code === 'eot' && /mean over 4 passes/.test(w.message)));
    assert.equal(pgd(eot.report).queries % 4, 0);
    assert.ok(pgd(eot.report).queries > 2 * pgd(plain.report).queries);
    assert.ok(pgd(eot.report).accuracy < pgd(plain.report).accuracy, `EOT ${pgd(eot.report).accuracy}, plain ${pgd(plain.report).accuracy}`);
  } finally {
    await noisy.dispose();
  }
});
