/** Typed reading and writing of ONNX node attributes. */
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, AttributeProto_AttributeType as AT, type AttributeProto, type TensorProto } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import type { Node } from './graph.js';

/** A float attribute value (plain numbers are integer attributes). */
export class FloatAttr {
  constructor(readonly value: number) {}
}
/** A list-of-floats attribute value (plain number arrays are integer lists). */
export class FloatsAttr {
  constructor(readonly value: readonly number[]) {}
}
export const float = (v: number): FloatAttr => new FloatAttr(v);
export const floats = (v: readonly number[]): FloatsAttr => new FloatsAttr(v);

export type AttrValue = number | readonly number[] | string | readonly string[] | FloatAttr | FloatsAttr | TensorProto | AttributeProto;

function isProto(v: unknown, typeName: string): boolean {
  return typeof v === 'object' && v !== null && (v as { $typeName?: string }).$typeName === typeName;
}

export function makeAttribute(name: string, value: AttrValue): AttributeProto {
  if (isProto(value, 'onnx.AttributeProto')) {
    return create(AttributeProtoSchema, { ...(value as AttributeProto), name });
  }
  if (value instanceof FloatAttr) return create(AttributeProtoSchema, { name, type: AT.FLOAT, f: value.value });
  if (value instanceof FloatsAttr) return create(AttributeProtoSchema, { name, type: AT.FLOATS, floats: [...value.value] });
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new GibbonError('internal', `attribute '${name}': ${value} is not an integer; wrap floats with float()`);
    return create(AttributeProtoSchema, { name, type: AT.INT, i: BigInt(value) });
  }
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: AT.STRING, s: new TextEncoder().encode(value) });
  if (isProto(value, 'onnx.TensorProto')) return create(AttributeProtoSchema, { name, type: AT.TENSOR, t: value as TensorProto });
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      return create(AttributeProtoSchema, { name, type: AT.STRINGS, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) });
    }
    return create(AttributeProtoSchema, { name, type: AT.INTS, ints: (value as number[]).map((v) => BigInt(v)) });
  }
  throw new GibbonError('internal', `attribute '${name}': unsupported value`);
}

/** Reads a node's attributes with defaults; errors name the node. */
export class Attributes {
  private readonly byName: Map<string, AttributeProto>;
  constructor(private readonly node: Node) {
    this.byName = new Map(node.attributes.map((a) => [a.name, a]));
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  raw(name: string): AttributeProto | undefined {
    return this.byName.get(name);
  }

  private fail(name: string, what: string): never {
    throw new GibbonError('invalid_model', `attribute '${name}' of node '${this.node.name}' (${this.node.opType}) ${what}`, {
      node: { name: this.node.name, opType: this.node.opType },
    });
  }

  int(name: string, fallback?: number): number {
    const a = this.byName.get(name);
    if (!a) return fallback ?? this.fail(name, 'is required but missing');
    if (a.type !== AT.INT) this.fail(name, 'should be an integer');
    return Number(a.i);
  }

  float(name: string, fallback?: number): number {
    const a = this.byName.get(name);
    if (!a) return fallback ?? this.fail(name, 'is required but missing');
    if (a.type === AT.INT) return Number(a.i);
    if (a.type !== AT.FLOAT) this.fail(name, 'should be a float');
    return a.f;
  }

  ints(name: string, fallback?: readonly number[]): number[] {
    const a = this.byName.get(name);
    if (!a) return fallback ? [...fallback] : this.fail(name, 'is required but missing');
    if (a.type !== AT.INTS) this.fail(name, 'should be a list of integers');
    return a.ints.map((v) => Number(v));
  }

  floats(name: string, fallback?: readonly number[]): number[] {
    const a = this.byName.get(name);
    if (!a) return fallback ? [...fallback] : this.fail(name, 'is required but missing');
    if (a.type !== AT.FLOATS) this.fail(name, 'should be a list of floats');
    return [...a.floats];
  }

  string(name: string, fallback?: string): string {
    const a = this.byName.get(name);
    if (!a) return fallback ?? this.fail(name, 'is required but missing');
    if (a.type !== AT.STRING) this.fail(name, 'should be a string');
    return new TextDecoder().decode(a.s);
  }

  tensor(name: string): TensorProto | undefined {
    const a = this.byName.get(name);
    if (!a) return undefined;
    if (a.type !== AT.TENSOR || !a.t) this.fail(name, 'should be a tensor');
    return a.t;
  }
}
