/**
 * Paths into JSON documents, as an endpoint spec writes them: dotted keys with array indices and a
 * `*` that maps over an array (`outputs`, `predictions.0.scores`, `predictions[0].scores`,
 * `predictions.*.scores`). Request paths name where the inputs go and may hold keys only; response
 * paths name where the scores are. A lookup that fails says which part of the path was missing
 * and what was there instead, because "the response has no field x" is the usual first error
 * against a new endpoint.
 */
import { GibbonError } from '../../errors.js';

/** One step of a path: an object key, an array index, or every element of an array. */
export type PathSegment = { readonly key: string } | { readonly index: number } | { readonly each: true };

/** A parsed path and the text it came from. */
export interface JsonPath {
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

/**
 * Parses `a.b.0.c`, `a.b[0].c` or `a.*.c`. `keysOnly` (request paths) refuses indices and `*`.
 * `option` names the setting in errors.
 */
export function parseJsonPath(text: string, option: string, keysOnly = false): JsonPath {
  const normalized = text.replace(/\[(\d+|\*)\]/g, '.$1');
  const parts = normalized.split('.');
  if (text.length === 0 || parts.some((p) => p.length === 0)) {
    throw new GibbonError('invalid_option', `${option} '${text}' is not a path: write keys separated by dots, e.g. 'outputs' or 'predictions.0.scores'`, {
      option,
    });
  }
  const segments = parts.map((p): PathSegment => {
    if (p === '*') return { each: true };
    if (/^\d+$/.test(p)) return { index: Number(p) };
    return { key: p };
  });
  if (keysOnly && segments.some((s) => !('key' in s))) {
    throw new GibbonError('invalid_option', `${option} '${text}' may only hold object keys (no array indices or *), e.g. 'inputs' or 'data.instances'`, {
      option,
    });
  }
  return { text, segments };
}

/** What a JSON value is, for messages: its keys, its length, or its type. */
export function describeJson(value: unknown): string {
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return 'an object with no keys';
    const shown = keys.slice(0, 12).join(', ');
    return `an object with keys ${shown}${keys.length > 12 ? `, … (${keys.length} keys)` : ''}`;
  }
  return `a ${typeof value}`;
}

function segmentText(segments: readonly PathSegment[]): string {
  return segments.map((s) => ('key' in s ? s.key : 'index' in s ? String(s.index) : '*')).join('.');
}

/** Why a lookup failed: the path up to the missing part and what was found there. */
export interface MissingField {
  /** The prefix of the path that exists. */
  readonly found: string;
  /** The step that could not be taken. */
  readonly missing: string;
  /** What the value at `found` is. */
  readonly actual: string;
}

/** Thrown inside `getJsonPath` and turned into the caller's error. */
export class MissingFieldError extends Error {
  constructor(readonly detail: MissingField) {
    super(`no '${detail.missing}' at '${detail.found || '(top level)'}' (found ${detail.actual})`);
  }
}

/** The value at `path`; `*` yields an array of the values under every element. */
export function getJsonPath(value: unknown, path: JsonPath): unknown {
  const walk = (v: unknown, at: number): unknown => {
    if (at === path.segments.length) return v;
    const segment = path.segments[at]!;
    const missing = (): never => {
      throw new MissingFieldError({ found: segmentText(path.segments.slice(0, at)), missing: segmentText([segment]), actual: describeJson(v) });
    };
    if ('each' in segment) {
      if (!Array.isArray(v)) return missing();
      return v.map((item) => walk(item, at + 1));
    }
    if ('index' in segment) {
      if (!Array.isArray(v) || segment.index >= v.length) return missing();
      return walk(v[segment.index], at + 1);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, segment.key)) return missing();
    return walk((v as Record<string, unknown>)[segment.key], at + 1);
  };
  return walk(value, 0);
}

/** A copy of `base` (an object) with `value` placed at the key path `path`. */
export function setJsonPath(base: Readonly<Record<string, unknown>>, path: JsonPath, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = { ...base };
  let node = root;
  path.segments.forEach((segment, i) => {
    const key = (segment as { key: string }).key;
    if (i === path.segments.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    const child: Record<string, unknown> = next !== null && typeof next === 'object' && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {};
    node[key] = child;
    node = child;
  });
  return root;
}
