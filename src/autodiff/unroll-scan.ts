/**
 * Unrolls Scan (opset 9 and later) over its scan axis into straight-line ONNX ops, for the forward
 * graph of a gradient graph only (predictions keep running the Scan), so that backprop
 * differentiates the body like any other subgraph: every step is a copy of the body, reading its
 * slice of each scan input with Gather (a scalar index drops the scan axis, as Scan does) and its
 * state from the step before; per-step scan outputs are Unsqueezed and Concatenated.
 *
 * Semantics (ONNX Scan-9 … Scan-21): inputs are N state variables then M scan inputs
 * (`num_scan_inputs`); `scan_input_axes` / `scan_input_directions` (0 forward, 1 reverse) per scan
 * input, `scan_output_axes` / `scan_output_directions` per scan output (reverse: the last step's
 * element comes first); negative axes count from the end. Canonicalisation has already given every
 * value inside the body a model-wide unique name and moved its constants to the main graph.
 *
 * The sequence length must be static when the gradient graph is built (as for LSTM/GRU/RNN; dynamic
 * axes are made concrete through `inputShapes`). A Scan that cannot be unrolled here (opset-8 Scan
 * with its batch axis, a body holding subgraphs or recurrent ops, a dynamic or empty sequence, more
 * than MAX_UNROLLED_NODES nodes) is left as it is, and rule checking then names it.
 */
import { Attributes } from '../onnx/attributes.js';
import { MAX_UNROLLED_NODES } from '../onnx/canonicalize.js';
import type { GraphBuilder } from '../onnx/builder.js';
import { graphFromProto, subgraphAttributes, type Graph, type Node } from '../onnx/graph.js';
import type { ValueFacts } from './probe.js';

export function isScanNode(n: Node): boolean {
  return n.domain === '' && n.opType === 'Scan';
}

interface ScanPlan {
  readonly body: Graph;
  readonly states: number;
  readonly steps: number;
  readonly inputAxes: number[];
  readonly inputReverse: boolean[];
  readonly outputAxes: number[];
  readonly outputReverse: boolean[];
}

const normalizeAxis = (axis: number, rank: number): number | undefined => {
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : undefined;
};

/** How to unroll `n`, or undefined when it cannot be unrolled (the Scan then stays). */
function planScan(n: Node, facts: ReadonlyMap<string, ValueFacts>, opset: number, recurrent: (n: Node) => boolean): ScanPlan | undefined {
  if (opset < 9) return undefined;
  const a = new Attributes(n);
  const bodyProto = a.raw('body')?.g;
  if (!bodyProto) return undefined;
  const body = graphFromProto(bodyProto);
  if (body.nodes.some((x) => subgraphAttributes(x).length > 0 || recurrent(x))) return undefined;
  const m = a.int('num_scan_inputs', 0);
  const states = n.inputs.length - m;
  const k = n.outputs.length - states;
  if (m < 1 || states < 0 || k < 0 || body.inputs.length !== states + m || body.outputs.length !== states + k) return undefined;
  const inputAxes: number[] = [];
  const inputReverse: boolean[] = [];
  let steps: number | undefined;
  const axesIn = a.ints('scan_input_axes', []);
  const dirsIn = a.ints('scan_input_directions', []);
  for (let j = 0; j < m; j++) {
    const shape = facts.get(n.inputs[states + j] ?? '')?.shape;
    if (!shape) return undefined;
    const axis = normalizeAxis(axesIn[j] ?? 0, shape.length);
    const length = axis === undefined ? undefined : shape[axis];
    if (axis === undefined || typeof length !== 'number' || length < 1 || (steps !== undefined && steps !== length)) return undefined;
    steps = length;
    inputAxes.push(axis);
    inputReverse.push((dirsIn[j] ?? 0) === 1);
  }
  const outputAxes: number[] = [];
  const outputReverse: boolean[] = [];
  const axesOut = a.ints('scan_output_axes', []);
  const dirsOut = a.ints('scan_output_directions', []);
  for (let i = 0; i < k; i++) {
    const out = n.outputs[states + i] ?? '';
    const rank = facts.get(out)?.shape.length;
    const axis = rank === undefined ? ((axesOut[i] ?? 0) >= 0 ? (axesOut[i] ?? 0) : undefined) : normalizeAxis(axesOut[i] ?? 0, rank);
    if (axis === undefined) return undefined;
    outputAxes.push(axis);
    outputReverse.push((dirsOut[i] ?? 0) === 1);
  }
  if (steps === undefined || steps * Math.max(1, body.nodes.length) > MAX_UNROLLED_NODES) return undefined;
  return { body, states, steps, inputAxes, inputReverse, outputAxes, outputReverse };
}

/** Appends the unrolled form of Scan node `n` (per `plan`) through the builder. */
function unrollScan(b: GraphBuilder, n: Node, plan: ScanPlan): void {
  const { body, states, steps } = plan;
  const scanInputs = n.inputs.slice(states);
  let state = n.inputs.slice(0, states);
  const elements: string[][] = body.outputs.slice(states).map(() => []);
  for (let t = 0; t < steps; t++) {
    const map = new Map<string, string>();
    body.inputs.slice(0, states).forEach((v, i) => map.set(v.name, state[i]!));
    body.inputs.slice(states).forEach((v, j) => {
      const index = plan.inputReverse[j] ? steps - 1 - t : t;
      map.set(v.name, b.op('Gather', [scanInputs[j]!, b.int64Scalar(index)], { axis: plan.inputAxes[j]! }, { name: `${n.name}/${t}/slice${j}` }));
    });
    for (const x of body.nodes) for (const o of x.outputs) if (o) map.set(o, b.fresh(`${n.name}/${t}/${o}`));
    const r = (v: string): string => map.get(v) ?? v;
    for (const x of body.nodes) b.graph.nodes.push({ ...x, name: b.fresh(`${n.name}/${t}/${x.name}`), inputs: x.inputs.map(r), outputs: x.outputs.map(r) });
    state = body.outputs.slice(0, states).map((o) => r(o.name));
    body.outputs.slice(states).forEach((o, i) => {
      elements[i]!.push(b.op('Unsqueeze', [r(o.name), b.int64s([plan.outputAxes[i]!])], {}, { name: `${n.name}/${t}/element${i}` }));
    });
  }
  n.outputs.forEach((o, i) => {
    if (!o) return;
    if (i < states) {
      b.graph.nodes.push({ name: b.fresh(`${n.name}/state${i}`), opType: 'Identity', domain: '', inputs: [state[i]!], outputs: [o], attributes: [] });
      return;
    }
    const k = i - states;
    const parts = plan.outputReverse[k] ? [...elements[k]!].reverse() : elements[k]!;
    b.node('Concat', parts, { axis: plan.outputAxes[k]! }, { name: `${n.name}/scan_output${k}`, outputNames: [o] });
  });
}

/**
 * Rewrites every Scan of `g` that can be unrolled, in place, given the probe's facts of its values
 * (`recurrent` tells which body nodes another pass must see first). Returns the number unrolled.
 */
export function unrollScanNodes(b: GraphBuilder, facts: ReadonlyMap<string, ValueFacts>, opset: number, recurrent: (n: Node) => boolean): number {
  return b.replaceNodes((n) => {
    const plan = isScanNode(n) ? planScan(n, facts, opset, recurrent) : undefined;
    if (plan) unrollScan(b, n, plan);
    return plan !== undefined;
  });
}
