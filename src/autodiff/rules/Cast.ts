/**
 * Cast: between float types dX = Cast(dY, to = type of X). A Cast from float to an integer type is
 * a quantiser (non-differentiable, see backprop.ts); with the straight-through policy its
 * gradient arrives here at a Cast whose input is an integer: it is passed on unchanged, in float.
 */
import { isFloatType } from '../../onnx/dtypes.js';
import type { VjpRule } from '../vjp-rule.js';

export const castVjp: VjpRule = {
  opType: 'Cast',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    const dY = ctx.dY()!;
    const from = ctx.dataType(ctx.input(0));
    if (from === ctx.dataType(ctx.output(0)) || !isFloatType(from)) return { input: dY };
    return { input: ctx.b.op('Cast', [dY], { to: from }, { name: 'Cast_dX' }) };
  },
};
