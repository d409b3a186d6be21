/** Small emitters shared by gradient rules (never re-implement these in a rule). */
import type { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
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

/**
 * Zeros of `value`'s float type (`dataType`) shaped like `value`. A dynamic shape is taken with
 * Where(false, value, 0), not Expand(0, Shape(value)): onnxruntime cannot infer Expand's output
 * shape, and every value downstream would get a fresh symbolic size, which makes its session
 * set-up grow quadratically with the depth of the gradient graph.
 */
export function zerosOfShape(b: GraphBuilder, value: string, dataType: number, shape: Shape): string {
  if (!isStatic(shape)) return b.op('Where', [b.constant(DT.BOOL, [], Uint8Array.of(0), 'false'), value, b.scalar(0, dataType)], {}, { name: 'zeros_like' });
  return b.op('Expand', [b.scalar(0, dataType), shapeOf(b, value, shape)], {}, { name: 'zeros_like' });
}

/** Zeros shaped like forward value `value`. */
export function zerosLike(ctx: VjpContext, value: string): string {
  return zerosOfShape(ctx.b, value, ctx.dataType(value), ctx.shape(value));
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

/** Size of axis `axis` of `value` as a 1-element int64 tensor, read at run time. */
export function dimOf(b: GraphBuilder, value: string, axis: number): string {
  return b.op('Shape', [value], { start: axis, end: axis + 1 }, { name: 'dim' });
}

/**
 * An int64 vector from parts that are numbers or names of 1-element int64 tensors (e.g. from
 * dimOf): a constant when every part is a number, else one Concat.
 */
export function int64Vector(b: GraphBuilder, parts: readonly (number | string)[]): string {
  if (parts.every((p) => typeof p === 'number')) return b.int64s(parts as number[]);
  const pieces: string[] = [];
  let run: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') {
      run.push(p);
      continue;
    }
    if (run.length) pieces.push(b.int64s(run));
    run = [];
    pieces.push(p);
  }
  if (run.length) pieces.push(b.int64s(run));
  return pieces.length === 1 ? pieces[0]! : b.op('Concat', pieces, { axis: 0 }, { name: 'int64_vector' });
}

/** Each dimension of `value` as a number when static, else read at run time. */
export function dimParts(b: GraphBuilder, value: string, shape: Shape): (number | string)[] {
  return shape.map((d, i) => d ?? dimOf(b, value, i));
}

/** A float tensor constant of the given ONNX float type (other float types are cast from float32). */
export function floatTensor(b: GraphBuilder, dataType: number, dims: readonly number[], values: readonly number[]): string {
  if (dataType === DT.DOUBLE) return b.constant(DT.DOUBLE, dims, Float64Array.from(values), 'f64');
  const f32 = b.constant(DT.FLOAT, dims, Float32Array.from(values), 'f32');
  return dataType === DT.FLOAT ? f32 : b.op('Cast', [f32], { to: dataType });
}

/** Elements per (n, c) of an (N, C, D₁, D₂, …) value: a number when static, else an int64 scalar computed at run time. */
export function spatialCount(ctx: VjpContext, X: string): number | string {
  const spatial: Shape = ctx.shape(X).slice(2);
  if (isStatic(spatial)) return spatial.reduce((a, d) => a * d, 1);
  return ctx.b.op('ReduceProd', [ctx.b.op('Shape', [X], { start: 2 })], { keepdims: 0 });
}
