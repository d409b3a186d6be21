/**
 * The bound graph is sound: for random points inside an ε-box (corners included), the model's
 * logits lie inside [logits_lower, logits_upper] and z_y − z_j ≥ margin_lower_j. At ε = 0 the bounds
 * are the logits; larger boxes give wider bounds. (interval-graph-build.test.ts: refused graphs, weights as inputs.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { OnnxModel } from '../../model/onnx-model.js';
import { float } from '../../onnx/attributes.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import { loadModel, serializeModel, type ModelIR } from '../../onnx/model.js';
import { Rng } from '../../random.js';
import { Session } from '../../runtime/session.js';
import { buildArchitecture } from '../../training/architectures.js';
import { buildIntervalGraph } from './interval-graph.js';
import { emptyGraph, modelOf, runBounds, type Bounds } from './testing/graphs.js';

const REFERENCE = join(process.cwd(), 'test', 'fixtures', 'reference');

function randomWeights(b: GraphBuilder, rng: Rng, dims: readonly number[], scale: number): string {
  const n = dims.reduce((a, d) => a * d, 1);
  return b.constant(
    DT.FLOAT,
    dims,
    Float32Array.from({ length: n }, () => scale * rng.normal()),
    'w',
  );
}

/** Conv → BatchNorm (signed scales, non-trivial statistics) → Relu → MaxPool → ConvTranspose → Conv stride 2 → LeakyRelu → AveragePool → Flatten → MatMul + Add. */
function convBatchNormNet(seed: number): ModelIR {
  const rng = new Rng(seed);
  const g = emptyGraph([2, 8, 8], 5);
  const b = new GraphBuilder(g, 'net');
  let h = b.op('Conv', ['input', randomWeights(b, rng, [4, 2, 3, 3], 0.4), randomWeights(b, rng, [4], 0.1)], { pads: [1, 1, 1, 1] });
  const bn = (x: string, c: number): string =>
    b.op(
      'BatchNormalization',
      [
        x,
        randomWeights(b, rng, [c], 1),
        randomWeights(b, rng, [c], 0.2),
        randomWeights(b, rng, [c], 0.3),
        b.constant(
          DT.FLOAT,
          [c],
          Float32Array.from({ length: c }, () => 0.2 + rng.uniform()),
          'var',
        ),
      ],
      {
        epsilon: float(1e-5),
      },
    );
  h = b.op('Relu', [bn(h, 4)]);
  h = b.op('MaxPool', [h], { kernel_shape: [2, 2], strides: [2, 2] });
  h = b.op('ConvTranspose', [h, randomWeights(b, rng, [4, 4, 2, 2], 0.4), randomWeights(b, rng, [4], 0.1)], { strides: [2, 2] });
  h = b.op('Conv', [h, randomWeights(b, rng, [6, 4, 3, 3], 0.3), randomWeights(b, rng, [6], 0.1)], { pads: [1, 1, 1, 1], strides: [2, 2] });
  h = b.op('LeakyRelu', [bn(h, 6)], { alpha: float(0.1) });
  h = b.op('AveragePool', [h], { kernel_shape: [2, 2], strides: [1, 1] });
  h = b.op('Flatten', [h], { axis: 1 });
  h = b.op('MatMul', [h, randomWeights(b, rng, [54, 5], 0.2)]);
  b.node('Add', [h, randomWeights(b, rng, [5], 0.1)], {}, { outputNames: ['logits'] });
  return modelOf(g);
}

/**
 * Sign-sensitive and non-affine ops: products and quotients of intervals, Softmax in the middle,
 * Sub of two intervals, Abs, Neg, Tanh, Clip, Max, Concat, Pad, Transpose, GlobalAveragePool,
 * ending in Softmax (bounded at its logits).
 */
