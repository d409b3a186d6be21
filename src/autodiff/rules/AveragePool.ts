/** AveragePool: Y[w] = Σ_{i∈w} X[i] / d[w], so dX = ConvTranspose(dY / d, ones) (the transpose of the window sum), cropped to X. */
import type { VjpRule } from '../vjp-rule.js';
import { floatTensor } from './common.js';
import { cropOrPad, poolWindow } from './pool-window.js';

export const averagePoolVjp: VjpRule = {
  opType: 'AveragePool',
  sinceVersion: 11,
  inputs: ['X'],
  vjp(ctx) {
    const { b, node } = ctx;
    const X = ctx.input(0);
    const type = ctx.dataType(X);
    const xShape = ctx.shape(X);
    const w = poolWindow(ctx);
    const { inSize: I, outSize: O, kernel: k, strides: s, dilations: d, padBegin: pb } = w;
    const ones = (dims: readonly number[]): string => floatTensor(b, type, dims, new Array<number>(dims.reduce((a, c) => a * c, 1)).fill(1));

    // The divisor d[w] depends on the attributes (count_include_pad, ceil_mode, pads) in ways
    // that are easy to get subtly wrong, so it is measured rather than re-derived: pooling a ones
    // image with the node's own attributes gives count[w]/d[w], and a ones-kernel Conv gives the
    // count of input cells in each window. All of it is constant and folded by onnxruntime.
    const attrs = Object.fromEntries(node.attributes.map((a) => [a.name, a]));
    const ratio = b.op('AveragePool', [ones([1, 1, ...I])], attrs, { name: 'AveragePool_ratio' });
    // The padded span the windows cover; cells past it are never read, so the ones image stops there.
    const span = O.map((o, i) => (o - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1);
    const inside = I.map((n, i) => Math.min(n, span[i]! - pb[i]!));
    const count = b.op(
      'Conv',
      [ones([1, 1, ...inside]), ones([1, 1, ...k])],
      { kernel_shape: k, strides: s, dilations: d, pads: [...pb, ...inside.map((n, i) => span[i]! - pb[i]! - n)] },
      { name: 'AveragePool_count' },
    );
    // A window holding no input cell (possible only past the end with ceil_mode) adds nothing to dX; avoid 0/0 there.
    const invDivisor = b.op('Div', [ratio, b.op('Max', [count, ones([])])], {}, { name: 'AveragePool_inv_divisor' });
    const scaled = b.op('Mul', [ctx.dY()!, invDivisor], {}, { name: 'AveragePool_scaled' });

    // Each window spreads its share over its cells: a depthwise ConvTranspose with a ones kernel.
    const C = xShape[1] ?? ctx.unsupported('a channel count known only at run time');
    const spread = b.op('ConvTranspose', [scaled, ones([C, 1, ...k])], { kernel_shape: k, strides: s, dilations: d, group: C }, { name: 'AveragePool_spread' });
    // Back from the padded span to X: drop the leading pads, then crop or zero-fill the end.
    const begin = pb.map((p) => -p);
    const end = I.map((n, i) => n + pb[i]! - span[i]!);
    return { X: cropOrPad(b, spread, begin, end, null, 'AveragePool_dX') };
  },
};
