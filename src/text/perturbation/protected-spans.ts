/**
 * Parts of a text an attack may not touch: URLs (the link a spammer needs the reader to click),
 * e-mail addresses, and whatever the threat model's payload patterns match (a phone number, the
 * injected instruction). Attacks skip any edit that overlaps a protected span; the harness checks
 * that every protected span of the original is still there, unchanged and in order.
 */
import { GibbonError } from '../../errors.js';

export interface Span {
  readonly start: number;
  readonly end: number;
}

const URL = /\b(?:https?:\/\/|www\.)[^\s<>"']+/giu;
const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/giu;
/** A payload pattern longer than this is refused (they are written by people, not generated). */
export const MAX_PATTERN_LENGTH = 500;

export interface ProtectionRules {
  /** Protect URLs and e-mail addresses (default true). */
  readonly urls: boolean;
  /** Regular expressions (JavaScript syntax, matched with the u and g flags) whose matches are protected. */
  readonly patterns: readonly string[];
}

export const DEFAULT_PROTECTION: ProtectionRules = Object.freeze({ urls: true, patterns: Object.freeze([]) as readonly string[] });

/** The compiled patterns; a pattern that is not a valid regular expression is refused naming it. */
export function compilePatterns(patterns: readonly string[]): RegExp[] {
  return patterns.map((p, i) => {
    if (p.length === 0 || p.length > MAX_PATTERN_LENGTH) {
      throw new GibbonError('invalid_threat_model', `protect.patterns[${i}] must be 1 to ${MAX_PATTERN_LENGTH} characters; got ${p.length}`, {
        option: `protect.patterns[${i}]`,
      });
    }
    try {
      return new RegExp(p, 'gu');
    } catch (e) {
      throw new GibbonError('invalid_threat_model', `protect.patterns[${i}] is not a valid regular expression: ${(e as Error).message}`, {
        option: `protect.patterns[${i}]`,
      });
    }
  });
}

/** The protected spans of `text`, sorted and merged. */
export function protectedSpans(text: string, rules: ProtectionRules, compiled: readonly RegExp[] = compilePatterns(rules.patterns)): Span[] {
  const found: Span[] = [];
  const add = (re: RegExp): void => {
    for (const m of text.matchAll(new RegExp(re.source, re.flags))) if (m[0].length > 0) found.push({ start: m.index, end: m.index + m[0].length });
  };
  if (rules.urls) {
    add(URL);
    add(EMAIL);
  }
  for (const re of compiled) add(re);
  found.sort((a, b) => a.start - b.start);
  const merged: Span[] = [];
  for (const s of found) {
    const last = merged[merged.length - 1];
    if (last && s.start <= last.end) merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, s.end) };
    else merged.push(s);
  }
  return merged;
}

/** Whether [start, end) overlaps a protected span (an insertion at a span's edge, start === end, does not). */
export function overlapsProtected(spans: readonly Span[], start: number, end: number): boolean {
  return spans.some((s) => (start === end ? start > s.start && start < s.end : start < s.end && end > s.start));
}

/** The first protected span of `original` that `adversarial` lost or changed, or undefined when all are intact and in order. */
export function brokenSpan(original: string, adversarial: string, spans: readonly Span[]): string | undefined {
  let from = 0;
  for (const s of spans) {
    const piece = original.slice(s.start, s.end);
    const at = adversarial.indexOf(piece, from);
    if (at < 0) return piece;
    from = at + piece.length;
  }
  return undefined;
}
