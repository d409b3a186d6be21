/** Concat: Y = [X_0 | X_1 | …] along axis, so dX_i is the i-th block of dY (one Split). */
import type { GradMap, VjpRule } from '../vjp-rule.js';
import { dimOf, int64Vector, normalizeAxis } from './common.js';

export const concatVjp: VjpRule = {
  opType: 'Concat',
  sinceVersion: 13,
  inputs: 'variadic',
  vjp(ctx) {
    const { b } = ctx;
    const inputs = ctx.node.inputs;
    const axis = normalizeAxis(ctx.attrs.int('axis'), ctx.rank(inputs[0]!));
    const sizes = inputs.map((x) => ctx.shape(x)[axis] ?? dimOf(b, x, axis));
    const parts = b.node('Split', [ctx.dY()!, int64Vector(b, sizes)], { axis }, { outputs: inputs.length, name: 'Concat_dX' });
    const result: GradMap = {};
    inputs.forEach((_, i) => {
      result[String(i)] = ctx.needsGrad(i) ? parts[i]! : null;
    });
    return result;
  },
};
