/**
 * Shared by the gradient rules of quantised ops (MatMulInteger, ConvInteger, QLinearMatMul,
 * QLinearConv, DequantizeLinear, DynamicQuantizeLinear).
 *
 * Formulation. Integer linear algebra is the exact linear map of its dequantised operands, so its
 * gradient is the float op's gradient (MatMul, Conv) with the dequantised operands put in place of
 * the integer ones; only roundings (inside DynamicQuantizeLinear, and of QLinear* outputs) are
 * differentiated straight-through, and those rules are marked so backprop reports the nodes.
 *
 * Units of a gradient with respect to an integer tensor q (treated as a real number):
 * - MatMulInteger and ConvInteger know no scales (their int32 output is scaled by later float ops),
 *   so their gradients are with respect to q itself ("raw" units): dq = ∂L/∂q. DynamicQuantizeLinear,
 *   which feeds them, turns that into dx = dq / scale.
 * - QLinearMatMul, QLinearConv and DequantizeLinear know the scale of each operand, and their
 *   gradients are with respect to the real value q stands for, (q − zero_point)·scale ("dequantised"
 *   units). In those units DequantizeLinear's gradient is the identity, and QuantizeLinear's
 *   straight-through estimate (the 'identity' policy for non-differentiable ops) is the identity too,
 *   so QuantizeLinear → QLinearConv → … → DequantizeLinear chains give the float model's gradient.
 * The formats quantisers write (onnxruntime's dynamic format: DynamicQuantizeLinear → MatMulInteger /
 * ConvInteger → Cast → Mul; its static QOperator and QDQ formats: QuantizeLinear → QLinear* or
 * DequantizeLinear) each stay within one convention. A graph that mixes them (DynamicQuantizeLinear
 * feeding a QLinear op) would get a gradient off by the positive scale factor at that junction.
 */
import { DataType as DT } from '../../onnx/dtypes.js';
import type { VjpContext } from '../vjp-rule.js';

/**
 * (Cast(q) − zero_point) · scale in float32, from the integer tensor q. `zeroPoint` and `scale` may
 * be omitted (''); a 1-D zero point or scale with more than one element applies along `axis` of q
 * (rows of a matrix, output channels of a weight).
 */
export function dequantised(ctx: VjpContext, q: string, zeroPoint: string, scale: string, axis: number): string {
  const { b } = ctx;
  const rank = ctx.rank(q);
  // v: a parameter's float value, `shape`: the parameter's.
  const along = (v: string, shape: readonly (number | null)[]): string => {
    if (shape.length === 0 || (shape.length === 1 && shape[0] === 1)) return v;
    if (shape.length !== 1) ctx.unsupported(`quantisation parameter of rank ${shape.length} (expected a scalar or a 1-D tensor)`);
    const a = axis < 0 ? axis + rank : axis;
    const trailing = Array.from({ length: rank - 1 - a }, (_, i) => i + 1);
    return trailing.length ? b.op('Unsqueeze', [v, b.int64s(trailing)], {}, { name: 'dequantise_axis' }) : v;
  };
  const asFloat = (v: string): string => (ctx.dataType(v) === DT.FLOAT ? v : b.op('Cast', [v], { to: DT.FLOAT }, { name: 'dequantise' }));
  let x = asFloat(q);
  if (zeroPoint) x = b.op('Sub', [x, along(asFloat(zeroPoint), ctx.shape(zeroPoint))], {}, { name: 'dequantise' });
  if (scale) x = b.op('Mul', [x, along(asFloat(scale), ctx.shape(scale))], {}, { name: 'dequantise' });
  return x;
}

/**
 * The context a float rule (MatMul, Conv) sees when it differentiates a quantised op: its input i is
 * operands[i] (a float value shaped like the quantised input it replaces), only the listed inputs
 * may need gradients, and the output is float.
 */
export function floatView(ctx: VjpContext, operands: readonly { value: string; replaces: string; needsGrad: boolean }[]): VjpContext {
  const alias = new Map<string, string>();
  for (const o of operands) alias.set(o.value, o.replaces);
  const real = (v: string): string => alias.get(v) ?? v;
  const floats = new Set([...alias.keys(), ctx.output(0)]);
  return {
    ...ctx,
    input: (i) => operands[i]?.value ?? '',
    needsGrad: (i) => operands[i]?.needsGrad ?? false,
    shape: (v) => ctx.shape(real(v)),
    rank: (v) => ctx.rank(real(v)),
    dataType: (v) => (floats.has(v) ? DT.FLOAT : ctx.dataType(v)),
    constant: (v) => (alias.has(v) ? undefined : ctx.constant(v)),
    unbroadcast: (grad, v) => ctx.unbroadcast(grad, real(v)),
  };
}

/**
 * The clipped straight-through estimate of a saturating rounding, as PyTorch's FakeQuantize
 * differentiates it: y = saturate(round(acc / y_scale) + y_zero_point) passes dY (in dequantised
 * units) where round(acc / y_scale) + y_zero_point lies in the output type's range, and 0 where it
 * saturated (this is also how a ReLU fused into the output range acts). `acc` is the float value
 * before rounding, recomputed from the dequantised operands: the output alone cannot tell a
 * saturated value from one that rounded to the bound.
 */
export function unsaturated(ctx: VjpContext, dY: string, acc: string, yScale: string, yZero: string, yType: number): string {
  const { b } = ctx;
  const range: Record<number, [number, number]> = { [DT.UINT8]: [0, 255], [DT.INT8]: [-128, 127], [DT.UINT16]: [0, 65535], [DT.INT16]: [-32768, 32767] };
  const bounds = range[yType];
  if (!bounds) ctx.unsupported(`quantised output of data type ${yType} (expected uint8, int8, uint16 or int16)`);
  let t = b.op('Div', [acc, yScale], {}, { name: 'saturation' });
  if (yZero) t = b.op('Add', [t, b.op('Cast', [yZero], { to: DT.FLOAT })], {}, { name: 'saturation' });
  const inside = b.op(
    'And',
    [b.op('GreaterOrEqual', [t, b.scalar(bounds[0] - 0.5)]), b.op('Less', [t, b.scalar(bounds[1] + 0.5)])],
    {},
    { name: 'saturation' },
  );
  return b.op('Mul', [dY, b.op('Cast', [inside], { to: DT.FLOAT })], {}, { name: 'saturation_dY' });
}
