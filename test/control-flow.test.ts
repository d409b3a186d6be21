/**
 * Control flow end to end: If (data-dependent, constant, nested, branches reading outer values and
 * initializers) and Loop (constant trip count: unrolled; data-dependent: refused naming the node),
 * on TorchScript exports (tools/controlflow/export_controlflow.py and the zoo's if_branches_op11).
 * Gradients agree with finite differences for batches that take each branch, through one gradient
 * graph whose probe took only one of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkModelGradient } from '../src/autodiff/testing/model-gradcheck.js';
import { buildGradientGraph } from '../src/autodiff/gradient-graph.js';
import { buildVjpGraph } from '../src/autodiff/vjp-graph.js';
import { GibbonError } from '../src/errors.js';
import { canonicalize } from '../src/onnx/canonicalize.js';
import { loadModel, serializeModel, type ModelIR } from '../src/onnx/model.js';
import { Session } from '../src/runtime/session.js';
import type { AnyTensor } from '../src/tensor/tensor.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'controlflow');
const zoo = join(process.cwd(), 'test', 'fixtures', 'zoo');

/** A batch of `rows` rows of `width` values, each value `base` plus a small deterministic spread. */
function batch(rows: number, width: number, base: number, spread = 0.3): AnyTensor {
  let s = 17;
  const data = Float32Array.from({ length: rows * width }, () => base + ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * spread);
  return { type: 'float32', data, shape: [rows, width] };
}

async function run(model: ModelIR, x: AnyTensor): Promise<Float32Array> {
  const s = await Session.create(serializeModel(model), { threads: 1 });
  try {
    const out = await s.run({ x });
    return Float32Array.from(Object.values(out)[0]!.data as Float32Array);
  } finally {
    await s.dispose();
  }
}

function countOps(model: ModelIR, opType: string): number {
  return model.graph.nodes.filter((n) => n.opType === opType).length;
}

test('If with a data-dependent condition (zoo, opset 11): gradients match finite differences in both branches', async () => {
  const model = loadModel(join(zoo, 'if_branches_op11.onnx'));
  // mean > 0.5 takes the then branch, else the else branch (which doubles the scores).
  const bright = batch(3, 16, 0.9);
  const dark = batch(3, 16, 0.1);
  const yBright = await run(model, bright);
  const yDark = await run(model, dark);
  for (const x of [bright, dark]) {
    const r = await checkModelGradient(model, { x }, { wrt: ['x'], label: 'if_branches_op11' });
    assert.equal(r.checked, 48);
    assert.ok(
      r.analytic[0]!.some((v) => Math.abs(v) > 1e-3),
      'gradient is not identically zero',
    );
  }
  assert.notDeepEqual(yBright, yDark);
});

test('If whose branches read outer values (x, a hidden state) and initializers: gradients in both branches', async () => {
  const model = loadModel(join(dir, 'if_outer_reads_op13.onnx'));
  // ONNX's condition is one boolean: a batch mixing positive and negative rows takes one branch
  // as a whole (here the sum is positive: then), and its gradient is that branch's for every row.
  const mixed = batch(4, 8, 0.8);
  (mixed.data as Float32Array).fill(-0.4, 24, 32);
  for (const x of [batch(3, 8, 0.8), batch(3, 8, -0.8), mixed]) {
    const r = await checkModelGradient(model, { x }, { wrt: ['x'], label: 'if_outer_reads' });
    assert.equal(r.checked, x.data.length);
  }
});

test('If: parameters inside a branch get gradients only when that branch runs', async () => {
  const model = loadModel(join(dir, 'if_outer_reads_op13.onnx'));
  const g = await buildGradientGraph(model, { wrt: ['a.weight', 'b.weight'], loss: 'ce' });
  const s = await Session.create(serializeModel(g.model), { threads: 1 });
  try {
    const labels: AnyTensor = { type: 'int64', data: new BigInt64Array(3), shape: [3] };
    const norm = (t: AnyTensor | undefined): number => Math.hypot(...Array.from(t!.data as Float32Array));
    const pos = await s.run({ x: batch(3, 8, 0.8), labels });
    const neg = await s.run({ x: batch(3, 8, -0.8), labels });
    assert.ok(norm(pos['grad:a.weight']) > 1e-4 && norm(pos['grad:b.weight']) === 0, 'then branch: only a.weight');
    assert.ok(norm(neg['grad:b.weight']) > 1e-4 && norm(neg['grad:a.weight']) === 0, 'else branch: only b.weight');
  } finally {
    await s.dispose();
  }
});

