/**
 * Ops that are non-decreasing in each input that may carry an interval, and ops that only move
 * elements around: both are bounded by applying the op to the lower ends and to the upper ends.
 * Inputs that are not listed as interval inputs (shapes, axes, indices, pads …) must be exact.
 */
import { DataType as DT, isFloatType } from '../../../onnx/dtypes.js';
import { bothEnds, type IntervalContext, type IntervalRule } from '../interval-rule.js';

interface MonotoneOptions {
  /** Inputs that may be intervals: 'all', or their positions (default: the first). */
  readonly intervalInputs?: 'all' | readonly number[];
  /** Outputs that get bounds (the others must be unused); default all. */
  readonly outputs?: number;
  /** Extra checks of attributes that decide monotonicity. */
  readonly check?: (ctx: IntervalContext) => void;
}

function monotone(opTypes: readonly string[], options: MonotoneOptions = {}): IntervalRule {
  const allowed = options.intervalInputs ?? [0];
  return {
    opTypes,
    bounds: (ctx) => {
      options.check?.(ctx);
      if (allowed !== 'all') {
        ctx.node.inputs.forEach((_, i) => {
          if (!allowed.includes(i)) ctx.exact(i, `input ${i} (shape, axes, indices or settings)`);
        });
      }
      return bothEnds(ctx, options.outputs ?? ctx.node.outputs.length);
    },
  };
}

const nonNegative =
  (attribute: string, fallback: number) =>
  (ctx: IntervalContext): void => {
    const v = ctx.attrs.float(attribute, fallback);
    if (!(v >= 0)) ctx.unsupported(`${attribute}=${v} makes it non-monotone`);
  };

const ELEMENTWISE_INCREASING = [
  'Relu',
  'Sigmoid',
  'Tanh',
  'Exp',
  'Log',
  'Sqrt',
  'Softplus',
  'Softsign',
  'Erf',
  'Atan',
  'Asinh',
  'Sinh',
  'Floor',
  'Ceil',
  'Round',
  'Identity',
];

export const MONOTONE_RULES: readonly IntervalRule[] = [
  monotone(ELEMENTWISE_INCREASING),
  monotone(['LeakyRelu'], { check: nonNegative('alpha', 0.01) }),
  monotone(['Elu', 'Celu'], { check: nonNegative('alpha', 1) }),
  monotone(['HardSigmoid'], { check: nonNegative('alpha', 0.2) }),
  monotone(['Selu'], {
    check: (ctx) => {
      nonNegative('alpha', 1.67326)(ctx);
      nonNegative('gamma', 1.0507)(ctx);
    },
  }),
  // min(max(x, lo), hi) is non-decreasing in x, lo and hi.
  monotone(['Clip'], { intervalInputs: 'all' }),
  monotone(['Cast'], {
    check: (ctx) => {
      const to = ctx.attrs.int('to');
      if (!isFloatType(to) && to !== DT.INT64 && to !== DT.INT32 && to !== DT.INT16 && to !== DT.INT8)
        ctx.unsupported(`a cast to data type ${to} is not monotone`);
    },
  }),
  monotone(['Dropout'], {
    outputs: 1,
    check: (ctx) => {
      const training = ctx.node.inputs[2] ? ctx.constant(ctx.exact(2, 'training_mode')) : [0];
      if (!training || training.some((v) => v !== 0))
        ctx.unsupported('training_mode is not a constant false (inference Dropout is the identity; training Dropout is random)');
    },
  }),
  // Variadic elementwise max, min, sum, mean: non-decreasing in every input.
  monotone(['Add', 'Sum', 'Mean', 'Max', 'Min'], { intervalInputs: 'all' }),
  // Pooling and reductions with non-negative weights.
  monotone(['MaxPool'], { outputs: 1 }),
  monotone(['AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceSum', 'ReduceLogSumExp']),
  monotone(['Resize'], {
    check: (ctx) => {
      const mode = ctx.attrs.string('mode', 'nearest');
      if (mode === 'cubic') ctx.unsupported("mode 'cubic' has negative interpolation weights");
    },
  }),
  // Element moves: every output element is one input element (or a constant pad value).
  monotone([
    'Flatten',
    'Reshape',
    'Transpose',
    'Squeeze',
    'Unsqueeze',
    'Slice',
    'Gather',
    'GatherElements',
    'GatherND',
    'Expand',
    'Tile',
    'Split',
    'DepthToSpace',
    'SpaceToDepth',
  ]),
  monotone(['Concat'], { intervalInputs: 'all' }),
  monotone(['Pad']),
];
