/**
 * The contract of a gradient rule. A rule is data: the op it handles, the opset it applies from,
 * the names of its inputs, and `vjp`, which emits ONNX nodes computing the gradient of each input
 * from the gradients of the node's outputs. Rules never compute numbers.
 */
import { GibbonError } from '../errors.js';
import type { Attributes } from '../onnx/attributes.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { Graph, Node } from '../onnx/graph.js';

/** Gradients keyed by input name (or by position, as '0', '1', … for variadic ops). null: no gradient. */
export type GradMap = Record<string, string | null | undefined>;

export interface VjpContext {
  readonly node: Node;
  readonly attrs: Attributes;
  readonly b: GraphBuilder;
  /** Default-domain opset of the graph (always ≥ 18 after canonicalisation). */
  readonly opset: number;
  /** Name of input i ('' if omitted). */
  input(i: number): string;
  output(i: number): string;
  /** Gradient of output i, or null when that output does not reach the loss. */
  dY(i?: number): string | null;
  /** Whether the gradient of input i is wanted. Rules should skip work for the others. */
  needsGrad(i: number): boolean;
  /** Static shape of a forward value; null entries depend on the batch size. */
  shape(value: string): readonly (number | null)[];
  rank(value: string): number;
  dataType(value: string): number;
  /** The value, when it is a constant or computed only from shapes; else undefined. */
  constant(value: string): readonly number[] | undefined;
  /** Sums `grad` (shaped like the node's output) down to the shape of `value` (undoes broadcasting). */
  unbroadcast(grad: string, value: string): string;
  /** Throws an unsupported-attribute error naming this node. */
  unsupported(what: string): never;
  /** Whether the shape and type of a value are known (values inside subgraphs may not be). */
  known(value: string): boolean;
  /** Everything the node reads: its inputs, then the outer-scope values its subgraphs read. */
  reads(): readonly string[];
  /** Whether the gradient of a value the node reads is wanted. */
  needsGradOf(value: string): boolean;
  /**
   * Control flow: reverse-mode differentiation of `sub` (a subgraph whose nodes `b` already holds,
   * reading `wrt` from enclosing scopes), from `seeds`. Returns the gradient of each wrt value.
   */
  differentiate(sub: Graph, b: GraphBuilder, wrt: readonly string[], seeds: readonly { value: string; grad: string }[]): Map<string, string>;
}

export interface VjpRule {
  readonly opType: string;
  /** ONNX domain ('' for the default domain). */
  readonly domain?: string;
  readonly sinceVersion: number;
  /**
   * Input names in order; 'variadic' for ops like Concat, Sum, Max; 'reads' for control flow, whose
   * gradients are keyed by the name of each value the node reads (inputs and outer-scope reads).
   */
  readonly inputs: readonly string[] | 'variadic' | 'reads';
  readonly vjp: (ctx: VjpContext) => GradMap;
  /**
   * Quantised ops (rules/quantised-operands.ts): gradients also flow through their integer inputs
   * and outputs; 'straight-through' rules estimate the gradient of a rounding, and backprop reports them.
   */
  readonly quantised?: 'exact' | 'straight-through';
}

/** Ops whose gradient is zero almost everywhere: marked so BPDA can substitute a surrogate. */
export const NON_DIFFERENTIABLE_OPS: readonly string[] = [
  'Round',
  'Floor',
  'Ceil',
  'Sign',
  'ArgMax',
  'ArgMin',
  'Hardmax',
  'Equal',
  'Less',
  'LessOrEqual',
  'Greater',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'IsNaN',
  'IsInf',
  'NonZero',
  'BitShift',
  'Mod',
  'QuantizeLinear',
  'RandomUniformLike',
  'RandomNormalLike',
];

/** Ops that only move shapes and constants around: they never carry a gradient. */
export const SHAPE_OPS: readonly string[] = ['Shape', 'Size', 'Constant', 'ConstantOfShape', 'Range', 'EyeLike', 'OneHot', 'RandomUniform', 'RandomNormal'];

export function unsupportedAttribute(node: Node, what: string): never {
  throw new GibbonError('unsupported_attribute', `gradient of ${node.opType} node '${node.name}': ${what}`, { node: { name: node.name, opType: node.opType } });
}
