/**
 * What an LSTM, GRU or RNN node asks for, read and checked once from its attributes and the probe's
 * shapes (direction, layout, hidden size, sequence length, activations with their parameters, clip,
 * GRU's linear_before_reset, LSTM's input_forget, masking by sequence_lens), and the recurrent ops'
 * activations as standard ONNX ops. unroll-recurrent.ts turns these settings into the unrolled graph.
 */
import { GibbonError } from '../errors.js';
import { Attributes, float } from '../onnx/attributes.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { Node } from '../onnx/graph.js';
import type { ValueFacts } from './probe.js';
import { unsupportedAttribute } from './vjp-rule.js';

export type Kind = 'LSTM' | 'GRU' | 'RNN';

export const GATES: Record<Kind, number> = { LSTM: 4, GRU: 3, RNN: 1 };
const ACTIVATION_COUNT: Record<Kind, number> = { LSTM: 3, GRU: 2, RNN: 1 };
const DEFAULT_ACTIVATIONS: Record<Kind, readonly string[]> = { LSTM: ['Sigmoid', 'Tanh', 'Tanh'], GRU: ['Sigmoid', 'Tanh'], RNN: ['Tanh'] };
/** Activations by lower-case name (onnxruntime reads them case-insensitively): op type and parameters, with the ONNX ops' defaults. */
const ACTIVATIONS = new Map<string, { name: string; alpha?: number; beta?: number }>(
  [
    { name: 'Sigmoid' },
    { name: 'Tanh' },
    { name: 'Relu' },
    { name: 'Softsign' },
    { name: 'Softplus' },
    { name: 'LeakyRelu', alpha: 0.01 },
    { name: 'ThresholdedRelu', alpha: 1 },
    { name: 'Elu', alpha: 1 },
    { name: 'HardSigmoid', alpha: 0.2, beta: 0.5 },
    { name: 'Affine', alpha: NaN, beta: NaN },
    { name: 'ScaledTanh', alpha: NaN, beta: NaN },
  ].map((a) => [a.name.toLowerCase(), a]),
);

export interface Activation {
  readonly name: string;
  readonly alpha: number;
  readonly beta: number;
}

export interface Settings {
  kind: Kind;
  hidden: number;
  seqLength: number;
  directions: ('forward' | 'reverse')[];
  layout: number;
  clip?: number;
  /** Activations (f, g[, h]) per direction. */
  activations: Activation[][];
  linearBeforeReset: boolean;
  inputForget: boolean;
  /** sequence_lens differs from the sequence length (or is not known to be equal to it). */
  masked: boolean;
  dataType: number;
}

