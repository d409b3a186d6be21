/**
 * Conv backward: the formulations of rules/Conv.ts timed on the Madry MNIST CNN (bench/models.ts)
 * at batch 128, 2 threads, float32. Prints images/s for the forward alone, forward + input
 * gradient (attacks) and forward + all weight gradients (training; weights as constant
 * initializers and fed as inputs), then each convolution's backward alone. The variants of one
 * task run interleaved, round after round, so that load from other processes hits them alike.
 * Run: npm run build && node dist/bench/conv-grad-speed.js [--rounds 15] [--peer] [--layers]
 * (--peer also runs ../shared/tools/peer_speed.py for PyTorch figures measured in the same run).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { buildGradientGraph, gradOutputName, LABELS_INPUT } from '../src/autodiff/gradient-graph.js';
import { createVjpRegistry, type VjpRegistry } from '../src/autodiff/registry.js';
import { ALL_RULES } from '../src/autodiff/rules/index.js';
import { DEFAULT_CONV_VJP_OPTIONS, makeConvVjp, type ConvVjpOptions } from '../src/autodiff/rules/Conv.js';
import { buildVjpGraph, cotangentInputName } from '../src/autodiff/vjp-graph.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType as DT } from '../src/onnx/dtypes.js';
import type { Graph } from '../src/onnx/graph.js';
import { serializeModel, type ModelIR } from '../src/onnx/model.js';
import { decodeTensor, encodeTensor } from '../src/onnx/tensor-proto.js';
import { Session } from '../src/runtime/session.js';
import type { AnyTensor } from '../src/tensor/tensor.js';
import { madryCnn } from './models.js';

const BATCH = 128;
const THREADS = 2;
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '15' }, peer: { type: 'boolean', default: false }, layers: { type: 'boolean', default: false } },
});
const ROUNDS = Number(values.rounds);

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

interface Entry {
  label: string;
  session: Session;
  feeds: Record<string, AnyTensor>;
  fetches?: readonly string[];
}

/** Runs the entries round-robin; prints images/s from the median (and the best) run of each. */
async function race(entries: Entry[]): Promise<void> {
  for (const e of entries) for (let i = 0; i < 3; i++) await e.session.run(e.feeds, e.fetches);
  const times = entries.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [k, e] of entries.entries()) {
      const t = performance.now();
      await e.session.run(e.feeds, e.fetches);
      times[k]!.push(performance.now() - t);
    }
  }
  for (const [k, e] of entries.entries()) {
    const sorted = times[k]!.sort((a, b) => a - b);
    const med = sorted[Math.floor(sorted.length / 2)]!;
    const best = sorted[0]!;
    console.log(
      `  ${e.label.padEnd(44)} ${((BATCH * 1000) / med).toFixed(0).padStart(6)} img/s  (median ${med.toFixed(1).padStart(6)} ms, best ${best.toFixed(1).padStart(6)} ms)`,
    );
    await e.session.dispose();
  }
}

function registryFor(options: ConvVjpOptions): VjpRegistry {
  return createVjpRegistry([...ALL_RULES.filter((r) => r.opType !== 'Conv'), makeConvVjp(options)]);
}

interface Variant {
  label: string;
  options: ConvVjpOptions;
}

const weights = DEFAULT_CONV_VJP_OPTIONS.weightGrad;
const INPUT_VARIANTS: Variant[] = [
  { label: 'ConvTranspose(dY, W) everywhere', options: { inputGrad: 'conv-transpose', weightGrad: weights } },
  { label: 'flipped-W Conv everywhere (flip as nodes)', options: { inputGrad: 'flipped-conv', weightGrad: weights, preflip: false } },
  { label: 'flipped-W Conv everywhere (flipped at build)', options: { inputGrad: 'flipped-conv', weightGrad: weights } },
  { label: 'auto: ConvTranspose if C < 4, else flipped', options: { ...DEFAULT_CONV_VJP_OPTIONS } },
];
const WEIGHT_VARIANTS: Variant[] = [
  { label: 'Conv with batch as channels', options: { inputGrad: 'auto', weightGrad: 'conv' } },
  { label: 'Slice windows + Concat + MatMul', options: { inputGrad: 'auto', weightGrad: 'im2col' } },
  { label: 'one Gather (batch innermost) + MatMul', options: { inputGrad: 'auto', weightGrad: 'gather' } },
];

