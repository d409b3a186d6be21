/**
 * Learns the shape and type of every value of a graph by running it in onnxruntime, with the
 * values exposed as outputs. Models with a dynamic batch run at two batch sizes (1 and 2, the
 * smallest that tell batch-dependent dimensions apart): dimensions that differ are dynamic (null),
 * the rest static. A model whose data input has a fixed batch (often 1, as exported audio models
 * ship) runs once at that batch, with label inputs fed at the same size. Small integer values
 * computed only from constants and shapes (Reshape targets, Slice bounds, pads …) are recorded so
 * gradient rules can treat them as constants. This works for any op onnxruntime can run, so gibbon
 * needs no shape-inference table of its own.
 *
 * Memory stays bounded: the values are fetched a group at a time (onnxruntime computes only what a
 * group needs), the group size adapts so one run fetches about PROBE_BYTES_PER_RUN (128 MiB), and only the
 * shapes (and tiny constants) are kept. Input sizes are checked before anything is allocated.
 */
import { GibbonError } from '../errors.js';
import { dataTypeFromOrt, DataType as DT, isFloatType } from '../onnx/dtypes.js';
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
  /** Only these values (default: every value of the graph). */
  values?: Iterable<string>;
}

/** Largest input gibbon feeds (elements of one input tensor): 2^28 float32 values are 1 GiB. */
export const MAX_INPUT_ELEMENTS = 2 ** 28;
/** What one probe run may fetch; the group of values per run shrinks to stay under it. */
export const PROBE_BYTES_PER_RUN = 128 * 2 ** 20;

const SHAPE_OPS = new Set(['Shape', 'Size']);
const RANDOM_OPS = new Set(['RandomUniform', 'RandomNormal', 'RandomUniformLike', 'RandomNormalLike', 'Multinomial', 'Bernoulli']);
const MAX_CONSTANT_ELEMENTS = 64;
const FIRST_GROUP = 32;
const MAX_GROUP = 512;

/** The fixed batch of a model: the first dimension of its first float input when that is a number. */
export function fixedBatchOf(model: ModelIR, inputShapes?: ProbeOptions['inputShapes']): number | undefined {
  const data = model.graph.inputs.find((v) => isFloatType(v.dataType) && !model.graph.initializers.has(v.name));
  if (!data) return undefined;
  const d = data.shape?.[0];
  if (typeof d === 'number' && d > 0) return d;
  const given = inputShapes?.[data.name]?.[0];
  return typeof given === 'number' && given > 0 ? given : undefined;
}

export async function probeValues(model: ModelIR, options: ProbeOptions = {}): Promise<Map<string, ValueFacts>> {
  const fixed = fixedBatchOf(model, options.inputShapes);
  if (fixed !== undefined) return probeAt(model, options, [fixed]);
  try {
    return await probeAt(model, options, [1, 2]);
  } catch (e) {
    // A graph may index into the batch (x[1]); it then needs a larger batch to run at all.
    if (e instanceof GibbonError && e.code === 'runtime_failure') return probeAt(model, options, [2, 3]);
    throw e;
  }
}