function opsZooNet(seed: number): ModelIR {
  const rng = new Rng(seed);
  const g = emptyGraph([1, 4, 4], 4);
  g.outputs = [{ name: 'probs', dataType: DT.FLOAT, shape: ['batch', 4] }];
  const b = new GraphBuilder(g, 'zoo');
  const x = b.op('Div', [b.op('Sub', ['input', b.scalar(0.5)]), b.scalar(-0.25)]);
  const pooled = b.op('Flatten', [b.op('GlobalAveragePool', [b.op('Pad', [x, b.int64s([0, 0, 1, 1, 0, 0, 1, 1]), b.scalar(0.3)])])]);
  const flat = b.op('Reshape', [b.op('Transpose', [x], { perm: [0, 1, 3, 2] }), b.int64s([-1, 16])]);
  const a = b.op('Gemm', [flat, randomWeights(b, rng, [8, 16], 0.4), randomWeights(b, rng, [8], 0.1)], { transB: 1 });
  const c = b.op('Gemm', [flat, randomWeights(b, rng, [16, 8], 0.4)], { alpha: float(-0.7) });
  const attention = b.op('Mul', [b.op('Softmax', [a], { axis: 1 }), c]);
  const product = b.op('Mul', [a, b.op('Tanh', [c])]);
  const quotient = b.op('Div', [a, b.op('Add', [b.op('Sigmoid', [c]), b.scalar(1)])]);
  const diff = b.op('Neg', [b.op('Abs', [b.op('Sub', [a, c])])]);
  const both = b.op('Concat', [attention, product, quotient, b.op('Max', [diff, c]), pooled], { axis: 1 });
  const clipped = b.op('Clip', [both, b.scalar(-2), b.scalar(2)]);
  const z = b.op('Gemm', [clipped, randomWeights(b, rng, [33, 4], 0.3), randomWeights(b, rng, [4], 0.1)]);
  b.node('Softmax', [z], { axis: 1 }, { outputNames: ['probs'] });
  return modelOf(g);
}

interface Case {
  readonly name: string;
  readonly model: () => ModelIR;
  readonly eps: readonly number[];
  /** Boxes (default 3) and points sampled in each (default 200). */
  readonly centres?: number;
  readonly points?: number;
  /** Fold the final affine layer into the margins (default true). */
  readonly elide?: boolean;
}

const CASES: readonly Case[] = [
  {
    name: 'MLP (architectures mlp)',
    model: () => buildArchitecture('mlp', { seed: 3, inputShape: [1, 6, 6], numClasses: 4 }),
    eps: [0.01, 0.1, 0.4],
  },
  {
    name: 'CNN (architectures cnn)',
    model: () => buildArchitecture('cnn', { seed: 5, inputShape: [1, 8, 8], numClasses: 3 }),
    eps: [0.01, 0.05, 0.3],
    points: 150,
  },
  {
    name: 'ResNet-8 (BatchNorm, residual Add of two intervals)',
    model: () => buildArchitecture('resnet', { seed: 2, inputShape: [3, 8, 8], numClasses: 3 }),
    eps: [0.005, 0.05],
    centres: 2,
    points: 100,
  },
  {
    name: 'Conv + signed BatchNorm + MaxPool + ConvTranspose + MatMul/Add',
    model: () => convBatchNormNet(11),
    eps: [0.02, 0.2, 1],
  },
  {
    name: 'op zoo (interval products, Softmax, Abs, Pad …; final Softmax)',
    model: () => opsZooNet(7),
    eps: [0.01, 0.1, 0.5],
  },
  {
    name: 'op zoo without elision (margins lower_y − upper_j)',
    model: () => opsZooNet(8),
    eps: [0.01, 0.1, 0.5],
    elide: false,
  },
  {
    name: 'reference ops_zoo.onnx (PyTorch export, ~30 op types)',
    model: () => loadModel(join(REFERENCE, 'ops_zoo', 'ops_zoo.onnx')),
    eps: [0.01, 0.1],
    centres: 2,
    points: 48,
  },
];

/** The ε-box around each centre, intersected with [0, 1]. */
function box(centres: Float32Array, eps: number): { lower: Float32Array; upper: Float32Array } {
  return { lower: centres.map((v) => Math.max(0, v - eps)), upper: centres.map((v) => Math.min(1, v + eps)) };
}

const tolerance = (v: number): number => 1e-4 * (1 + Math.abs(v));

