/**
 * MaxPool backward: the formulations of rules/MaxPool.ts timed on realistic tensors (batch 128,
 * 2 threads, float32, batch dimension symbolic as in attack graphs). Prints ms per run of the
 * forward alone and of forward + input gradient, and each formulation's ratio to 'indices'.
 * Run: npm run build && node dist/bench/maxpool-grad-speed.js
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import type { AttrValue } from '../src/onnx/attributes.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType as DT } from '../src/onnx/dtypes.js';
import type { Graph } from '../src/onnx/graph.js';
import { serializeModel, type ModelIR } from '../src/onnx/model.js';
import { Session } from '../src/runtime/session.js';
import type { AnyTensor } from '../src/tensor/tensor.js';
import { createVjpRegistry } from '../src/autodiff/registry.js';
import { ALL_RULES } from '../src/autodiff/rules/index.js';
import { maxPoolVjpWith, type MaxPoolFormulation } from '../src/autodiff/rules/MaxPool.js';
import { buildVjpGraph, cotangentInputName } from '../src/autodiff/vjp-graph.js';

interface Case {
  label: string;
  shape: [number, number, number, number];
  attrs: Record<string, AttrValue>;
  formulations: MaxPoolFormulation[];
}

const CASES: Case[] = [
  { label: 'N=128 C=32 28x28, 2x2 s2', shape: [128, 32, 28, 28], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, formulations: ['indices', 'tiles'] },
  { label: 'N=128 C=64 14x14, 2x2 s2', shape: [128, 64, 14, 14], attrs: { kernel_shape: [2, 2], strides: [2, 2] }, formulations: ['indices', 'tiles'] },
  { label: 'N=128 C=64 28x28, 3x3 s2 p1 (overlapping)', shape: [128, 64, 28, 28], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, formulations: ['indices'] },
];
const THREADS = 2;
const WARMUP = 3;
const RUNS = 15;

function oneNodeModel(c: Case): ModelIR {
  const graph: Graph = { name: 'maxpool', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  graph.inputs.push({ name: 'x', dataType: DT.FLOAT, shape: ['N', ...c.shape.slice(1)] });
  const b = new GraphBuilder(graph, 'bench');
  const y = b.op('MaxPool', ['x'], c.attrs, { name: 'pool' });
  graph.outputs.push({ name: y, dataType: DT.FLOAT, shape: null });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  return { proto, graph, opset: 18 };
}

async function timeRuns(session: Session, feeds: Record<string, AnyTensor>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, z) => a - z);
  return times[Math.floor(times.length / 2)]!;
}

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

async function main(): Promise<void> {
  console.log(`MaxPool backward, ${THREADS} threads, median of ${RUNS} runs (ms per run)`);
  for (const c of CASES) {
    const model = oneNodeModel(c);
    const n = c.shape.reduce((a, z) => a * z, 1);
    const x: AnyTensor = { type: 'float32', data: random(n, 7), shape: c.shape };
    const forward = await Session.create(serializeModel(model), { threads: THREADS, label: 'forward' });
    const yName = model.graph.outputs[0]!.name;
    const y = (await forward.run({ x }))[yName]!;
    const fwdMs = await timeRuns(forward, { x });
    await forward.dispose();
    console.log(`\n${c.label}\n  forward only            ${fwdMs.toFixed(1).padStart(7)} ms`);
    let baseline: number | undefined;
    for (const f of c.formulations) {
      const registry = createVjpRegistry([...ALL_RULES.filter((r) => r.opType !== 'MaxPool'), maxPoolVjpWith(f)]);
      const vjp = await buildVjpGraph(model, { wrt: ['x'], registry });
      const session = await Session.create(serializeModel(vjp.model), { threads: THREADS, label: f });
      const feeds = { x, [cotangentInputName(yName)]: { type: 'float32', data: random(y.data.length, 11), shape: y.shape } as AnyTensor };
      const ms = await timeRuns(session, feeds);
      await session.dispose();
      baseline ??= ms;
      console.log(`  forward + dX ${f.padEnd(18)}${ms.toFixed(1).padStart(7)} ms   ×${(ms / baseline).toFixed(2)} of '${c.formulations[0]}'   backward ≈ ${(ms - fwdMs).toFixed(1)} ms`);
    }
  }
}

await main();
