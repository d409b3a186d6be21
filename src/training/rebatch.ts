/**
 * Fixed-batch models (exported with a constant batch, often 1, as audio and wake-word models ship)
 * made to take any batch, so that they train on batches of many examples: the data input's first
 * dimension becomes symbolic, and every Reshape whose target is a true constant spelling the batch
 * out (`x.view(1, -1)`) gets −1 there, its other sizes read from a probe of the original graph.
 *
 * The result is checked, not trusted: on 2B random rows it must give, per output, what the original
 * gives on each block of B rows. A graph that uses its batch elsewhere (a constant initial state
 * (1, 1, H), a Tile or Expand to the batch) fails the check and is refused with what to do.
 */
import { GibbonError } from '../errors.js';
import { concreteInputShape, fixedBatchOf, probeValues } from '../autodiff/probe.js';
import { DataType as DT, isFloatType } from '../onnx/dtypes.js';
import { cloneModel, serializeModel, type ModelIR } from '../onnx/model.js';
import { encodeTensor } from '../onnx/tensor-proto.js';
import { Rng } from '../random.js';
import { Session } from '../runtime/session.js';
import type { AnyTensor } from '../tensor/tensor.js';

export interface Rebatched {
  readonly model: ModelIR;
  /** The batch the model was exported with (undefined: its batch was already dynamic). */
  readonly fixedBatch?: number;
  /** Reshape nodes whose constant target was rewritten. */
  readonly reshapes: readonly string[];
}

/** Values computed from initializers and Constant nodes only (not from shapes, which follow the batch by themselves). */
function pureConstants(model: ModelIR): Set<string> {
  const g = model.graph;
  const pure = new Set<string>(g.initializers.keys());
  for (const n of g.nodes) {
    if (n.opType === 'Shape' || n.opType === 'Size') continue;
    if (n.inputs.every((i) => i === '' || pure.has(i))) for (const o of n.outputs) pure.add(o);
  }
  return pure;
}

/** The model with a symbolic batch (unchanged when it has one already). */
export async function withDynamicBatch(model: ModelIR, options: { inputShapes?: Record<string, readonly (number | null)[]> } = {}): Promise<Rebatched> {
  const batch = fixedBatchOf(model, options.inputShapes);
  const g = model.graph;
  const free = g.inputs.filter((v) => !g.initializers.has(v.name));
  const data = free.find((v) => isFloatType(v.dataType));
  // Other inputs (or none) are refused, naming them, by the training graph.
  if (batch === undefined || !data || free.length !== 1) return { model, reshapes: [] };

  const pure = pureConstants(model);
  const targets = g.nodes.filter((n) => n.domain === '' && n.opType === 'Reshape' && pure.has(n.inputs[1] ?? '') && !pure.has(n.inputs[0]!));
  const facts = await probeValues(model, { inputShapes: options.inputShapes, values: targets.flatMap((n) => [n.inputs[1]!, n.outputs[0]!]) });
  const out = cloneModel(model);
  const og = out.graph;
  const reshapes: string[] = [];
  for (const n of og.nodes) {
    if (!targets.some((t) => t.name === n.name && t.outputs[0] === n.outputs[0])) continue;
    const target = facts.get(n.inputs[1]!)?.constant;
    const resolved = facts.get(n.outputs[0]!)?.shape;
    if (!target || target[0] !== batch || !resolved || resolved[0] !== batch || resolved.some((d) => d === null)) continue;
    const name = `${n.inputs[1]}/gibbon_any_batch_${reshapes.length}`;
    const shape = [-1, ...(resolved.slice(1) as number[])];
    og.initializers.set(name, encodeTensor(name, DT.INT64, [shape.length], BigInt64Array.from(shape, BigInt)));
    n.inputs = [n.inputs[0]!, name];
    reshapes.push(n.name);
  }
  const anyBatch = <T extends { shape: (number | string | null)[] | null }>(v: T): T =>
    v.shape && v.shape[0] === batch ? { ...v, shape: ['batch', ...v.shape.slice(1)] } : v;
  og.inputs = og.inputs.map((v) => (v.name === data.name ? { ...v, shape: ['batch', ...(v.shape ?? []).slice(1)] } : v));
  og.outputs = og.outputs.map(anyBatch);
  og.valueInfo = [];

  const example = concreteInputShape(data.name, data.shape, options.inputShapes?.[data.name], batch).slice(1);
  await checkSameOutputs(model, out, data.name, example, batch);
  return { model: out, fixedBatch: batch, reshapes };
}

/** The rebatched model on 2B rows against the original on each block of B rows. */
async function checkSameOutputs(original: ModelIR, rebatched: ModelIR, input: string, example: readonly number[], batch: number): Promise<void> {
  const per = example.reduce((a, d) => a * d, 1);
  const rng = new Rng(batch);
  const x = Float32Array.from({ length: 2 * batch * per }, () => rng.uniform());
  const fail = (detail: string, cause?: unknown): GibbonError =>
    new GibbonError(
      'unsupported_op',
      `model has a fixed batch of ${batch} that its graph relies on beyond the input shape (${detail}); re-export it with a dynamic batch axis (torch.onnx.export(..., dynamic_axes={'${input}': {0: 'N'}, ...})) to train it`,
      {},
      cause === undefined ? undefined : { cause },
    );
  const a = await Session.create(serializeModel(original), { threads: 1, label: 'fixed-batch model', spinning: false });
  let b: Session | undefined;
  try {
    b = await Session.create(serializeModel(rebatched), { threads: 1, label: 'model with a dynamic batch', spinning: false });
    const feed = (rows: number, offset: number): Record<string, AnyTensor> => ({
      [input]: { type: 'float32', data: x.subarray(offset * per, (offset + rows) * per), shape: [rows, ...example] },
    });
    let whole: Record<string, AnyTensor>;
    try {
      whole = await b.run(feed(2 * batch, 0));
    } catch (e) {
      throw fail(`it does not run on ${2 * batch} rows: ${(e as Error).message.split('\n')[0]}`, e);
    }
    for (let block = 0; block < 2; block++) {
      const part = await a.run(feed(batch, block * batch));
      for (const [name, t] of Object.entries(part)) {
        if (t.type !== 'float32' && t.type !== 'float64') continue;
        const w = whole[name]!;
        const rows = t.data.length;
        if (w.data.length !== 2 * rows) throw fail(`output '${name}' has ${w.data.length} values on ${2 * batch} rows, not ${2 * rows}`);
        for (let i = 0; i < rows; i++) {
          const p = Number(t.data[i]!);
          const q = Number(w.data[block * rows + i]!);
          if (!(Math.abs(p - q) <= 1e-4 + 1e-3 * Math.abs(p))) throw fail(`output '${name}' changes when rows are batched: ${p} alone, ${q} in a batch`);
        }
      }
    }
  } finally {
    await Promise.all([a.dispose(), b?.dispose()]);
  }
}
