/**
 * Elementwise arithmetic whose direction depends on signs: Sub (decreasing in its second input),
 * Neg, Abs, and the sign-aware products Mul and Div. A product of intervals lies between the
 * smallest and the largest of the products of their ends; that also covers a product with an exact
 * value of unknown sign (its two ends coincide), with broadcasting as in the model.
 */
import { interval, type BoundValue, type Interval, type IntervalContext, type IntervalRule } from '../interval-rule.js';

function ends(v: BoundValue): Interval {
  return v.kind === 'interval' ? v : interval(v.name, v.name);
}

function product(ctx: IntervalContext, op: 'Mul' | 'Div', a: Interval, c: Interval): Interval {
  const b = ctx.b;
  const name = ctx.node.name;
  // With one exact side, [l·c, u·c] (two products) suffice.
  const pairs =
    a.lower === a.upper
      ? [
          [a.lower, c.lower],
          [a.lower, c.upper],
        ]
      : c.lower === c.upper
        ? [
            [a.lower, c.lower],
            [a.upper, c.lower],
          ]
        : [
            [a.lower, c.lower],
            [a.lower, c.upper],
            [a.upper, c.lower],
            [a.upper, c.upper],
          ];
  const candidates = pairs.map(([x, y]) => b.op(op, [x!, y!], {}, { name: `${name}/${op.toLowerCase()}` }));
  return interval(b.op('Min', candidates, {}, { name: `${name}/lower` }), b.op('Max', candidates, {}, { name: `${name}/upper` }));
}

const sub: IntervalRule = {
  opTypes: ['Sub'],
  bounds: (ctx) => {
    const [a, c] = [ends(ctx.input(0)), ends(ctx.input(1))];
    const name = ctx.node.name;
    return [interval(ctx.b.op('Sub', [a.lower, c.upper], {}, { name: `${name}/lower` }), ctx.b.op('Sub', [a.upper, c.lower], {}, { name: `${name}/upper` }))];
  },
};

const neg: IntervalRule = {
  opTypes: ['Neg'],
  bounds: (ctx) => {
    const a = ends(ctx.input(0));
    return [interval(ctx.b.op('Neg', [a.upper], {}, { name: `${ctx.node.name}/lower` }), ctx.b.op('Neg', [a.lower], {}, { name: `${ctx.node.name}/upper` }))];
  },
};

/** |x| on [l, u]: at least max(l, −u, 0), at most max(|l|, |u|). */
const abs: IntervalRule = {
  opTypes: ['Abs'],
  bounds: (ctx) => {
    const a = ends(ctx.input(0));
    const b = ctx.b;
    const name = ctx.node.name;
    const lower = b.op('Max', [a.lower, b.op('Neg', [a.upper]), b.scalar(0)], {}, { name: `${name}/lower` });
    const upper = b.op('Max', [b.op('Abs', [a.lower]), b.op('Abs', [a.upper])], {}, { name: `${name}/upper` });
    return [interval(lower, upper)];
  },
};

const mul: IntervalRule = {
  opTypes: ['Mul'],
  bounds: (ctx) => [product(ctx, 'Mul', ends(ctx.input(0)), ends(ctx.input(1)))],
};

/**
 * a / c. An interval divisor that keeps one sign has 1/c in [1/u, 1/l]; one that may reach zero
 * gives an unbounded quotient (−∞, +∞), which is sound and certifies nothing.
 */
const div: IntervalRule = {
  opTypes: ['Div'],
  bounds: (ctx) => {
    const a = ends(ctx.input(0));
    const divisor = ctx.input(1);
    if (divisor.kind === 'exact') return [product(ctx, 'Div', a, ends(divisor))];
    const b = ctx.b;
    const name = ctx.node.name;
    const one = b.scalar(1);
    const oneSign = b.op('Greater', [b.op('Mul', [divisor.lower, divisor.upper]), b.scalar(0)], {}, { name: `${name}/one_sign` });
    const infinite = b.scalar(Infinity);
    const recipLower = b.op('Where', [oneSign, b.op('Div', [one, divisor.upper]), b.op('Neg', [infinite])], {}, { name: `${name}/recip_lower` });
    const recipUpper = b.op('Where', [oneSign, b.op('Div', [one, divisor.lower]), infinite], {}, { name: `${name}/recip_upper` });
    return [product(ctx, 'Mul', a, interval(recipLower, recipUpper))];
  },
};

/**
 * Softmax along an axis: output i is increasing in input i and decreasing in the others, so
 * lower_i = e^{l_i} / (e^{l_i} + Σ_{j≠i} e^{u_j}) and upper_i = e^{u_i} / (e^{u_i} + Σ_{j≠i} e^{l_j}).
 * Everything is shifted by max(u) along the axis (which cancels) so nothing overflows.
 */
const softmax: IntervalRule = {
  opTypes: ['Softmax'],
  bounds: (ctx) => {
    const a = ends(ctx.input(0));
    const b = ctx.b;
    const name = ctx.node.name;
    const axis = ctx.attrs.int('axis', -1);
    const axes = b.int64s([axis]);
    const shift = b.op('ReduceMax', [a.upper, axes], { keepdims: 1 }, { name: `${name}/shift` });
    const expLower = b.op('Exp', [b.op('Sub', [a.lower, shift])], {}, { name: `${name}/exp_lower` });
    const expUpper = b.op('Exp', [b.op('Sub', [a.upper, shift])], {}, { name: `${name}/exp_upper` });
    const sumLower = b.op('ReduceSum', [expLower, axes], { keepdims: 1 }, { name: `${name}/sum_lower` });
    const sumUpper = b.op('ReduceSum', [expUpper, axes], { keepdims: 1 }, { name: `${name}/sum_upper` });
    // Σ_{j≠i} e^{u_j} = Σ_j e^{u_j} − e^{u_i}, kept ≥ 0 against rounding.
    const zero = b.scalar(0);
    const othersUpper = b.op('Max', [b.op('Sub', [sumUpper, expUpper]), zero]);
    const othersLower = b.op('Max', [b.op('Sub', [sumLower, expLower]), zero]);
    const lowerRaw = b.op('Div', [expLower, b.op('Add', [expLower, othersUpper])], {}, { name: `${name}/lower_raw` });
    const upperRaw = b.op('Div', [expUpper, b.op('Add', [expUpper, othersLower])], {}, { name: `${name}/upper_raw` });
    // Numerator and denominator can underflow to 0 together (0/0): the bounds are then 0 and 1.
    const lower = b.op('Where', [b.op('IsNaN', [lowerRaw]), zero, lowerRaw], {}, { name: `${name}/lower` });
    const upper = b.op('Where', [b.op('IsNaN', [upperRaw]), b.scalar(1), upperRaw], {}, { name: `${name}/upper` });
    return [interval(lower, upper)];
  },
};

export const ARITHMETIC_RULES: readonly IntervalRule[] = [sub, neg, abs, mul, div, softmax];
