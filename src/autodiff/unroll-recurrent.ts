/**
 * Unrolls the recurrent ops LSTM, GRU and RNN over time into standard ONNX ops (MatMul, Add, Mul,
 * Sigmoid, Tanh, Split, Concat …), each of which has a gradient rule, so backprop differentiates
 * them like any other subgraph (inputs, weights W/R/B, peepholes P and initial states alike).
 * The pass is applied to the forward graph of a gradient graph only: predictions keep running the
 * native recurrent kernel, and the unrolled form computes the same values (checked to 1e-5 in
 * unroll-recurrent.test.ts).
 *
 * Semantics follow the ONNX operator specification (LSTM-14, GRU-14, RNN-14; earlier versions are
 * the same without `layout`):
 * - gate order i, o, f, c for LSTM (peepholes i, o, f), z, r, h for GRU; B holds Wb then Rb;
 * - `linear_before_reset` (GRU): h = g(x·Whᵀ + Wbh + r ⊙ (H·Rhᵀ + Rbh)) instead of
 *   g(x·Whᵀ + (r ⊙ H)·Rhᵀ + Rbh + Wbh);
 * - `direction` forward, reverse or bidirectional (Y stacks the directions on axis 1, Y_h/Y_c on 0);
 * - `clip` bounds each gate's pre-activation to [−clip, clip]; `input_forget` couples f = 1 − i;
 * - `layout` 1 means X (batch, seq, input), states (batch, directions, hidden), Y (batch, seq,
 *   directions, hidden);
 * - activations: the defaults (LSTM Sigmoid/Tanh/Tanh, GRU Sigmoid/Tanh, RNN Tanh) and every
 *   activation the spec lists (Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh,
 *   HardSigmoid, Elu, Softsign, Softplus); activation_alpha/beta are consumed in order by the
 *   activations that take them, with the ONNX ops' defaults where the lists run out.
 * The sequence length must be known when the gradient graph is built (a value the probe finds
 * static; dynamic time axes are made concrete through `inputShapes`). `sequence_lens` (constant or
 * not) masks each row's steps at or past its length: the state stays, Y is 0 there, so Y_h/Y_c hold
 * the state at each row's last step, and the reverse direction starts at each row's own last step.
 */
import { Attributes } from '../onnx/attributes.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import { topologicalSort, type Graph, type Node } from '../onnx/graph.js';
import { decodeTensor, toNumbers } from '../onnx/tensor-proto.js';
import type { ModelIR } from '../onnx/model.js';
import { probeValues, type ProbeOptions, type ValueFacts } from './probe.js';
import { isScanNode, unrollScanNodes } from './unroll-scan.js';
import { activation, GATES, readSettings, type Activation } from './recurrent-settings.js';

/** Op types this pass rewrites (default ONNX domain). */
export const RECURRENT_OP_TYPES: readonly string[] = ['LSTM', 'GRU', 'RNN'];

export function isRecurrentNode(n: Node): boolean {
  return n.domain === '' && RECURRENT_OP_TYPES.includes(n.opType);
}

/**
 * Rewrites every LSTM/GRU/RNN node, and every Scan with a static sequence length (unroll-scan.ts), of
 * the model's graph in place (probing value shapes first, only when there is such a node). Returns
 * the number of nodes unrolled.
 */
export async function unrollRecurrent(model: ModelIR, probe: ProbeOptions = {}): Promise<number> {
  const g = model.graph;
  if (!g.nodes.some((n) => isRecurrentNode(n) || isScanNode(n))) return 0;
  const facts = await probeValues(model, probe);
  const scans = unrollScanNodes(new GraphBuilder(g, 'unroll_scan'), facts, model.opset, isRecurrentNode);
  return scans + unrollRecurrentNodes(g, facts);
}

/** Rewrites every LSTM/GRU/RNN node of `g` in place, given the probe's facts of its values. */
export function unrollRecurrentNodes(g: Graph, facts: ReadonlyMap<string, ValueFacts>): number {
  const b = new GraphBuilder(g, 'unroll');
  const zero = zeroValues(g);
  return b.replaceNodes((n) => {
    if (!isRecurrentNode(n)) return false;
    unrollNode(b, n, facts, zero);
    return true;
  });
}

