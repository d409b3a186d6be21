/**
 * Brings a model to one canonical form so that gradient rules see a single version of each op:
 * - Constant nodes become initializers;
 * - the default-domain opset is raised to at least CANONICAL_OPSET (18), rewriting the ops whose
 *   attributes became inputs on the way (Clip, Slice, Squeeze/Unsqueeze, Split, Pad, Reduce*,
 *   TopK, Dropout), the pre-13 Softmax family (2-D coercion), and Upsample (to Resize).
 * The forward computation is unchanged; the result is a new model (the input is not mutated).
 */
import { TensorProto_DataType as DT, type TensorProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { Attributes, makeAttribute } from './attributes.js';
import { GraphBuilder } from './builder.js';
import type { Graph, Node } from './graph.js';
import { cloneModel, type ModelIR } from './model.js';
import { encodeTensor } from './tensor-proto.js';

export const CANONICAL_OPSET = 18;

const REDUCE_AXES_INPUT_SINCE: Record<string, number> = {
  ReduceSum: 13,
  ReduceMean: 18,
  ReduceMax: 18,
  ReduceMin: 18,
  ReduceProd: 18,
  ReduceL1: 18,
  ReduceL2: 18,
  ReduceLogSum: 18,
  ReduceLogSumExp: 18,
  ReduceSumSquare: 18,
};

export function canonicalize(model: ModelIR): ModelIR {
  const out = cloneModel(model);
  foldConstantNodes(out.graph);
  if (out.opset < CANONICAL_OPSET) {
    upgradeNodes(out.graph, out.opset);
    out.opset = CANONICAL_OPSET;
  }
  return out;
}

function constantValue(n: Node): TensorProto {
  const a = new Attributes(n);
  const name = n.outputs[0]!;
  const t = a.tensor('value');
  if (t) return { ...t, name };
  if (a.has('value_float')) return encodeTensor(name, DT.FLOAT, [], Float32Array.of(a.float('value_float')));
  if (a.has('value_floats')) { const v = a.floats('value_floats'); return encodeTensor(name, DT.FLOAT, [v.length], Float32Array.from(v)); }
  if (a.has('value_int')) return encodeTensor(name, DT.INT64, [], BigInt64Array.of(BigInt(a.int('value_int'))));
  if (a.has('value_ints')) { const v = a.ints('value_ints'); return encodeTensor(name, DT.INT64, [v.length], BigInt64Array.from(v, BigInt)); }
  throw new GibbonError('invalid_model', `Constant node '${n.name}' has no supported value attribute (sparse or string constants are not supported)`, {
    node: { name: n.name, opType: n.opType },
  });
}

/** Turns default-domain Constant nodes into initializers. */
export function foldConstantNodes(g: Graph): void {
  const kept: Node[] = [];
  for (const n of g.nodes) {
    if (n.opType === 'Constant' && n.domain === '') g.initializers.set(n.outputs[0]!, constantValue(n));
    else kept.push(n);
  }
  g.nodes = kept;
}

function upgradeNodes(g: Graph, opset: number): void {
  const b = new GraphBuilder(g, 'canon');
  const old = g.nodes;
  g.nodes = [];
  for (const n of old) {
    if (n.domain !== '') { g.nodes.push(n); continue; }
    const rewritten = upgradeNode(n, opset, b);
    if (rewritten) g.nodes.push(rewritten);
  }
}

function without(n: Node, names: readonly string[]): Node['attributes'] {
  return n.attributes.filter((a) => !names.includes(a.name));
}

/** Returns the node to keep (possibly changed), or null if it was replaced by emitted nodes. */
function upgradeNode(n: Node, opset: number, b: GraphBuilder): Node | null {
  const a = new Attributes(n);
  const input = (i: number): string => n.inputs[i] ?? '';
  switch (n.opType) {
    case 'Clip':
      if (opset < 11) {
        // CastLike keeps the bounds in the input's float type (float16/float64 models).
        const min = b.op('CastLike', [b.scalar(a.float('min', -3.4028234663852886e38)), input(0)]);
        const max = b.op('CastLike', [b.scalar(a.float('max', 3.4028234663852886e38)), input(0)]);
        return { ...n, inputs: [input(0), min, max], attributes: without(n, ['min', 'max']) };
      }
      return n;
    case 'Slice':
      if (opset < 10) {
        const inputs = [input(0), b.int64s(a.ints('starts')), b.int64s(a.ints('ends'))];
        if (a.has('axes')) inputs.push(b.int64s(a.ints('axes')));
        return { ...n, inputs, attributes: without(n, ['starts', 'ends', 'axes']) };
      }
      return n;
    case 'Squeeze':
    case 'Unsqueeze':
      if (opset < 13 && a.has('axes')) return { ...n, inputs: [input(0), b.int64s(a.ints('axes'))], attributes: without(n, ['axes']) };
      return n;
    case 'Split': {
      let inputs = n.inputs;
      let attributes = n.attributes;
      if (opset < 13 && a.has('split')) {
        inputs = [input(0), b.int64s(a.ints('split'))];
        attributes = without(n, ['split']);
      }
      if (!inputs[1]) attributes = [...attributes.filter((x) => x.name !== 'num_outputs'), makeAttribute('num_outputs', n.outputs.length)];
      return { ...n, inputs, attributes };
    }
    case 'Pad':
      if (opset < 11) {
        const pads = a.ints('pads');
        const value = b.op('CastLike', [b.scalar(a.float('value', 0)), input(0)]);
        return { ...n, inputs: [input(0), b.int64s(pads), value], attributes: without(n, ['pads', 'value']) };
      }
      return n;
    case 'TopK':
      if (opset < 10) return { ...n, inputs: [input(0), b.int64s([a.int('k')])], attributes: without(n, ['k']) };
      return n;
    case 'Dropout':
      if (opset < 12) {
        // Inference semantics are the identity; keep the ratio as an input for training.
        const ratio = b.scalar(a.float('ratio', 0.5));
        return { ...n, inputs: [input(0), ratio], attributes: without(n, ['ratio', 'is_test']), outputs: n.outputs };
      }
      return n;
    case 'Softmax':
    case 'LogSoftmax':
    case 'Hardmax':
      if (opset < 13) {
        // Before opset 13 these coerced the input to 2-D at `axis` (default 1).
        const axis = a.int('axis', 1);
        const flat = b.op('Flatten', [input(0)], { axis }, { name: `${n.name}/flatten` });
        const sm = b.op(n.opType, [flat], { axis: 1 }, { name: n.name });
        const shape = b.op('Shape', [input(0)], {}, { name: `${n.name}/shape` });
        b.node('Reshape', [sm, shape], {}, { outputNames: [n.outputs[0]!], name: `${n.name}/reshape` });
        return null;
      }
      return n;
    case 'Upsample': {
      // Opset 9 Upsample(X, scales) == Resize with asymmetric coordinates and floor rounding.
      const mode = a.string('mode', 'nearest');
      const attrs = {
        mode,
        coordinate_transformation_mode: 'asymmetric',
        nearest_mode: 'floor',
      };
      b.node('Resize', [input(0), '', input(1)], attrs, { outputNames: [n.outputs[0]!], name: n.name });
      return null;
    }
    case 'Resize':
      if (opset < 11) {
        const mode = a.string('mode', 'nearest');
        b.node('Resize', [input(0), '', input(1)], { mode, coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, { outputNames: [n.outputs[0]!], name: n.name });
        return null;
      }
      return n;
    default: {
      const since = REDUCE_AXES_INPUT_SINCE[n.opType];
      if (since !== undefined && opset < since && a.has('axes')) {
        return { ...n, inputs: [input(0), b.int64s(a.ints('axes'))], attributes: without(n, ['axes']) };
      }
      return n;
    }
  }
}