test('nested If: gradients in each of the three paths', async () => {
  const model = loadModel(join(dir, 'if_nested_op13.onnx'));
  // mean > 0 and max > 1 → p; mean > 0 and max ≤ 1 → q; mean ≤ 0 → r.
  for (const x of [batch(2, 6, 0.9, 0.6), batch(2, 6, 0.5, 0.4), batch(2, 6, -0.7)]) {
    const r = await checkModelGradient(model, { x }, { wrt: ['x'], label: 'if_nested' });
    assert.equal(r.checked, 12);
  }
});

test('If with a constant condition is folded to its branch, with unchanged outputs', async () => {
  const model = loadModel(join(dir, 'if_constant_op13.onnx'));
  const canon = canonicalize(model);
  assert.equal(countOps(model, 'If'), 1);
  assert.equal(countOps(canon, 'If'), 0);
  // The condition is true: even a negative batch takes the then branch.
  const x = batch(3, 8, -0.8);
  assert.deepEqual(await run(canon, x), await run(model, x));
  const r = await checkModelGradient(model, { x }, { wrt: ['x'], label: 'if_constant' });
  assert.equal(r.checked, 24);
});

test('Loop with a constant trip count is unrolled: same outputs, gradients match finite differences', async () => {
  const model = loadModel(join(dir, 'loop_constant_op13.onnx'));
  const canon = canonicalize(model);
  assert.equal(countOps(canon, 'Loop'), 0);
  assert.equal(countOps(canon, 'Tanh'), 3);
  const x = batch(3, 4, 0.2, 1.5);
  const a = await run(canon, x);
  const b = await run(model, x);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-6, `output ${i}: ${v} vs ${b[i]}`));
  const r = await checkModelGradient(model, { x }, { wrt: ['x'], label: 'loop_constant' });
  assert.equal(r.checked, 12);
});

test('Loop with a data-dependent trip count: the error names the node and what would be needed', async () => {
  const model = loadModel(join(dir, 'loop_data_op13.onnx'));
  await assert.rejects(buildVjpGraph(model, { wrt: ['x'] }), (e: unknown) => {
    assert.ok(e instanceof GibbonError);
    assert.equal(e.code, 'unsupported_op');
    assert.equal(e.location.node?.name, '/Loop');
    assert.match(e.message, /constant trip count/);
    return true;
  });
});

test('opset 10 ops inside If branches are upgraded with the model (ReduceMean/Unsqueeze axes, Clip min/max)', async () => {
  const { create } = await import('@bufbuild/protobuf');
  const { AttributeProtoSchema, AttributeProto_AttributeType: AT, ModelProtoSchema, OperatorSetIdProtoSchema } = await import('onnx-buf');
  const { graphToProto } = await import('../src/onnx/graph.js');
  const { makeAttribute, float } = await import('../src/onnx/attributes.js');
  const { encodeTensor } = await import('../src/onnx/tensor-proto.js');
  const branch = (name: string, nodes: ModelIR['graph']['nodes'], out: string): ModelIR['graph'] => ({
    name,
    nodes,
    inputs: [],
    outputs: [{ name: out, dataType: 1, shape: null }],
    initializers: new Map(),
    valueInfo: [],
  });
  const then = branch(
    'then',
    [
      { name: 'rm', opType: 'ReduceMean', domain: '', inputs: ['x'], outputs: ['m'], attributes: [makeAttribute('axes', [1]), makeAttribute('keepdims', 0)] },
      { name: 'us', opType: 'Unsqueeze', domain: '', inputs: ['m'], outputs: ['mu'], attributes: [makeAttribute('axes', [1])] },
      { name: 'sub', opType: 'Sub', domain: '', inputs: ['x', 'mu'], outputs: ['t'], attributes: [] },
    ],
    't',
  );
  const other = branch(
    'else',
    [
      {
        name: 'clip',
        opType: 'Clip',
        domain: '',
        inputs: ['x'],
        outputs: ['e'],
        attributes: [makeAttribute('min', float(-0.5)), makeAttribute('max', float(0.5))],
      },
    ],
    'e',
  );
  const graph: ModelIR['graph'] = {
    name: 'old',
    nodes: [
      { name: 'sum', opType: 'ReduceSum', domain: '', inputs: ['x'], outputs: ['s'], attributes: [makeAttribute('keepdims', 0)] },
      { name: 'gt', opType: 'Greater', domain: '', inputs: ['s', 'zero'], outputs: ['c'], attributes: [] },
      {
        name: 'if',
        opType: 'If',
        domain: '',
        inputs: ['c'],
        outputs: ['logits'],
        attributes: [
          create(AttributeProtoSchema, { name: 'then_branch', type: AT.GRAPH, g: graphToProto(then) }),
          create(AttributeProtoSchema, { name: 'else_branch', type: AT.GRAPH, g: graphToProto(other) }),
        ],
      },
    ],
    inputs: [{ name: 'x', dataType: 1, shape: ['N', 3] }],
    outputs: [{ name: 'logits', dataType: 1, shape: ['N', 3] }],
    initializers: new Map([['zero', encodeTensor('zero', 1, [], Float32Array.of(0))]]),
    valueInfo: [],
  };
  const proto = create(ModelProtoSchema, { irVersion: 6n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 10n })] });
  const model: ModelIR = { proto, graph, opset: 10 };
  const canon = canonicalize(model);
  assert.equal(canon.opset, 18);
  // then (positive sum): each row minus its mean, so a row sums to 0; else: clipped to [-0.5, 0.5].
  const pos = await run(canon, batch(2, 3, 0.8));
  assert.ok(Math.abs(pos[0]! + pos[1]! + pos[2]!) < 1e-5, `then branch: ${pos}`);
  const neg = await run(canon, batch(2, 3, -0.8));
  assert.deepEqual([...neg], Array(6).fill(-0.5));
  assert.deepEqual(pos, await run(model, batch(2, 3, 0.8)));
  const r = await checkModelGradient(model, { x: batch(2, 3, 0.8) }, { wrt: ['x'], label: 'opset10 If' });
  assert.equal(r.checked, 6);
  const r2 = await checkModelGradient(model, { x: batch(2, 3, -0.2, 0.2) }, { wrt: ['x'], label: 'opset10 If, else' });
  assert.equal(r2.checked, 6);
});

