/**
 * The contract of an interval rule (interval bound propagation, IBP). A rule is data: the op types
 * it handles and `bounds`, which emits ONNX nodes computing a lower and an upper bound of each
 * output from bounds of the inputs. The emitted bounds must be sound: for every input inside its
 * interval, the output lies inside the output interval. Values that do not depend on the
 * classifier's input (weights, shapes, constants) stay exact and keep their names.
 */
import { GibbonError } from '../../errors.js';
import type { Attributes, AttrValue } from '../../onnx/attributes.js';
import type { GraphBuilder } from '../../onnx/builder.js';
import type { Node } from '../../onnx/graph.js';

/** A value of the bound graph: exact (same as in the classifier), or an interval [lower, upper]. */
export type BoundValue = { readonly kind: 'exact'; readonly name: string } | { readonly kind: 'interval'; readonly lower: string; readonly upper: string };

export type Interval = Extract<BoundValue, { kind: 'interval' }>;

export interface IntervalContext {
  readonly node: Node;
  readonly attrs: Attributes;
  readonly b: GraphBuilder;
  /** Bounds of input i; an omitted optional input reads as exact ''. */
  input(i: number): BoundValue;
  /** The exact value of input i; fails (naming the node) when it depends on the classifier's input. */
  exact(i: number, why: string): string;
  /** Whether output i is read by another node or is a graph output. */
  used(i: number): boolean;
  /** The constant value of an initializer, or undefined. */
  constant(value: string): readonly number[] | undefined;
  /** Throws an unsupported-op error naming this node. */
  unsupported(what: string): never;
}

export interface IntervalRule {
  readonly opTypes: readonly string[];
  /** Bounds of each output (by position); outputs that are not used may be left out. */
  readonly bounds: (ctx: IntervalContext) => readonly BoundValue[];
}

export const interval = (lower: string, upper: string): Interval => ({ kind: 'interval', lower, upper });
export const exactValue = (name: string): BoundValue => ({ kind: 'exact', name });

export function unsupportedInterval(node: Node, what: string): never {
  throw new GibbonError('unsupported_op', `no sound interval bound for ${node.opType} node '${node.name}': ${what}`, {
    node: { name: node.name, opType: node.opType },
  });
}

/**
 * The node applied to the lower ends and again to the upper ends of its interval inputs (exact
 * inputs are passed to both): sound for every op that is non-decreasing in each interval input
 * (Relu, Sigmoid, MaxPool, AveragePool, ReduceSum …) and for ops that only move elements around
 * (Reshape, Transpose, Concat, Pad …).
 */
export function bothEnds(ctx: IntervalContext, outputs = ctx.node.outputs.length): BoundValue[] {
  const { node, b } = ctx;
  for (let i = outputs; i < node.outputs.length; i++) {
    if (ctx.used(i)) ctx.unsupported(`its output ${i} ('${node.outputs[i]}') is used, and only the first ${outputs} output(s) have interval bounds`);
  }
  const attrs = attributesOf(node);
  const ends = (side: 'lower' | 'upper'): string[] => {
    const inputs = node.inputs.map((_, i) => {
      const v = ctx.input(i);
      return v.kind === 'exact' ? v.name : v[side];
    });
    return b.node(node.opType, inputs, attrs, { outputs, name: `${node.name}/${side}`, domain: node.domain });
  };
  const lower = ends('lower');
  const upper = ends('upper');
  return lower.map((l, i) => interval(l, upper[i]!));
}

/** A node's attributes, to emit a copy of it (the builder copies each proto under its name). */
export function attributesOf(node: Node, overrides: Record<string, AttrValue | undefined> = {}): Record<string, AttrValue | undefined> {
  return { ...Object.fromEntries(node.attributes.map((a) => [a.name, a])), ...overrides };
}

/** Centre and radius of an interval: (l + u) / 2 and (u − l) / 2. */
export function centreRadius(b: GraphBuilder, v: Interval, name: string): { mid: string; rad: string } {
  const half = b.scalar(0.5);
  const mid = b.op('Mul', [b.op('Add', [v.lower, v.upper], {}, { name: `${name}/sum` }), half], {}, { name: `${name}/mid` });
  const rad = b.op('Mul', [b.op('Sub', [v.upper, v.lower], {}, { name: `${name}/width` }), half], {}, { name: `${name}/rad` });
  return { mid, rad };
}

/** [mid − rad, mid + rad]. */
export function fromCentreRadius(b: GraphBuilder, mid: string, rad: string, name: string): Interval {
  return interval(b.op('Sub', [mid, rad], {}, { name: `${name}/lower` }), b.op('Add', [mid, rad], {}, { name: `${name}/upper` }));
}
