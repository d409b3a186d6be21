/**
 * DepthToSpace: Y is a permutation of X, so dX is dY permuted back. For mode DCR that inverse is
 * SpaceToDepth; for CRD, channel c·b² + i·b + j of X went to pixel (h·b + i, w·b + j) of channel c.
 */
import type { VjpRule } from '../vjp-rule.js';
import { dimOf, int64Vector } from './common.js';

export const depthToSpaceVjp: VjpRule = {
  opType: 'DepthToSpace',
  sinceVersion: 13,
  inputs: ['input'],
  vjp(ctx) {
    const { b } = ctx;
    const dY = ctx.dY()!;
    const blocksize = ctx.attrs.int('blocksize');
    if (ctx.attrs.string('mode', 'DCR') === 'DCR') {
      return { input: b.op('SpaceToDepth', [dY], { blocksize }, { name: 'DepthToSpace_dX' }) };
    }
    const X = ctx.input(0);
    const [, c, h, w] = ctx.shape(X);
    const dim = (d: number | null | undefined, axis: number): number | string => d ?? dimOf(b, X, axis);
    const channels = c === null || c === undefined ? b.op('Div', [dimOf(b, X, 1), b.int64s([blocksize * blocksize])]) : c / (blocksize * blocksize);
    // 0 keeps the batch size, which may only be known at run time.
    const blocks = b.op('Reshape', [dY, int64Vector(b, [0, channels, dim(h, 2), blocksize, dim(w, 3), blocksize])], {}, { name: 'DepthToSpace_blocks' });
    const moved = b.op('Transpose', [blocks], { perm: [0, 1, 3, 5, 2, 4] });
    return { input: b.op('Reshape', [moved, int64Vector(b, [0, dim(c, 1), dim(h, 2), dim(w, 3)])], {}, { name: 'DepthToSpace_dX' }) };
  },
};