export function readSettings(n: Node, facts: ReadonlyMap<string, ValueFacts>): Settings {
  const kind = n.opType as Kind;
  const a = new Attributes(n);
  const fact = (i: number): ValueFacts => {
    const v = n.inputs[i]!;
    const f = facts.get(v);
    if (!f) throw new GibbonError('internal', `no shape known for value '${v}' (input ${i} of ${kind} node '${n.name}')`);
    return f;
  };
  const where = { node: { name: n.name, opType: n.opType } };

  const direction = a.string('direction', 'forward');
  const directions: ('forward' | 'reverse')[] =
    direction === 'forward' ? ['forward'] : direction === 'reverse' ? ['reverse'] : direction === 'bidirectional' ? ['forward', 'reverse'] : [];
  if (directions.length === 0) unsupportedAttribute(n, `direction='${direction}' (valid: forward, reverse, bidirectional)`);
  const layout = a.int('layout', 0);
  if (layout !== 0 && layout !== 1) unsupportedAttribute(n, `layout=${layout} (valid: 0, 1)`);

  const x = fact(0);
  if (x.shape.length !== 3)
    throw new GibbonError('invalid_model', `input X of ${kind} node '${n.name}' should have rank 3; found [${x.shape.join(', ')}]`, where);
  const timeAxis = layout === 0 ? 0 : 1;
  const seqLength = x.shape[timeAxis];
  if (seqLength === null || seqLength === undefined) {
    unsupportedAttribute(
      n,
      `its sequence length (axis ${timeAxis} of X '${n.inputs[0]}') changes with the batch size; gibbon unrolls recurrent ops over a sequence length fixed when the gradient graph is built`,
    );
  }
  if (seqLength < 1) unsupportedAttribute(n, `sequence length ${seqLength}: an empty sequence has nothing to differentiate`);

  const w = fact(1);
  const gates = GATES[kind];
  const r = fact(2);
  const hidden = a.has('hidden_size') ? a.int('hidden_size') : r.shape[2];
  if (typeof hidden !== 'number' || hidden < 1) throw new GibbonError('invalid_model', `${kind} node '${n.name}' has no usable hidden_size`, where);
  if (w.shape.length !== 3 || w.shape[0] !== directions.length || w.shape[1] !== gates * hidden) {
    throw new GibbonError(
      'invalid_model',
      `W of ${kind} node '${n.name}' should have shape [${directions.length}, ${gates * hidden}, input_size] for direction='${direction}', hidden_size=${hidden}; found [${w.shape.join(', ')}]`,
      where,
    );
  }

  // sequence_lens: masks are needed unless it is a constant equal to the sequence length everywhere.
  const seqLens = n.inputs[4] ?? '';
  const constantLens = seqLens === '' ? undefined : facts.get(seqLens)?.constant;
  const masked = seqLens !== '' && !(constantLens && constantLens.every((l) => l === seqLength));
  const tooLong = constantLens?.find((l) => l > seqLength || l < 0);
  if (tooLong !== undefined) unsupportedAttribute(n, `sequence_lens contains ${tooLong}, outside [0, ${seqLength}] (the sequence length)`);

  const perDirection = ACTIVATION_COUNT[kind];
  let names = a.has('activations') ? a.raw('activations')!.strings.map((s) => new TextDecoder().decode(s)) : [...DEFAULT_ACTIVATIONS[kind]];
  if (names.length === perDirection && directions.length === 2) names = [...names, ...names];
  if (names.length !== perDirection * directions.length) {
    unsupportedAttribute(n, `activations=[${names.join(', ')}]: expected ${perDirection} per direction (${perDirection * directions.length} in all)`);
  }
  // activation_alpha/beta are consumed in order by the activations that take a parameter.
  const alphas = a.floats('activation_alpha', []);
  const betas = a.floats('activation_beta', []);
  let nextAlpha = 0;
  let nextBeta = 0;
  const ops = names.map((name): Activation => {
    const known = ACTIVATIONS.get(name.toLowerCase());
    if (!known) unsupportedAttribute(n, `activations contains '${name}'; supported: ${[...ACTIVATIONS.values()].map((x) => x.name).join(', ')}`);
    const alpha = known.alpha === undefined ? 0 : nextAlpha < alphas.length ? alphas[nextAlpha++]! : known.alpha;
    const beta = known.beta === undefined ? 0 : nextBeta < betas.length ? betas[nextBeta++]! : known.beta;
    if (Number.isNaN(alpha) || Number.isNaN(beta)) unsupportedAttribute(n, `activation '${name}' needs activation_alpha and activation_beta values`);
    return { name: known.name, alpha, beta };
  });
  if (nextAlpha < alphas.length || nextBeta < betas.length) {
    unsupportedAttribute(
      n,
      `activation_alpha/activation_beta have ${alphas.length}/${betas.length} values but the activations [${names.join(', ')}] take ${nextAlpha}/${nextBeta}`,
    );
  }
  const activations = directions.map((_, d) => ops.slice(d * perDirection, (d + 1) * perDirection));

  let clip: number | undefined;
  if (a.has('clip')) {
    clip = a.float('clip');
    if (!(clip > 0)) unsupportedAttribute(n, `clip=${clip} (should be positive)`);
  }
  const linearBeforeReset = kind === 'GRU' && a.int('linear_before_reset', 0) !== 0;
  const inputForget = kind === 'LSTM' && a.int('input_forget', 0) !== 0;
  return { kind, hidden, seqLength, directions, layout, clip, activations, linearBeforeReset, inputForget, masked, dataType: x.dataType };
}

/** An activation of the ONNX recurrent ops as standard ops (each with a gradient rule). */
export function activation(b: GraphBuilder, a: Activation, x: string, dataType: number, name: string): string {
  const scalar = (v: number): string => b.scalar(v, dataType);
  switch (a.name) {
    case 'LeakyRelu':
    case 'Elu':
      return b.op(a.name, [x], { alpha: float(a.alpha) }, { name });
    case 'HardSigmoid':
      return b.op(a.name, [x], { alpha: float(a.alpha), beta: float(a.beta) }, { name });
    case 'ThresholdedRelu': // x where x > alpha, else 0
      return b.op('Where', [b.op('Greater', [x, scalar(a.alpha)], {}, { name }), x, scalar(0)], {}, { name });
    case 'Affine': // alpha·x + beta
      return b.op('Add', [b.op('Mul', [x, scalar(a.alpha)], {}, { name }), scalar(a.beta)], {}, { name });
    case 'ScaledTanh': // alpha·tanh(beta·x)
      return b.op('Mul', [b.op('Tanh', [b.op('Mul', [x, scalar(a.beta)], {}, { name })], {}, { name }), scalar(a.alpha)], {}, { name });
    default:
      return b.op(a.name, [x], {}, { name });
  }
}