/** A recurrent state: a value name, or null for the zero state (no initial state given). */
type State = string | null;

function unrollNode(b: GraphBuilder, n: Node, facts: ReadonlyMap<string, ValueFacts>, zero: ReadonlySet<string>): void {
  const s = readSettings(n, facts);
  const H = s.hidden;
  const T = s.seqLength;
  const G = GATES[s.kind];
  const input = (i: number): string => n.inputs[i] ?? '';
  const name = `${n.name || n.opType}`;
  const op = (type: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string => b.op(type, inputs, attrs, { name: `${name}/${type}` });
  const slice = (v: string, start: number, end: number, axis: number): string => op('Slice', [v, b.int64s([start]), b.int64s([end]), b.int64s([axis])]);
  const squeeze = (v: string, axis: number): string => op('Squeeze', [v, b.int64s([axis])]);
  const unsqueeze = (v: string, axes: number[]): string => op('Unsqueeze', [v, b.int64s(axes)]);
  const one = (): string => b.scalar(1, s.dataType);
  const clip = (v: string): string => (s.clip === undefined ? v : op('Clip', [v, b.scalar(-s.clip, s.dataType), b.scalar(s.clip, s.dataType)]));
  const act = (a: Activation, v: string): string => activation(b, a, clip(v), s.dataType, `${name}/${a.name}`);
  /** pre + state·Mᵀ (Mᵀ given), or pre alone for the zero state. */
  const plusState = (pre: string, state: State, mT: string): string => (state === null ? pre : op('Add', [pre, op('MatMul', [state, mT])]));
  const splitCols = (v: string, parts: number): string[] =>
    parts === 1 ? [v] : b.node('Split', [v, b.int64s(Array(parts).fill(H))], { axis: 2 }, { outputs: parts, name: `${name}/Split` });

  // Time first: X (T, batch, input). Per step every value keeps a leading axis of 1, (1, batch, k),
  // so steps need no Squeeze/Unsqueeze (whose gradients add a Shape and a Reshape each).
  const x = s.layout === 0 ? input(0) : op('Transpose', [input(0)], { perm: [1, 0, 2] });
  const stateAxis = s.layout === 0 ? 0 : 1; // initial states: (directions, batch, hidden) or (batch, directions, hidden)
  const initialState = (i: number, d: number): State => {
    if (input(i) === '' || zero.has(input(i))) return null; // as exported by PyTorch when no state is passed
    const state = slice(input(i), d, d + 1, stateAxis);
    return s.layout === 0 ? state : op('Transpose', [state], { perm: [1, 0, 2] });
  };

  // Per step t, with sequence_lens: m_t = (t < len) as (1, batch, 1); the state moves only where
  // m_t = 1 (state = m·fresh + (1 − m)·state) and Y is m·fresh.
  let masks: string[] | null = null;
  if (s.masked) {
    const lens = op('Reshape', [b.op('Cast', [input(4)], { to: DT.INT64 }, { name: `${name}/Cast` }), b.int64s([1, -1, 1])]);
    masks = Array.from({ length: T }, (_, t) => b.op('Cast', [op('Less', [b.int64Scalar(t), lens])], { to: s.dataType }, { name: `${name}/mask` }));
  }
  const step = (t: number, fresh: string, prev: State): string => {
    if (!masks) return fresh;
    const kept = op('Mul', [masks[t]!, fresh]);
    return prev === null ? kept : op('Add', [kept, op('Mul', [op('Sub', [one(), masks[t]!]), prev])]);
  };

  const hsByDirection: string[][] = [];
  const lastH: string[] = [];
  const lastC: string[] = [];
  s.directions.forEach((direction, d) => {
    const [f, g, h] = s.activations[d]!;
    const wT = op('Transpose', [squeeze(slice(input(1), d, d + 1, 0), 0)]); // (input, G·H)
    const rT = op('Transpose', [squeeze(slice(input(2), d, d + 1, 0), 0)]); // (H, G·H)
    let xw = op('MatMul', [x, wT]); // (T, batch, G·H)
    let recurrentBiasH: string | null = null; // GRU linear_before_reset: Rbh stays inside r ⊙ (…)
    if (input(3) !== '') {
      const bias = squeeze(slice(input(3), d, d + 1, 0), 0); // (2·G·H): Wb then Rb
      const wb = slice(bias, 0, G * H, 0);
      const rb = slice(bias, G * H, 2 * G * H, 0);
      if (s.linearBeforeReset) {
        // Wb + Rb with Rbh masked out (it is added inside r ⊙ (…) instead).
        const keepZr = floatConstant(
          b,
          s.dataType,
          Array.from({ length: G * H }, (_, k) => (k < 2 * H ? 1 : 0)),
        );
        xw = op('Add', [xw, op('Add', [wb, op('Mul', [rb, keepZr])])]);
        recurrentBiasH = slice(rb, 2 * H, 3 * H, 0);
      } else {
        xw = op('Add', [xw, op('Add', [wb, rb])]);
      }
    }
    // Each (1, batch, G·H).
    const xs = T === 1 ? [xw] : b.node('Split', [xw, b.int64s(Array(T).fill(1))], { axis: 0 }, { outputs: T, name: `${name}/Split` });

    let peep: string[] | null = null;
    if (s.kind === 'LSTM' && input(7) !== '') {
      const p = squeeze(slice(input(7), d, d + 1, 0), 0); // (3·H): i, o, f
      peep = [0, 1, 2].map((k) => slice(p, k * H, (k + 1) * H, 0));
    }
    let rTh: string | null = null;
    let rTzr: string | null = null;
    if (s.kind === 'GRU' && !s.linearBeforeReset) {
      rTzr = slice(rT, 0, 2 * H, 1);
      rTh = slice(rT, 2 * H, 3 * H, 1);
    }

    let hPrev: State = initialState(5, d);
    let cPrev: State = s.kind === 'LSTM' ? initialState(6, d) : null;
    const hs: string[] = new Array<string>(T);
    const order = direction === 'forward' ? [...Array(T).keys()] : [...Array(T).keys()].reverse();
    for (const t of order) {
      let hNext: string;
      if (s.kind === 'LSTM') {
        const gates = splitCols(plusState(xs[t]!, hPrev, rT), 4);
        let [iPre, oPre, fPre] = gates as [string, string, string];
        const cPre = gates[3]!;
        if (peep && cPrev !== null) {
          iPre = op('Add', [iPre, op('Mul', [peep[0]!, cPrev])]);
          fPre = op('Add', [fPre, op('Mul', [peep[2]!, cPrev])]);
        }
        const iGate = act(f!, iPre);
        const fGate = s.inputForget ? op('Sub', [one(), iGate]) : act(f!, fPre);
        const candidate = act(g!, cPre);
        const fresh = op('Mul', [iGate, candidate]);
        const cNext = cPrev === null ? fresh : op('Add', [op('Mul', [fGate, cPrev]), fresh]);
        if (peep) oPre = op('Add', [oPre, op('Mul', [peep[1]!, cNext])]);
        const oGate = act(f!, oPre);
        hNext = op('Mul', [oGate, activation(b, h!, cNext, s.dataType, `${name}/${h!.name}`)]);
        cPrev = step(t, cNext, cPrev);
      } else if (s.kind === 'GRU') {
        const [xzr, xh] = [slice(xs[t]!, 0, 2 * H, 2), slice(xs[t]!, 2 * H, 3 * H, 2)];
        let zrPre: string;
        let hPre: string;
        if (s.linearBeforeReset) {
          // All three recurrent products at once; r multiplies H·Rhᵀ + Rbh.
          const [zPart, rPart, hPart] = hPrev === null ? [null, null, null] : splitCols(op('MatMul', [hPrev, rT]), 3);
          zrPre = hPrev === null ? xzr : op('Add', [xzr, op('Concat', [zPart!, rPart!], { axis: 2 })]);
          const [zPre, rPre] = splitCols(zrPre, 2) as [string, string];
          const z = act(f!, zPre);
          const r = act(f!, rPre);
          const inner = hPart === null ? recurrentBiasH : recurrentBiasH === null ? hPart : op('Add', [hPart!, recurrentBiasH]);
          hPre = inner === null ? xh : op('Add', [xh, op('Mul', [r, inner])]);
          hNext = gruUpdate(op, act(g!, hPre), z, hPrev);
        } else {
          zrPre = plusState(xzr, hPrev, rTzr!);
          const [zPre, rPre] = splitCols(zrPre, 2) as [string, string];
          const z = act(f!, zPre);
          const r = act(f!, rPre);
          hPre = hPrev === null ? xh : op('Add', [xh, op('MatMul', [op('Mul', [r, hPrev]), rTh!])]);
          hNext = gruUpdate(op, act(g!, hPre), z, hPrev);
        }
      } else {
        hNext = act(f!, plusState(xs[t]!, hPrev, rT));
      }
      hs[t] = masks ? op('Mul', [masks[t]!, hNext]) : hNext;
      hPrev = step(t, hNext, hPrev);
    }
    hsByDirection.push(hs);
    lastH.push(hPrev!);
    if (cPrev !== null) lastC.push(cPrev);
  });

  const concat = (vs: string[], axis: number): string => (vs.length === 1 ? vs[0]! : op('Concat', vs, { axis }));
  const emit = (i: number, v: string): void => {
    b.node('Identity', [v], {}, { outputNames: [n.outputs[i]!], name: `${name}/out` });
  };
  if ((n.outputs[0] ?? '') !== '') {
    // Y: (T, directions, batch, hidden), or (batch, T, directions, hidden) with layout 1.
    const perDirection = hsByDirection.map((hs) => unsqueeze(concat(hs, 0), [1]));
    const y = concat(perDirection, 1);
    emit(0, s.layout === 0 ? y : op('Transpose', [y], { perm: [2, 0, 1, 3] }));
  }
  const finalState = (vs: string[]): string => {
    const st = concat(vs, 0);
    return s.layout === 0 ? st : op('Transpose', [st], { perm: [1, 0, 2] });
  };
  if ((n.outputs[1] ?? '') !== '') emit(1, finalState(lastH));
  if (s.kind === 'LSTM' && (n.outputs[2] ?? '') !== '') emit(2, finalState(lastC));
}

/** Ops whose output is zero wherever their first input is zero (they only move or copy values). */
const ZERO_PRESERVING = new Set([
  'Identity',
  'Cast',
  'CastLike',
  'Expand',
  'Reshape',
  'Squeeze',
  'Unsqueeze',
  'Slice',
  'Transpose',
  'Flatten',
  'Tile',
  'Gather',
]);

/**
 * Values that are all zeros whatever the input: ConstantOfShape of 0 (how PyTorch exports a
 * missing initial state) and reshapes or copies of it. A zero initial state is then the zero state,
 * which needs no computation and keeps the unrolled graph free of shapes onnxruntime cannot relate
 * to the batch. Zero initializers do not count: they may be parameters (a learned initial state
 * that starts at zero) whose gradient is wanted.
 */
function zeroValues(g: Graph): Set<string> {
  const zero = new Set<string>();
  for (const n of topologicalSort(g)) {
    if (n.domain !== '') continue;
    let isZero = false;
    if (n.opType === 'ConstantOfShape') {
      const value = new Attributes(n).tensor('value');
      isZero = !value || toNumbers(decodeTensor(value)).every((v) => v === 0);
    } else if (ZERO_PRESERVING.has(n.opType)) {
      isZero = zero.has(n.inputs[0] ?? '');
    } else if (n.opType === 'Concat') {
      isZero = n.inputs.every((i) => zero.has(i));
    }
    if (isZero) for (const o of n.outputs) if (o) zero.add(o);
  }
  return zero;
}

/** H = (1 − z) ⊙ h + z ⊙ H_prev = h + z ⊙ (H_prev − h); for the zero state, h − z ⊙ h. */
function gruUpdate(op: (type: string, inputs: string[]) => string, candidate: string, z: string, hPrev: State): string {
  if (hPrev === null) return op('Sub', [candidate, op('Mul', [z, candidate])]);
  return op('Add', [candidate, op('Mul', [z, op('Sub', [hPrev, candidate])])]);
}

/** A 1-D constant of the given float type (float32 data cast for types other than float/double). */
function floatConstant(b: GraphBuilder, dataType: number, values: number[]): string {
  if (dataType === DT.DOUBLE) return b.constant(DT.DOUBLE, [values.length], Float64Array.from(values), 'mask');
  const v = b.constant(DT.FLOAT, [values.length], Float32Array.from(values), 'mask');
  return dataType === DT.FLOAT ? v : b.op('Cast', [v], { to: dataType });
}