async function probeAt(model: ModelIR, options: ProbeOptions, batches: readonly number[]): Promise<Map<string, ValueFacts>> {
  const g = model.graph;
  // Check (and build) the feeds first: a declared size that cannot be fed fails before any session.
  const feeds = batches.map((b) => makeFeeds(model, b, options));

  const wanted: string[] = [];
  const seen = new Set<string>();
  const want = (v: string): void => {
    if (v && !seen.has(v) && !g.initializers.has(v)) {
      seen.add(v);
      wanted.push(v);
    }
  };
  if (options.values) for (const v of options.values) want(v);
  else {
    for (const v of g.inputs) want(v.name);
    for (const n of g.nodes) for (const o of n.outputs) want(o);
  }

  const probeModel = cloneModel(model);
  const declared = new Set(probeModel.graph.outputs.map((o) => o.name));
  for (const v of wanted) {
    if (!declared.has(v)) {
      probeModel.graph.outputs.push({ name: v, dataType: 0, shape: null });
      declared.add(v);
    }
  }
  // Graph inputs can be fetched only by declaring them outputs too; they are known from the feeds.
  const inputNames = new Set(g.inputs.map((v) => v.name));
  const runs: Record<string, AnyTensor>[] = batches.map(() => ({}));
  const shapesOnly = new Map<string, { dataType: number; shapes: number[][]; data: (ArrayLike<number | bigint> | undefined)[] }>();
  const session = await Session.create(serializeModel(probeModel), { threads: 1, optimization: 'basic', label: model.path ?? 'model' });
  try {
    const toFetch = wanted.filter((v) => !inputNames.has(v));
    let group = FIRST_GROUP;
    for (let start = 0; start < toFetch.length;) {
      const names = toFetch.slice(start, start + group);
      let largest = 1;
      for (let r = 0; r < batches.length; r++) {
        const out = await session.run(feeds[r]!, names);
        for (const name of names) {
          const t = out[name];
          if (!t) continue;
          largest = Math.max(largest, t.data.length * (t.data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT! || 1);
          const entry = shapesOnly.get(name) ?? { dataType: dataTypeFromOrt(t.type), shapes: [], data: [] };
          entry.shapes.push([...t.shape]);
          entry.data.push(t.data.length <= MAX_CONSTANT_ELEMENTS ? (Array.from(t.data as ArrayLike<number | bigint>) as (number | bigint)[]) : undefined);
          shapesOnly.set(name, entry);
        }
      }
      start += names.length;
      group = Math.max(1, Math.min(MAX_GROUP, Math.floor(PROBE_BYTES_PER_RUN / (largest * batches.length))));
    }
  } finally {
    await session.dispose();
  }
  for (const v of g.inputs) {
    if (!seen.has(v.name)) continue;
    feeds.forEach((f, r) => (runs[r]![v.name] = f[v.name]!));
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
  for (const v of g.inputs) {
    const a = runs[0]![v.name];
    if (!a) continue;
    shapesOnly.set(v.name, {
      dataType: dataTypeFromOrt(a.type),
      shapes: runs.map((r) => [...r[v.name]!.shape]),
      data: runs.map((r) => (r[v.name]!.data.length <= MAX_CONSTANT_ELEMENTS ? Array.from(r[v.name]!.data as ArrayLike<number | bigint>) : undefined)),
    });
  }
  for (const [name, e] of shapesOnly) {
    const [sa, sb] = [e.shapes[0]!, e.shapes[e.shapes.length - 1]!];
    const shape = sa.length === sb.length ? sa.map((d, i) => (batches.length > 1 && d !== sb[i] ? null : d)) : null;
    if (!shape) throw new GibbonError('invalid_model', `value '${name}' changes rank with the batch size; gibbon cannot differentiate such a graph`);
    let constant: number[] | undefined;
    const [da, db] = [e.data[0], e.data[e.data.length - 1]];
    if (staticValues.has(name) && da && db && sameData(da, db)) constant = Array.from(da, Number);
    facts.set(name, { dataType: e.dataType, shape, constant });
  }
  return facts;
}

function sameData(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The concrete shape gibbon feeds for an input: given sizes first, then declared ones, the batch
 * for a symbolic first dimension. Throws, naming the input, for a symbolic non-batch dimension
 * nobody gave a size for and for a tensor too large to allocate.
 */
export function concreteInputShape(
  name: string,
  declared: readonly (number | string | null)[] | null | undefined,
  given: readonly (number | null)[] | undefined,
  batch: number,
): number[] {
  const dims = declared ?? given;
  if (!dims) throw new GibbonError('invalid_model', `input '${name}' has no declared shape; give its shape (option inputShapes)`, { option: 'inputShapes' });
  const shape = dims.map((d, i) => {
    const g = given?.[i];
    if (typeof g === 'number' && g > 0) return g;
    if (typeof d === 'number' && d > 0) return d;
    if (i === 0) return batch;
    throw new GibbonError(
      'invalid_model',
      `input '${name}' has a symbolic dimension ${i} ('${d ?? '?'}') that is not the batch; give its size (option inputShapes, or an input .npy of that shape)`,
      { option: 'inputShapes' },
    );
  });
  const elements = shape.reduce((s, d) => s * d, 1);
  if (elements > MAX_INPUT_ELEMENTS) {
    throw new GibbonError(
      'invalid_model',
      `input '${name}' would be [${shape.join(', ')}] = ${elements.toExponential(2)} values, more than gibbon allocates (${MAX_INPUT_ELEMENTS.toExponential(2)}); check the declared shape or give smaller sizes`,
      { option: 'inputShapes' },
    );
  }
  return shape;
}

function makeFeeds(model: ModelIR, batch: number, options: ProbeOptions): Record<string, AnyTensor> {
  const feeds: Record<string, AnyTensor> = {};
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (const v of model.graph.inputs) {
    if (model.graph.initializers.has(v.name)) continue;
    const shape = concreteInputShape(v.name, v.shape, options.inputShapes?.[v.name], batch);
    const n = shape.reduce((s, d) => s * d, 1);
    switch (v.dataType) {
      case DT.FLOAT:
        feeds[v.name] = { type: 'float32', data: Float32Array.from({ length: n }, rand), shape };
        break;
      case DT.DOUBLE:
        feeds[v.name] = { type: 'float64', data: Float64Array.from({ length: n }, rand), shape };
        break;
      case DT.INT64:
        feeds[v.name] = { type: 'int64', data: new BigInt64Array(n), shape };
        break;
      case DT.INT32:
        feeds[v.name] = { type: 'int32', data: new Int32Array(n), shape };
        break;
      case DT.BOOL:
        feeds[v.name] = { type: 'bool', data: new Uint8Array(n), shape };
        break;
      default:
        throw new GibbonError('invalid_model', `input '${v.name}' has a data type gibbon cannot feed (${v.dataType})`);
    }
  }
  return feeds;
}
