/**
 * Affine ops in centre/radius form (Gowal et al. 2018, eq. 6): for y = W·x + b with x in
 * [mid − rad, mid + rad], y lies in [W·mid + b − |W|·rad, W·mid + b + |W|·rad]. |W| is an Abs node
 * on the weight; onnxruntime folds it into a constant when the weight is an initializer.
 */
import { DataType as DT } from '../../../onnx/dtypes.js';
import { float } from '../../../onnx/attributes.js';
import { attributesOf, centreRadius, interval, fromCentreRadius, type BoundValue, type IntervalContext, type IntervalRule } from '../interval-rule.js';

function onlyFirstOutput(ctx: IntervalContext): void {
  for (let i = 1; i < ctx.node.outputs.length; i++) {
    if (ctx.used(i)) ctx.unsupported(`its output ${i} ('${ctx.node.outputs[i]}') is used; only the first output has interval bounds`);
  }
}

/**
 * A bilinear op f(A, B) (+ bias) with one interval operand and one exact operand: the centre goes
 * through f with the exact operand, the radius through f with its absolute value.
 */
function linearInOne(ctx: IntervalContext, emit: (a: string, b: string, rad: boolean) => string): BoundValue[] {
  const a = ctx.input(0);
  const w = ctx.input(1);
  if (a.kind === 'interval' && w.kind === 'interval') ctx.unsupported('both operands depend on the input (a product of two intervals is not affine)');
  const name = ctx.node.name;
  if (a.kind === 'interval') {
    const { mid, rad } = centreRadius(ctx.b, a, name);
    const wExact = ctx.exact(1, 'weights');
    return [fromCentreRadius(ctx.b, emit(mid, wExact, false), emit(rad, ctx.b.op('Abs', [wExact], {}, { name: `${name}/abs_weight` }), true), name)];
  }
  if (w.kind === 'interval') {
    const { mid, rad } = centreRadius(ctx.b, w, name);
    const aExact = ctx.exact(0, 'left operand');
    return [fromCentreRadius(ctx.b, emit(aExact, mid, false), emit(ctx.b.op('Abs', [aExact], {}, { name: `${name}/abs_left` }), rad, true), name)];
  }
  return ctx.unsupported('internal: called without an interval input');
}

const gemm: IntervalRule = {
  opTypes: ['Gemm'],
  bounds: (ctx) => {
    const alpha = ctx.attrs.float('alpha', 1);
    const beta = ctx.attrs.float('beta', 1);
    const c = ctx.input(2);
    const withBias = c.kind === 'exact' && c.name !== '';
    if (c.kind === 'interval' && ctx.input(0).kind === 'exact' && ctx.input(1).kind === 'exact') {
      // Only the bias varies: the output is monotone in it, increasing for β ≥ 0.
      const [a, b] = [ctx.exact(0, ''), ctx.exact(1, '')];
      const at = (v: string, side: string): string => ctx.b.op('Gemm', [a, b, v], attributesOf(ctx.node), { name: `${ctx.node.name}/${side}` });
      return beta >= 0 ? [interval(at(c.lower, 'lower'), at(c.upper, 'upper'))] : [interval(at(c.upper, 'lower'), at(c.lower, 'upper'))];
    }
    if (c.kind === 'interval') {
      // α·A·B + β·C with an interval C as well: centre and radius of C join those of the product.
      const { mid: cMid, rad: cRad } = centreRadius(ctx.b, c, `${ctx.node.name}/C`);
      return linearInOne(ctx, (a, b, rad) =>
        ctx.b.op('Gemm', [a, b, rad ? cRad : cMid], attributesOf(ctx.node, rad ? { alpha: float(Math.abs(alpha)), beta: float(Math.abs(beta)) } : {}), {
          name: ctx.node.name,
        }),
      );
    }
    return linearInOne(ctx, (a, b, rad) =>
      rad
        ? ctx.b.op('Gemm', [a, b], attributesOf(ctx.node, { alpha: float(Math.abs(alpha)), beta: undefined }), { name: `${ctx.node.name}/rad` })
        : ctx.b.op('Gemm', withBias ? [a, b, c.name] : [a, b], attributesOf(ctx.node), { name: `${ctx.node.name}/mid` }),
    );
  },
};

const matMul: IntervalRule = {
  opTypes: ['MatMul'],
  bounds: (ctx) => linearInOne(ctx, (a, b, rad) => ctx.b.op('MatMul', [a, b], {}, { name: `${ctx.node.name}/${rad ? 'rad' : 'mid'}` })),
};

/** Conv and ConvTranspose: linear in X for constant weights; the bias goes to the centre only. */
const convolution: IntervalRule = {
  opTypes: ['Conv', 'ConvTranspose'],
  bounds: (ctx) => {
    const x = ctx.input(0);
    if (x.kind !== 'interval') return ctx.unsupported('internal: called without an interval input');
    const w = ctx.exact(1, 'weights');
    const bias = ctx.exact(2, 'bias');
    const name = ctx.node.name;
    const { mid, rad } = centreRadius(ctx.b, x, name);
    const attrs = attributesOf(ctx.node);
    const midOut = ctx.b.op(ctx.node.opType, bias ? [mid, w, bias] : [mid, w], attrs, { name: `${name}/mid` });
    const radOut = ctx.b.op(ctx.node.opType, [rad, ctx.b.op('Abs', [w], {}, { name: `${name}/abs_weight` })], attrs, { name: `${name}/rad` });
    return [fromCentreRadius(ctx.b, midOut, radOut, name)];
  },
};

/**
 * Inference-mode BatchNormalization, a per-channel affine map a·x + c with a = scale/√(var + ε):
 * the centre goes through the node as it is, the radius through the same node with |scale| and zero
 * mean and bias (|a|·rad), so a negative scale flips nothing it should not.
 */
const batchNormalization: IntervalRule = {
  opTypes: ['BatchNormalization'],
  bounds: (ctx) => {
    if (ctx.attrs.int('training_mode', 0) !== 0) ctx.unsupported('training_mode=1 (batch statistics); export the model in inference mode');
    onlyFirstOutput(ctx);
    const x = ctx.input(0);
    if (x.kind !== 'interval') return ctx.unsupported('internal: called without an interval input');
    const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.exact(i, 'scale, bias, mean and variance'));
    const name = ctx.node.name;
    const { mid, rad } = centreRadius(ctx.b, x, name);
    const attrs = attributesOf(ctx.node);
    const zero = ctx.b.scalar(0, DT.FLOAT);
    const midOut = ctx.b.op('BatchNormalization', [mid, scale!, bias!, mean!, variance!], attrs, { name: `${name}/mid` });
    const radOut = ctx.b.op(
      'BatchNormalization',
      [rad, ctx.b.op('Abs', [scale!]), ctx.b.op('Mul', [bias!, zero]), ctx.b.op('Mul', [mean!, zero]), variance!],
      attrs,
      { name: `${name}/rad` },
    );
    return [fromCentreRadius(ctx.b, midOut, radOut, name)];
  },
};

export const AFFINE_RULES: readonly IntervalRule[] = [gemm, matMul, convolution, batchNormalization];
