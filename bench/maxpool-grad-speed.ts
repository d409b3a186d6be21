/**
 * MaxPool backward: the formulations of rules/MaxPool.ts ('indices', 'tiles'), and two rejected
 * ArgMax-based ones built by hand here, timed on realistic tensors (batch 128, 2 threads,
 * float32, batch dimension symbolic as in attack graphs). Each variant is one model computing Y
 * and dX; they run interleaved so machine load hits them alike. Prints ms per run (median and
 * best) and the ratio of medians to 'indices'. With --kernels it also profiles every run and
 * prints Σ over nodes of each node's fastest kernel time: on a busy machine that tracks the idle
 * run time better than the wall clock does.
 * Run: npm run build && node dist/bench/maxpool-grad-speed.js [--kernels]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { fastestKernels, profileFile } from './kernel-profile.js';

/** Σ of the kernels' fastest times (µs). */
const sumOf = (kernels: Map<string, { us: number }>): number => [...kernels.values()].reduce((a, k) => a + k.us, 0);

interface Case {
  label: string;
  shape: [number, number, number, number];
  attrs: Record<string, AttrValue>;
  formulations: MaxPoolFormulation[];
  /** Square tiles of this size (kernel = stride): the hand-built ArgMax variants apply. */
  tile?: number;
}

const CASES: Case[] = [
  {
    label: 'N=128 C=32 28x28, 2x2 s2',
    shape: [128, 32, 28, 28],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    formulations: ['indices', 'tiles', 'unpool'],
    tile: 2,
  },
  {
    label: 'N=128 C=64 14x14, 2x2 s2',
    shape: [128, 64, 14, 14],
    attrs: { kernel_shape: [2, 2], strides: [2, 2] },
    formulations: ['indices', 'tiles', 'unpool'],
    tile: 2,
  },
  {
    label: 'N=128 C=64 28x28, 3x3 s2 p1 (overlapping)',
    shape: [128, 64, 28, 28],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    formulations: ['indices'],
  },
];
const THREADS = 2;
const WARMUP = 3;
const ROUNDS = 21;
const KERNELS = process.argv.includes('--kernels');

/** Y = MaxPool(x); `backward` (if given) appends nodes computing dX from x, Y and the input 'dy'. */
function model(c: Case, backward?: (b: GraphBuilder, y: string) => string): { model: ModelIR; y: string } {
  const graph: Graph = { name: 'maxpool', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: [] };
  graph.inputs.push({ name: 'x', dataType: DT.FLOAT, shape: ['N', ...c.shape.slice(1)] });
  const b = new GraphBuilder(graph, 'bench');
  const y = b.op('MaxPool', ['x'], c.attrs, { name: 'pool' });
  graph.outputs.push({ name: y, dataType: DT.FLOAT, shape: null });
  if (backward) {
    graph.inputs.push({ name: 'dy', dataType: DT.FLOAT, shape: null });
    graph.outputs.push({ name: backward(b, y), dataType: DT.FLOAT, shape: null });
  }
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  return { model: { proto, graph, opset: 18 }, y };
}

/**
 * The ArgMax formulation first proposed for tiles: window cells moved to one axis, ArgMax over it,
 * a one-hot times dY, moved back. With Transpose and Where (the window axes last, as proposed),
 * or with SpaceToDepth/DepthToSpace and Mul (its fastest variant found).
 */
