/**
 * The one set of option rules for the library: attacks, training, certification, oracles and the
 * schemas of files gibbon reads. Options are validated once, where they enter (an attack's
 * constructor, `train`, `certify` …): unknown keys and bad values fail with a GibbonError that names
 * the API option (`stepSize`, not `--step-size`: only cli/ knows flags), what was given and what
 * would be valid. Resolved options are frozen.
 */
import { z } from 'zod';
import { GibbonError } from './errors.js';

export interface OptionRule {
  /** What a valid value is, for messages ("a positive integer"). */
  readonly expected: string;
  readonly valid: (value: unknown) => boolean;
}

const isPositiveInteger = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
const isPositiveNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v > 0;

export const positiveInteger: OptionRule = { expected: 'a positive integer', valid: isPositiveInteger };
export const nonNegativeInteger: OptionRule = { expected: 'an integer ≥ 0', valid: (v) => Number.isInteger(v) && (v as number) >= 0 };
export const positiveNumber: OptionRule = { expected: 'a finite number > 0', valid: isPositiveNumber };
/** The same rule as `positiveNumber`, worded as training and certification have always said it. */
export const positiveFiniteNumber: OptionRule = { expected: 'a positive number', valid: isPositiveNumber };
export const nonNegativeNumber: OptionRule = { expected: 'a finite number ≥ 0', valid: (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 };
export const boolean: OptionRule = { expected: 'true or false', valid: (v) => typeof v === 'boolean' };

export function optional(rule: OptionRule): OptionRule {
  return { expected: `${rule.expected} (or unset)`, valid: (v) => v === undefined || rule.valid(v) };
}

export function numberIn(low: number, high: number, { openLow = false, openHigh = false } = {}): OptionRule {
  const expected = `a number in ${openLow ? '(' : '['}${low}, ${high}${openHigh ? ')' : ']'}`;
  return {
    expected,
    valid: (v) => typeof v === 'number' && (openLow ? v > low : v >= low) && (openHigh ? v < high : v <= high),
  };
}

export function oneOf<T extends string>(values: readonly T[]): OptionRule {
  return { expected: `one of ${values.map((v) => `'${v}'`).join(', ')}`, valid: (v) => typeof v === 'string' && (values as readonly string[]).includes(v) };
}

/** Defaults overridden by `given` (undefined entries keep the default), validated and frozen. */
export function resolveOptions<T extends object>(
  attack: string,
  defaults: T,
  given: Partial<T> | Readonly<Record<string, unknown>> | undefined,
  rules: { readonly [K in keyof T]: OptionRule },
): Readonly<T> {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  const known = Object.keys(rules);
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!known.includes(key)) {
      throw new GibbonError('invalid_option', `${attack}: unknown option '${key}'; valid: ${known.join(', ')}`, { option: key });
    }
    if (value !== undefined) out[key] = value;
  }
  for (const key of known) {
    const rule = rules[key as keyof T];
    if (!rule.valid(out[key])) {
      throw new GibbonError('invalid_option', `${attack}: option ${key} must be ${rule.expected}; got ${JSON.stringify(out[key])}`, { option: key });
    }
  }
  return Object.freeze(out) as Readonly<T>;
}

/**
 * Throws `invalid_option` naming `option` unless `rule` accepts `value`:
 * "<option> must be <expected><context>; got <value>" (e.g. "epochs must be a positive integer; got 0").
 */
export function checkOption(option: string, value: unknown, rule: OptionRule, context = ''): void {
  if (!rule.valid(value)) throw new GibbonError('invalid_option', `${option} must be ${rule.expected}${context}; got ${String(value)}`, { option });
}

/** Zod schemas of the same rules, for the files gibbon reads (threat models, checkpoints, reports). */
export const zodPositiveInteger = z.number().int().positive();
/** A count: an integer ≥ 0. */
export const zodCount = z.number().int().nonnegative();
