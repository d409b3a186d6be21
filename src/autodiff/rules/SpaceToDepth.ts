/** SpaceToDepth: Y is a permutation of X whose inverse is DepthToSpace (mode DCR), so dX = DepthToSpace(dY). */
import type { VjpRule } from '../vjp-rule.js';

export const spaceToDepthVjp: VjpRule = {
  opType: 'SpaceToDepth',
  sinceVersion: 13,
  inputs: ['input'],
  vjp: (ctx) => ({
    input: ctx.b.op('DepthToSpace', [ctx.dY()!], { blocksize: ctx.attrs.int('blocksize'), mode: 'DCR' }, { name: 'SpaceToDepth_dX' }),
  }),
};
