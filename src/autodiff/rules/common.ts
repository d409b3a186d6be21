/** Small emitters shared by gradient rules (never re-implement these in a rule). */
import type { GraphBuilder } from '../../onnx/builder.js';
import type { VjpContext } from '../vjp-rule.js';

export type Shape = readonly (number | null)[];

export function isStatic(shape: Shape): shape is readonly number[] {
  return shape.every((d) => d !== null);
}

/** The shape of `value` as an int64 tensor: a constant when static, else Shape(value). */
export function shapeOf(b: GraphBuilder, value: string, shape: Shape): string {
  return isStatic(shape) ? b.int64s(shape) : b.op('Shape', [value]);
}

/** Reshape `grad` to the shape of `value`. */
export function reshapeLike(b: GraphBuilder, grad: string, value: string, shape: Shape): string {
  return b.op('Reshape', [grad, shapeOf(b, value, shape)], {}, { name: 'reshape_like' });
}

/** Zeros shaped like forward value `value`. */
export function zerosLike(ctx: VjpContext, value: string): string {
  const zero = ctx.b.scalar(0, ctx.dataType(value));
  return ctx.b.op('Expand', [zero, shapeOf(ctx.b, value, ctx.shape(value))], {}, { name: 'zeros_like' });
}

/** A scalar of the forward value's float type. */
export function scalarLike(ctx: VjpContext, value: string, x: number): string {
  return ctx.b.scalar(x, ctx.dataType(value));
}

/** Normalises a possibly negative axis. */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** The gradient of output i, or zeros shaped like that output when it does not reach the loss. */
export function dYOrZeros(ctx: VjpContext, i: number): string {
  return ctx.dY(i) ?? zerosLike(ctx, ctx.output(i));
}
