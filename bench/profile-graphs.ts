/**
 * `node dist/bench/profile-graphs.js [--models mnist_cnn,madry_cnn] [--threads 2] [--runs 30] [--out DIR] [--maxpool auto|tiles|…] [--conv-input-grad auto|conv-transpose|flipped-conv] [--no-forward]`
 * Per-node times of the forward graph and the input-gradient graph (CE) of each model at batch 128,
 * from onnxruntime's own profiler, grouped by op type and listed by node; also writes the graphs as
 * onnxruntime optimised them (`<model>-<graph>.optimized.onnx`), where its layout conversions
 * (ReorderInput/ReorderOutput of the NCHWc blocked layout) show. docs/performance.md has the findings.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { buildGradientGraph } from '../src/autodiff/gradient-graph.js';
import { createVjpRegistry } from '../src/autodiff/registry.js';
import { ALL_RULES } from '../src/autodiff/rules/index.js';
import { maxPoolVjpWith, type MaxPoolFormulation } from '../src/autodiff/rules/MaxPool.js';
import { DEFAULT_CONV_VJP_OPTIONS, makeConvVjp, type InputGradFormulation } from '../src/autodiff/rules/Conv.js';
import { loadModel, serializeModel, type ModelIR } from '../src/onnx/model.js';
import { buildArchitecture } from '../src/training/architectures.js';
import { fastestKernels, profileFile } from './kernel-profile.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mnist_cnn,madry_cnn' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '30' },
    batch: { type: 'string', default: '128' },
    out: { type: 'string', default: 'bench/.profile' },
    top: { type: 'string', default: '25' },
    maxpool: { type: 'string', default: 'auto' },
    'conv-input-grad': { type: 'string', default: 'auto' },
    'no-forward': { type: 'boolean', default: false },
  },
});

function modelIR(name: string): { ir: ModelIR; shape: number[] } {
  const batch = Number(values.batch);
  if (name === 'madry_cnn') return { ir: buildArchitecture('madry', { seed: 0 }), shape: [batch, 1, 28, 28] };
  if (name === 'mnist_cnn' || name === 'mnist_mlp')
    return { ir: loadModel(join('test', 'fixtures', 'reference', name, `${name}.onnx`)), shape: [batch, 1, 28, 28] };
  // As architecture-speed.ts: MobileNetV2 at 224×224 in batches of 16.
  const [size, rows] = name === 'mobilenetv2_224' ? [224, Math.min(batch, 16)] : [32, batch];
  return { ir: loadModel(join('bench', '.models', `${name}.onnx`)), shape: [rows, 3, size, size] };
}

async function profile(label: string, bytes: Uint8Array, feeds: Record<string, ort.Tensor>, outDir: string): Promise<void> {
  const prefix = join(outDir, label);
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: Number(values.threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableProfiling: true,
    profileFilePrefix: prefix,
    optimizedModelFilePath: `${prefix}.optimized.onnx`,
  });
  const runs = Number(values.runs);
  for (let i = 0; i < 3; i++) await session.run(feeds); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await session.run(feeds);
  const wall = (performance.now() - t0) / runs;
  session.endProfiling();
  await session.release();
  const file = profileFile(outDir, `${label}_`);
  // Each node's fastest run (warm-ups included: they are never the fastest).
  const byNode = fastestKernels(file);
  rmSync(file);
  const byOp = new Map<string, number>();
  for (const { op, us } of byNode.values()) byOp.set(op, (byOp.get(op) ?? 0) + us);
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  console.log(`\n## ${label}: ${wall.toFixed(2)} ms per run (wall), ${(total / 1000).toFixed(2)} ms Σ fastest kernel per node, ${byNode.size} kernels per run`);
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]))
    console.log(`  ${op.padEnd(28)} ${(us / 1000).toFixed(3).padStart(8)} ms  ${((100 * us) / total).toFixed(1).padStart(5)}%`);
  console.log('  top nodes:');
  for (const [name, { op, us }] of [...byNode].sort((a, b) => b[1].us - a[1].us).slice(0, Number(values.top)))
    console.log(`    ${(us / 1000).toFixed(3).padStart(8)} ms  ${op.padEnd(22)} ${name}`);
}

async function main(): Promise<void> {
  const outDir = resolve(values.out!);
  mkdirSync(outDir, { recursive: true });
  for (const name of values.models!.split(',')) {
    const { ir, shape } = modelIR(name);
    const n = shape.reduce((a, b) => a * b, 1);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000),
      shape,
    );
    const inputName = ir.graph.inputs[0]!.name;
    if (!values['no-forward']) await profile(`${name}-forward`, serializeModel(ir), { [inputName]: x }, outDir);
    // --maxpool and --conv-input-grad pick MaxPool's and Conv's backward formulations (rules/MaxPool.ts,
    // rules/Conv.ts) to compare them inside whole graphs.
    const formulation = values.maxpool as MaxPoolFormulation;
    const inputGrad = values['conv-input-grad'] as InputGradFormulation;
    const replaced = [
      ...(formulation === 'auto' ? [] : [maxPoolVjpWith(formulation)]),
      ...(inputGrad === 'auto' ? [] : [makeConvVjp({ ...DEFAULT_CONV_VJP_OPTIONS, inputGrad })]),
    ];
    const registry =
      replaced.length === 0 ? undefined : createVjpRegistry([...ALL_RULES.filter((r) => !replaced.some((x) => x.opType === r.opType)), ...replaced]);
    const g = await buildGradientGraph(ir, { wrt: 'input', loss: 'ce', registry });
    const labels = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: shape[0]! }, (_, i) => BigInt(i % 10)),
      [shape[0]!],
    );
    const feeds: Record<string, ort.Tensor> = { [g.input]: x, labels };
    await profile(`${name}-input_grad`, serializeModel(g.model), feeds, outDir);
  }
}

await main();
