import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType as AT, ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { canonicalize } from './canonicalize.js';
import { DataType as DT } from './dtypes.js';
import { ancestorsOf, graphToProto, MAX_SUBGRAPH_DEPTH, outerReads, topologicalSort, type Graph, type Node } from './graph.js';
import type { ModelIR } from './model.js';

const node = (name: string, opType: string, inputs: string[], outputs: string[], attributes: Node['attributes'] = []): Node => ({
  name,
  opType,
  domain: '',
  inputs,
  outputs,
  attributes,
});

const graph = (nodes: Node[], extra: Partial<Graph> = {}): Graph => ({
  name: 'g',
  nodes,
  inputs: [{ name: 'x', dataType: DT.FLOAT, shape: ['N', 4] }],
  outputs: [],
  initializers: new Map(),
  valueInfo: [],
  ...extra,
});

const passX = (name: string): Graph =>
  graph([node(name, 'Identity', ['x'], [`${name}/out`])], { name, inputs: [], outputs: [{ name: `${name}/out`, dataType: DT.FLOAT, shape: null }] });

/** An If whose then branch reads `read` from the enclosing scope (and whose else branch passes x). */
function ifReading(name: string, read: string, output: string, depth = 1): Node {
  let branch: Graph = graph([node(`${name}/then`, 'Relu', [read], [`${name}/t0`])], {
    name: `${name}_then`,
    inputs: [],
    outputs: [{ name: `${name}/t0`, dataType: DT.FLOAT, shape: null }],
  });
  for (let d = 1; d < depth; d++) {
    // Wrap: a branch whose only node is an If holding the previous branch.
    const inner = node(
      `${name}/if${d}`,
      'If',
      ['c'],
      [`${name}/n${d}`],
      [
        create(AttributeProtoSchema, { name: 'then_branch', type: AT.GRAPH, g: graphToProto(branch) }),
        create(AttributeProtoSchema, { name: 'else_branch', type: AT.GRAPH, g: graphToProto(passX(`${name}/else${d}`)) }),
      ],
    );
    branch = graph([inner], { name: `${name}_wrap${d}`, inputs: [], outputs: [{ name: `${name}/n${d}`, dataType: DT.FLOAT, shape: null }] });
  }
  return node(
    name,
    'If',
    ['c'],
    [output],
    [
      create(AttributeProtoSchema, { name: 'then_branch', type: AT.GRAPH, g: graphToProto(branch) }),
      create(AttributeProtoSchema, { name: 'else_branch', type: AT.GRAPH, g: graphToProto(passX(`${name}/else`)) }),
    ],
  );
}

test('topologicalSort: a 100 000-node chain listed backwards is sorted, iteratively and quickly', () => {
  const n = 100_000;
  const nodes = Array.from({ length: n }, (_, i) => node(`n${i}`, 'Relu', [i === 0 ? 'x' : `v${i - 1}`], [`v${i}`]));
  const started = performance.now();
  const order = topologicalSort(graph([...nodes].reverse()));
  const ms = performance.now() - started;
  assert.equal(order.length, n);
  order.forEach((x, i) => assert.equal(x.name, `n${i}`));
  assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  assert.equal(ancestorsOf(graph(nodes), [`v${n - 1}`]).size, n + 1);
});

test('topologicalSort keeps a valid order as it is and puts a node after what its If branches read', () => {
  const a = node('a', 'Relu', ['x'], ['h']);
  const b = node('b', 'Greater', ['x', 'x'], ['c']);
  const f = ifReading('if', 'h', 'y');
  // The If reads h only inside its branch: it must still come after a.
  const order = topologicalSort(graph([f, b, a]));
  assert.deepEqual(
    order.map((x) => x.name),
    ['b', 'a', 'if'],
  );
  assert.deepEqual(
    topologicalSort(graph([a, b, f])).map((x) => x.name),
    ['a', 'b', 'if'],
  );
  assert.ok(ancestorsOf(graph([a, b, f]), ['y']).has('h'));
});

test('topologicalSort names the node on a cycle and the node whose input is missing', () => {
  const cyc = graph([node('p', 'Relu', ['x', 'q_out'], ['p_out']), node('q', 'Relu', ['p_out'], ['q_out'])]);
  assert.throws(
    () => topologicalSort(cyc),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_graph' && /cycle through node '(p|q)'/.test(e.message),
  );
  const missing = graph([node('m', 'Relu', ['nowhere'], ['y'])]);
  assert.throws(() => topologicalSort(missing), /input 'nowhere' of node 'm' \(Relu\) is not produced/);
  // In a subgraph, unknown names are the enclosing scope's.
  assert.equal(topologicalSort(missing, { outerScope: 'any' }).length, 1);
  const missingInBranch = graph([node('c0', 'Greater', ['x', 'x'], ['c']), ifReading('if', 'ghost', 'y')]);
  assert.throws(() => topologicalSort(missingInBranch), /input 'ghost' of node 'if' \(If\)/);
});

test('outerReads follows nested subgraphs, and nesting deeper than the cap is refused with a clear error', () => {
  const f = ifReading('deep', 'h', 'y', 3);
  const then = f.attributes.find((a) => a.name === 'then_branch')!.g!;
  assert.deepEqual(outerReads(then).sort(), ['c', 'h', 'x']);
  const tooDeep = ifReading('deep', 'h', 'y', MAX_SUBGRAPH_DEPTH + 2);
  const model: ModelIR = {
    proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 18n })] }),
    graph: graph([node('c0', 'Greater', ['x', 'x'], ['c']), node('a', 'Relu', ['x'], ['h']), tooDeep]),
    opset: 18,
  };
  for (const fn of [() => canonicalize(model), () => topologicalSort(model.graph)]) {
    assert.throws(fn, (e: unknown) => e instanceof GibbonError && e.code === 'invalid_model' && /nested more than 32 deep/.test(e.message));
  }
});