async function wholeModel(): Promise<void> {
  const model: ModelIR = madryCnn(0);
  const x: AnyTensor = { type: 'float32', data: random(BATCH * 784, 7), shape: [BATCH, 1, 28, 28] };
  const labels: AnyTensor = { type: 'int64', data: BigInt64Array.from({ length: BATCH }, (_, i) => BigInt(i % 10)), shape: [BATCH] };
  console.log(`Madry MNIST CNN, batch ${BATCH}, ${THREADS} threads, ${ROUNDS} interleaved rounds`);
  console.log('forward + input gradient (CE), vs forward alone');
  const entries: Entry[] = [{ label: 'forward alone', session: await Session.create(serializeModel(model), { threads: THREADS }), feeds: { input: x } }];
  for (const v of INPUT_VARIANTS) {
    const gg = await buildGradientGraph(model, { wrt: 'input', loss: 'ce', registry: registryFor(v.options) });
    const session = await Session.create(serializeModel(gg.model), { threads: THREADS, label: v.label });
    entries.push({ label: v.label, session, feeds: { input: x, [LABELS_INPUT]: labels }, fetches: ['loss', gradOutputName(gg.input)] });
  }
  await race(entries);

  for (const asInputs of [false, true]) {
    console.log(`forward + weight gradients (CE), weights ${asInputs ? 'fed as inputs (training)' : 'constant initializers'}`);
    const list: Entry[] = [];
    for (const v of WEIGHT_VARIANTS) {
      const gg = await buildGradientGraph(model, { wrt: 'params', loss: 'ce', paramsAsInputs: asInputs, registry: registryFor(v.options) });
      const feeds: Record<string, AnyTensor> = { input: x, [LABELS_INPUT]: labels };
      for (const p of gg.paramInputs) {
        const t = decodeTensor(gg.model.graph.initializers.get(p)!);
        feeds[p] = { type: 'float32', data: t.data as Float32Array, shape: [...t.dims] };
      }
      const session = await Session.create(serializeModel(gg.model), { threads: THREADS, label: v.label });
      list.push({ label: v.label, session, feeds, fetches: [...gg.gradOutputs.values()] });
    }
    await race(list);
  }
}

/** One Conv node shaped like a layer of the Madry CNN; its VJP with respect to X or W only. */
async function oneLayer(label: string, xShape: number[], wShape: number[]): Promise<void> {
  const graph: Graph = { name: 'conv', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  graph.inputs.push({ name: 'x', dataType: DT.FLOAT, shape: ['N', ...xShape.slice(1)] });
  graph.initializers.set(
    'w',
    encodeTensor(
      'w',
      DT.FLOAT,
      wShape,
      random(
        wShape.reduce((a, d) => a * d, 1),
        3,
      ).map((v) => v - 0.5),
    ),
  );
  const b = new GraphBuilder(graph, 'bench');
  const y = b.op('Conv', ['x', 'w'], { pads: [2, 2, 2, 2], kernel_shape: [5, 5] });
  graph.outputs.push({ name: y, dataType: DT.FLOAT, shape: null });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  const model: ModelIR = { proto, graph, opset: 18 };
  const x: AnyTensor = {
    type: 'float32',
    data: random(
      xShape.reduce((a, d) => a * d, 1),
      5,
    ),
    shape: xShape,
  };
  const yShape = [xShape[0]!, wShape[0]!, xShape[2]!, xShape[3]!];
  const dY: AnyTensor = {
    type: 'float32',
    data: random(
      yShape.reduce((a, d) => a * d, 1),
      9,
    ),
    shape: yShape,
  };
  for (const [wrt, variants] of [
    ['x', INPUT_VARIANTS],
    ['w', WEIGHT_VARIANTS],
  ] as const) {
    console.log(`${label}: X [${xShape}] W [${wShape}] pad 2 — forward + d${wrt} of this Conv alone`);
    const entries: Entry[] = [{ label: 'forward alone', session: await Session.create(serializeModel(model), { threads: THREADS }), feeds: { x } }];
    for (const v of variants) {
      const vjp = await buildVjpGraph(model, { wrt: [wrt], registry: registryFor(v.options) });
      const session = await Session.create(serializeModel(vjp.model), { threads: THREADS });
      entries.push({ label: v.label, session, feeds: { x, [cotangentInputName(y)]: dY }, fetches: [gradOutputName(wrt)] });
    }
    await race(entries);
  }
}

function peer(): void {
  const script = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared'), 'tools', 'peer_speed.py');
  if (!existsSync(script)) return void console.log(`(no ${script})`);
  try {
    const out = execFileSync(script, [String(THREADS), String(BATCH)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 600_000 });
    const parsed = JSON.parse(out) as { results: { model: string; task: string; images_per_s: number }[] };
    console.log('PyTorch, same machine, now');
    for (const r of parsed.results.filter((q) => q.model === 'madry_cnn')) console.log(`  ${r.task.padEnd(44)} ${r.images_per_s.toFixed(0).padStart(6)} img/s`);
  } catch (e) {
    console.log(`(PyTorch peer failed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
  }
}

async function main(): Promise<void> {
  if (values.peer) peer();
  await wholeModel();
  if (values.layers) {
    await oneLayer('conv1', [BATCH, 1, 28, 28], [32, 1, 5, 5]);
    await oneLayer('conv2', [BATCH, 32, 14, 14], [64, 32, 5, 5]);
  }
  if (values.peer) peer();
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