for (const c of CASES) {
  test(`IBP soundness: ${c.name}: sampled points and box corners stay inside the bounds`, async () => {
    const { centres: boxes = 3, points = 200 } = c;
    const ir = c.model();
    const graph = await buildIntervalGraph(ir, { elide: c.elide });
    assert.equal(graph.elided, c.elide ?? true);
    const bounds = await Session.create(serializeModel(graph.model), { threads: 1 });
    const plain = await OnnxModel.load(ir, { threads: 1 });
    try {
      const rng = new Rng(99);
      const row = plain.inputShape.slice(1).reduce((a: number, d) => a * d!, 1);
      const shape = [boxes, ...(plain.inputShape.slice(1) as number[])];
      const k = plain.numClasses;
      const centres = rng.fillUniform(new Float32Array(boxes * row));
      // Some pixels at the domain's edges, as in images, so the box is clipped there.
      for (let i = 0; i < centres.length; i += 7) centres[i] = i % 2 ? 0 : 1;
      const labels = Int32Array.from({ length: boxes }, () => rng.integer(k));
      let checked = 0;
      for (const eps of c.eps) {
        const { lower, upper } = box(centres, eps);
        const bd = await runBounds(bounds, lower, upper, shape, labels);
        const samples = new Float32Array(boxes * points * row);
        for (let n = 0; n < boxes; n++) {
          for (let p = 0; p < points; p++) {
            const corner = p < points / 2;
            const base = (n * points + p) * row;
            for (let i = 0; i < row; i++) {
              const [l, u] = [lower[n * row + i]!, upper[n * row + i]!];
              samples[base + i] = corner ? (rng.uniform() < 0.5 ? l : u) : l + (u - l) * rng.uniform();
            }
          }
        }
        const z = await plain.logits({ data: samples, shape: [boxes * points, ...shape.slice(1)] });
        for (let n = 0; n < boxes; n++) {
          const y = labels[n]!;
          for (let p = 0; p < points; p++) {
            const zr = z.data.subarray((n * points + p) * k, (n * points + p + 1) * k);
            for (let j = 0; j < k; j++) {
              const v = zr[j]!;
              const [lo, hi, m] = [bd.lower[n * k + j]!, bd.upper[n * k + j]!, bd.margin[n * k + j]!];
              assert.ok(lo - tolerance(v) <= v && v <= hi + tolerance(v), `ε ${eps}, centre ${n}, point ${p}, class ${j}: logit ${v} outside [${lo}, ${hi}]`);
              const d = zr[y]! - v;
              assert.ok(m - tolerance(d) <= d, `ε ${eps}, centre ${n}, point ${p}: z_y − z_${j} = ${d} below its bound ${m}`);
              checked++;
            }
          }
        }
      }
      assert.equal(checked, c.eps.length * boxes * points * k);
    } finally {
      await bounds.dispose();
      await plain.dispose();
    }
  });
}

test('IBP at ε = 0 gives the logits; the bounds widen monotonically with ε', async () => {
  for (const c of [CASES[1]!, CASES[3]!, CASES[4]!]) {
    const ir = c.model();
    const graph = await buildIntervalGraph(ir);
    const bounds = await Session.create(serializeModel(graph.model), { threads: 1 });
    const plain = await OnnxModel.load(ir, { threads: 1 });
    try {
      const rng = new Rng(5);
      const row = plain.inputShape.slice(1).reduce((a: number, d) => a * d!, 1);
      const shape = [4, ...(plain.inputShape.slice(1) as number[])];
      const k = plain.numClasses;
      const x = rng.fillUniform(new Float32Array(4 * row));
      const labels = Int32Array.of(0, 1, 2, 0);
      const z = await plain.logits({ data: x, shape });
      const exact = await runBounds(bounds, x, x, shape, labels);
      for (let i = 0; i < z.data.length; i++) {
        assert.ok(Math.abs(exact.lower[i]! - z.data[i]!) <= 1e-5 * (1 + Math.abs(z.data[i]!)), `${c.name}: lower ${exact.lower[i]} vs logit ${z.data[i]}`);
        assert.ok(Math.abs(exact.upper[i]! - z.data[i]!) <= 1e-5 * (1 + Math.abs(z.data[i]!)), `${c.name}: upper ${exact.upper[i]} vs logit ${z.data[i]}`);
        const n = Math.floor(i / k);
        const d = z.data[n * k + labels[n]!]! - z.data[i]!;
        assert.ok(Math.abs(exact.margin[i]! - d) <= 1e-4 * (1 + Math.abs(d)), `${c.name}: margin ${exact.margin[i]} vs ${d}`);
      }
      let previous: Bounds = exact;
      for (const eps of [0.001, 0.01, 0.05, 0.2]) {
        const { lower, upper } = box(x, eps);
        const next = await runBounds(bounds, lower, upper, shape, labels);
        let widthBefore = 0;
        let widthAfter = 0;
        for (let i = 0; i < z.data.length; i++) {
          assert.ok(next.lower[i]! <= previous.lower[i]! + tolerance(previous.lower[i]!), `${c.name} ε ${eps}: lower rose`);
          assert.ok(next.upper[i]! >= previous.upper[i]! - tolerance(previous.upper[i]!), `${c.name} ε ${eps}: upper fell`);
          assert.ok(next.margin[i]! <= previous.margin[i]! + tolerance(previous.margin[i]!), `${c.name} ε ${eps}: margin rose`);
          widthBefore += previous.upper[i]! - previous.lower[i]!;
          widthAfter += next.upper[i]! - next.lower[i]!;
        }
        assert.ok(widthAfter > widthBefore, `${c.name} ε ${eps}: total width ${widthAfter} should exceed ${widthBefore}`);
        previous = next;
      }
    } finally {
      await bounds.dispose();
      await plain.dispose();
    }
  }
});