test('If on a shape-derived condition whose other branch cannot run on these shapes: differentiated through the taken branch', async () => {
  const { create } = await import('@bufbuild/protobuf');
  const { AttributeProtoSchema, AttributeProto_AttributeType: AT, ModelProtoSchema, OperatorSetIdProtoSchema } = await import('onnx-buf');
  const { graphToProto } = await import('../src/onnx/graph.js');
  const { encodeTensor } = await import('../src/onnx/tensor-proto.js');
  const branch = (name: string, nodes: ModelIR['graph']['nodes'], out: string): ModelIR['graph'] => ({
    name,
    nodes,
    inputs: [],
    outputs: [{ name: out, dataType: 1, shape: null }],
    initializers: new Map(),
    valueInfo: [],
  });
  // x (N, 4): then = tanh(x) * w; else = a reshape to (-1, 5), impossible for 4 columns.
  const then = branch(
    'then',
    [
      { name: 'tanh', opType: 'Tanh', domain: '', inputs: ['x'], outputs: ['t'], attributes: [] },
      { name: 'mul', opType: 'Mul', domain: '', inputs: ['t', 'w'], outputs: ['tw'], attributes: [] },
    ],
    'tw',
  );
  const other = branch('else', [{ name: 'reshape', opType: 'Reshape', domain: '', inputs: ['x', 'five'], outputs: ['e'], attributes: [] }], 'e');
  const graph: ModelIR['graph'] = {
    name: 'shape_if',
    nodes: [
      { name: 'shape', opType: 'Shape', domain: '', inputs: ['x'], outputs: ['s'], attributes: [] },
      { name: 'gather', opType: 'Gather', domain: '', inputs: ['s', 'one'], outputs: ['cols'], attributes: [] },
      { name: 'eq', opType: 'Equal', domain: '', inputs: ['cols', 'four'], outputs: ['c'], attributes: [] },
      {
        name: 'if',
        opType: 'If',
        domain: '',
        inputs: ['c'],
        outputs: ['logits'],
        attributes: [
          create(AttributeProtoSchema, { name: 'then_branch', type: AT.GRAPH, g: graphToProto(then) }),
          create(AttributeProtoSchema, { name: 'else_branch', type: AT.GRAPH, g: graphToProto(other) }),
        ],
      },
    ],
    inputs: [{ name: 'x', dataType: 1, shape: ['N', 4] }],
    outputs: [{ name: 'logits', dataType: 1, shape: ['N', 4] }],
    initializers: new Map([
      ['one', encodeTensor('one', 7, [], BigInt64Array.of(1n))],
      ['four', encodeTensor('four', 7, [], BigInt64Array.of(4n))],
      ['five', encodeTensor('five', 7, [2], BigInt64Array.of(-1n, 5n))],
      ['w', encodeTensor('w', 1, [4], Float32Array.of(1, -2, 3, 0.5))],
    ]),
    valueInfo: [],
  };
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] });
  const r = await checkModelGradient({ proto, graph, opset: 18 }, { x: batch(3, 4, 0.1, 1) }, { wrt: ['x'], label: 'shape If' });
  assert.equal(r.checked, 12);
  assert.ok(r.analytic[0]!.some((v) => Math.abs(v) > 0.1));
});
