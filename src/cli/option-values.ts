/**
 * Values on the command line: each parser turns one option's text into its value or throws
 * `InvalidValue` saying what a valid one looks like (numbers, lists, shapes, feeds, BPDA surrogates).
 * Files are checked by the commands, not here.
 */
import { parseChannelDomain } from '../model/channel-domain.js';

export class InvalidValue extends Error {}

export type ValueParser = (raw: string) => unknown;

export function integerIn(low: number, high: number, what: string): ValueParser {
  return (raw) => {
    const v = Number(raw.trim());
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(v) || v < low || v > high) {
      throw new InvalidValue(`${what} must be an integer from ${low} to ${high}`);
    }
    return v;
  };
}

export const positiveInteger = (what: string): ValueParser => integerIn(1, Number.MAX_SAFE_INTEGER, what);

/** An accuracy bar: a fraction in [0, 1] (0.9) or a percentage (90%). */
export const accuracyBar: ValueParser = (raw) => {
  const text = raw.trim();
  const isPercent = text.endsWith('%');
  const body = isPercent ? text.slice(0, -1).trim() : text;
  const v = Number(body);
  if (body === '' || !Number.isFinite(v) || v < 0 || v > (isPercent ? 100 : 1)) {
    throw new InvalidValue('the bar must be a fraction from 0 to 1 (e.g. 0.9) or a percentage from 0% to 100% (e.g. 90%)');
  }
  return isPercent ? v / 100 : v;
};

/** Comma-separated numbers ≥ 0 (`what` names them in the error, `example` shows a valid list). */
export function nonNegativeList(what: string, example: string): ValueParser {
  return (raw) => {
    const parts = raw.split(',').map((s) => s.trim());
    const values = parts.map(Number);
    if (parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v) || v < 0)) {
      throw new InvalidValue(`${what} must be a comma-separated list of numbers ≥ 0, e.g. ${example}`);
    }
    return values;
  };
}

/** Comma-separated ε values, each a finite number ≥ 0, e.g. '0.05,0.1'. */
export const epsilonList: ValueParser = nonNegativeList('ε', '0.05,0.1,0.2');

function numberAtLeast(low: number, strict: boolean, what: string): ValueParser {
  return (raw) => {
    const v = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(v) || v < low || (strict && v === low)) {
      throw new InvalidValue(`${what} must be a number ${strict ? '>' : '≥'} ${low}`);
    }
    return v;
  };
}

export interface BpdaSurrogateSpec {
  /** Op type or node name; absent: every non-differentiable node. */
  readonly target?: string;
  readonly path: string;
}

/** `FILE` or a comma list of `[OP_OR_NODE=]FILE`. */
export const bpdaSurrogateList: ValueParser = (raw) => {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new InvalidValue('give FILE.onnx or a comma list of OP_OR_NODE=FILE.onnx, e.g. Round=smooth-round.onnx');
  return parts.map((p): BpdaSurrogateSpec => {
    const eq = p.indexOf('=');
    if (eq < 0) return { path: p };
    const [target, path] = [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
    if (target === '' || path === '') throw new InvalidValue(`'${p}' should read OP_OR_NODE=FILE.onnx, e.g. Round=smooth-round.onnx`);
    return { target, path };
  });
};

export const positiveNumber = (what: string): ValueParser => numberAtLeast(0, true, what);
export const nonNegativeNumber = (what: string): ValueParser => numberAtLeast(0, false, what);

/** One example's shape: comma-separated positive integers, e.g. 3,224,224. */
export const exampleShape: ValueParser = (raw) => {
  const parts = raw.split(',').map((s) => s.trim());
  const dims = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new InvalidValue("give one example's shape without the batch, as comma-separated positive integers, e.g. 3,224,224");
  }
  return dims;
};

export interface FeedSpec {
  readonly name: string;
  /** A number, or the path of an .npy file. */
  readonly value: number | string;
}

/** NAME=FILE.npy or NAME=NUMBER. */
export const feedSpec: ValueParser = (raw) => {
  const eq = raw.indexOf('=');
  const name = eq < 0 ? '' : raw.slice(0, eq).trim();
  const value = eq < 0 ? '' : raw.slice(eq + 1).trim();
  if (name === '' || value === '') throw new InvalidValue('give NAME=FILE.npy or NAME=NUMBER, e.g. state=state.npy or sr=16000');
  const n = Number(value);
  return { name, value: value !== '' && Number.isFinite(n) && /^[-+0-9.eE]+$/.test(value) ? n : value } satisfies FeedSpec;
};

/** LOW,HIGH with LOW < HIGH, or per-channel bounds LOW:HIGH,LOW:HIGH,… (model/channel-domain.ts). */
export const domainRange: ValueParser = (raw) => {
  if (raw.includes(':')) {
    try {
      return parseChannelDomain(raw);
    } catch (e) {
      throw new InvalidValue((e as Error).message);
    }
  }
  const parts = raw.split(',').map((s) => s.trim());
  const v = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || v.some((x) => !Number.isFinite(x)) || !(v[0]! < v[1]!)) {
    throw new InvalidValue('give the input domain as LOW,HIGH with LOW < HIGH, e.g. 0,255 or -1,1, or per channel as LOW:HIGH,…, e.g. 0:1,-100:100');
  }
  return v;
};

/** Comma-separated finite numbers (one per channel). */
export const numberList =
  (what: string): ValueParser =>
  (raw) => {
    const parts = raw.split(',').map((s) => s.trim());
    const v = parts.map(Number);
    if (parts.some((p) => p === '') || v.some((x) => !Number.isFinite(x)))
      throw new InvalidValue(`${what} must be comma-separated numbers, one per channel, e.g. 123.675,116.28,103.53`);
    return v;
  };
