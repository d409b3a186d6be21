/**
 * Learns the shape and type of every value of a graph by running it in onnxruntime twice, at two
 * batch sizes, with every intermediate value exposed as an output. Dimensions that differ between
 * the runs are dynamic (null); the rest are static. Small integer values computed only from
 * constants and shapes (Reshape targets, Slice bounds, pads …) are recorded when both runs agree,
 * so gradient rules can treat them as constants. This works for any op onnxruntime can run, so
 * gibbon needs no shape-inference table of its own.
 */
import { GibbonError } from '../errors.js';
import { dataTypeFromOrt, DataType as DT } from '../onnx/dtypes.js';
import { nodeReads } from '../onnx/graph.js';
import { cloneModel, serializeModel, type ModelIR } from '../onnx/model.js';
import { toNumbers, decodeTensor } from '../onnx/tensor-proto.js';
import { Session } from '../runtime/session.js';
import type { AnyTensor } from '../tensor/tensor.js';

export interface ValueFacts {
  readonly dataType: number;
  /** Static size per dimension, null where it depends on the batch size. */
  readonly shape: readonly (number | null)[];
  /** The value, when it is computed only from constants and shapes (integer or small float). */
  readonly constant?: readonly number[];
}

export interface ProbeOptions {
  /** Concrete sizes for non-batch symbolic dimensions of each input, e.g. { input: [null, 3, 224, 224] }. */
  inputShapes?: Record<string, readonly (number | null)[]>;
  /** Inputs holding integer class labels: probed with zeros (valid classes). */
  labelInputs?: readonly string[];
}

const SHAPE_OPS = new Set(['Shape', 'Size']);
const RANDOM_OPS = new Set(['RandomUniform', 'RandomNormal', 'RandomUniformLike', 'RandomNormalLike', 'Multinomial', 'Bernoulli']);
const MAX_CONSTANT_ELEMENTS = 64;

export async function probeValues(model: ModelIR, options: ProbeOptions = {}): Promise<Map<string, ValueFacts>> {
  const g = model.graph;
  const probeModel = cloneModel(model);
  const declared = new Set(probeModel.graph.outputs.map((o) => o.name));
  for (const n of probeModel.graph.nodes) {
    for (const o of n.outputs) if (o && !declared.has(o)) { probeModel.graph.outputs.push({ name: o, dataType: 0, shape: null }); declared.add(o); }
  }
  for (const v of g.inputs) if (!declared.has(v.name)) { probeModel.graph.outputs.push({ name: v.name, dataType: 0, shape: null }); declared.add(v.name); }

  const session = await Session.create(serializeModel(probeModel), { threads: 1, optimization: 'basic', label: model.path ?? 'model' });
  let runs: Record<string, AnyTensor>[];
  try {
    runs = [];
    for (const batch of [2, 3]) runs.push(await session.run(makeFeeds(model, batch, options)));
  } finally {
    await session.dispose();
  }

  // Which values are functions of constants and shapes only.
  const staticValues = new Set<string>(g.initializers.keys());
  for (const n of g.nodes) {
    // nodeReads: an If's branches read outer values that its inputs do not name.
    const isStatic = !RANDOM_OPS.has(n.opType) && (SHAPE_OPS.has(n.opType) || nodeReads(n).every((i) => i === '' || staticValues.has(i)));
    if (isStatic) for (const o of n.outputs) staticValues.add(o);
  }

  const facts = new Map<string, ValueFacts>();
  for (const [name, init] of g.initializers) {
    const t = decodeTensor(init);
    facts.set(name, { dataType: init.dataType, shape: [...t.dims], constant: t.data.length <= MAX_CONSTANT_ELEMENTS ? toNumbers(t) : undefined });
  }
  const [a, b] = runs as [Record<string, AnyTensor>, Record<string, AnyTensor>];
  for (const [name, ta] of Object.entries(a)) {
    const tb = b[name]!;
    const shape = ta.shape.length === tb.shape.length ? ta.shape.map((d, i) => (d === tb.shape[i] ? d : null)) : null;
    if (!shape) throw new GibbonError('invalid_model', `value '${name}' changes rank with the batch size; gibbon cannot differentiate such a graph`);
    let constant: number[] | undefined;
    if (staticValues.has(name) && ta.data.length <= MAX_CONSTANT_ELEMENTS && sameData(ta, tb)) {
      constant = Array.from(ta.data as ArrayLike<number | bigint>, Number);
    }
    facts.set(name, { dataType: dataTypeFromOrt(ta.type), shape, constant });
  }
  return facts;
}

function sameData(a: AnyTensor, b: AnyTensor): boolean {
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

function makeFeeds(model: ModelIR, batch: number, options: ProbeOptions): Record<string, AnyTensor> {
  const feeds: Record<string, AnyTensor> = {};
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (const v of model.graph.inputs) {
    const given = options.inputShapes?.[v.name];
    const declared = v.shape ?? given;
    if (!declared) throw new GibbonError('invalid_model', `input '${v.name}' has no declared shape; pass its shape (inputShapes)`, { option: 'inputShapes' });
    const shape = declared.map((d, i) => {
      const g = given?.[i];
      if (typeof g === 'number') return g;
      if (typeof d === 'number' && d > 0) return d;
      if (i === 0) return batch;
      throw new GibbonError('invalid_model', `input '${v.name}' has a symbolic dimension ${i} ('${d}') that is not the batch; pass its size (inputShapes)`, {
        option: 'inputShapes',
      });
    });
    const n = shape.reduce((s, d) => s * d, 1);
    const labels = options.labelInputs?.includes(v.name);
    switch (v.dataType) {
      case DT.FLOAT: feeds[v.name] = { type: 'float32', data: Float32Array.from({ length: n }, rand), shape }; break;
      case DT.DOUBLE: feeds[v.name] = { type: 'float64', data: Float64Array.from({ length: n }, rand), shape }; break;
      case DT.INT64: feeds[v.name] = { type: 'int64', data: new BigInt64Array(n), shape }; break;
      case DT.INT32: feeds[v.name] = { type: 'int32', data: new Int32Array(n), shape }; break;
      case DT.BOOL: feeds[v.name] = { type: 'bool', data: new Uint8Array(n), shape }; break;
      default:
        throw new GibbonError('invalid_model', `input '${v.name}' has a data type gibbon cannot feed (${v.dataType})${labels ? '' : ''}`);
    }
  }
  return feeds;
}