function argmaxBackward(c: Case, viaSpaceToDepth: boolean): (b: GraphBuilder, y: string) => string {
  const [, C, H, W] = c.shape;
  const k = c.tile!;
  const [Ho, Wo, cells] = [H / k, W / k, k * k];
  const positions = Array.from({ length: cells }, (_, i) => i);
  return (b) => {
    if (viaSpaceToDepth) {
      const grouped = b.op('Reshape', [b.op('SpaceToDepth', ['x'], { blocksize: k }), b.int64s([0, cells, -1])]);
      const arg = b.op('ArgMax', [grouped], { axis: 1, keepdims: 1 });
      const hit = b.op('Cast', [b.op('Equal', [b.int64s(positions, [cells, 1]), arg])], { to: DT.FLOAT });
      const picked = b.op('Mul', [hit, b.op('Reshape', ['dy', b.int64s([0, 1, -1])])]);
      return b.op('DepthToSpace', [b.op('Reshape', [picked, b.int64s([0, -1, Ho, Wo])])], { blocksize: k, mode: 'DCR' });
    }
    const blocks = b.op('Reshape', ['x', b.int64s([0, 0, Ho, k, Wo, k])]);
    const flat = b.op('Reshape', [b.op('Transpose', [blocks], { perm: [0, 1, 2, 4, 3, 5] }), b.int64s([0, 0, Ho, Wo, cells])]);
    const arg = b.op('ArgMax', [flat], { axis: -1, keepdims: 1 });
    const hit = b.op('Equal', [b.int64s(positions), arg]);
    const picked = b.op('Where', [hit, b.op('Unsqueeze', ['dy', b.int64s([-1])]), b.scalar(0, DT.FLOAT)]);
    const back = b.op('Transpose', [b.op('Reshape', [picked, b.int64s([0, 0, Ho, Wo, k, k])])], { perm: [0, 1, 2, 4, 3, 5] });
    return b.op('Reshape', [back, b.int64s([0, C, H, W])]);
  };
}

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

interface Variant {
  name: string;
  session: Session;
  feeds: Record<string, AnyTensor>;
  times: number[];
  profilePrefix?: string;
}

async function main(): Promise<void> {
  console.log(`MaxPool forward + input gradient, ${THREADS} threads, float32, ${ROUNDS} interleaved rounds (ms per run)`);
  for (const c of CASES) {
    const x: AnyTensor = {
      type: 'float32',
      data: random(
        c.shape.reduce((a, z) => a * z, 1),
        7,
      ),
      shape: c.shape,
    };
    const plain = model(c);
    const probe = await Session.create(serializeModel(plain.model), { threads: THREADS, label: 'forward' });
    const yShape = (await probe.run({ x }))[plain.y]!.shape;
    await probe.dispose();
    const dy: AnyTensor = {
      type: 'float32',
      data: random(
        yShape.reduce((a, z) => a * z, 1),
        11,
      ),
      shape: yShape,
    };

    const variants: Variant[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'maxpool-bench-'));
    const add = async (name: string, m: ModelIR, feeds: Record<string, AnyTensor>): Promise<void> => {
      const profilePrefix = KERNELS ? `v${variants.length}_` : undefined;
      const session = await Session.create(serializeModel(m), { threads: THREADS, label: name, profilePrefix: profilePrefix && join(dir, profilePrefix) });
      variants.push({ name, session, feeds, times: [], profilePrefix });
    };
    await add('forward only', plain.model, { x });
    for (const f of c.formulations) {
      const registry = createVjpRegistry([...ALL_RULES.filter((r) => r.opType !== 'MaxPool'), maxPoolVjpWith(f)]);
      const vjp = await buildVjpGraph(plain.model, { wrt: ['x'], registry });
      await add(f, vjp.model, { x, [cotangentInputName(plain.y)]: dy });
    }
    if (c.tile) {
      await add('argmax, transposes (rejected)', model(c, argmaxBackward(c, false)).model, { x, dy });
      await add('argmax, space-to-depth (rejected)', model(c, argmaxBackward(c, true)).model, { x, dy });
    }

    for (const v of variants) for (let i = 0; i < WARMUP; i++) await v.session.run(v.feeds);
    for (let round = 0; round < ROUNDS; round++) {
      for (const v of variants) {
        const t0 = performance.now();
        await v.session.run(v.feeds);
        v.times.push(performance.now() - t0);
      }
    }
    const median = (t: number[]): number => [...t].sort((a, z) => a - z)[Math.floor(t.length / 2)]!;
    const base = median(variants.find((v) => v.name === 'indices')!.times);
    console.log(`\n${c.label}`);
    for (const v of variants) {
      const m = median(v.times);
      let kernels = '';
      if (v.profilePrefix) {
        v.session.endProfiling();
        kernels = `   kernels ${(sumOf(fastestKernels(profileFile(dir, v.profilePrefix))) / 1000).toFixed(1).padStart(6)}`;
      }
      console.log(
        `  ${v.name.padEnd(34)} median ${m.toFixed(1).padStart(6)}   best ${Math.min(...v.times)
          .toFixed(1)
          .padStart(6)}${kernels}   ×${(m / base).toFixed(2)} of indices`,
      );
      await v.session.dispose();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
