/** Builds the (frozen) table of gradient rules from a plain list; rejects duplicates. */
import { GibbonError } from '../errors.js';
import type { VjpRule } from './vjp-rule.js';

export interface VjpRegistry {
  /** The rule for an op at an opset (the highest sinceVersion ≤ opset), if any. */
  lookup(opType: string, opset: number, domain?: string): VjpRule | undefined;
  /** Op types with a rule (default domain unqualified, others as domain::op). */
  readonly supportedOps: readonly string[];
}

export function createVjpRegistry(rules: readonly VjpRule[]): VjpRegistry {
  const table = new Map<string, VjpRule[]>();
  for (const r of rules) {
    const key = `${r.domain ?? ''}::${r.opType}`;
    const list = table.get(key) ?? [];
    if (list.some((x) => x.sinceVersion === r.sinceVersion)) {
      throw new GibbonError('internal', `duplicate gradient rule for ${r.opType} since opset ${r.sinceVersion}`);
    }
    list.push(r);
    list.sort((a, b) => b.sinceVersion - a.sinceVersion);
    table.set(key, list);
  }
  const supportedOps = Object.freeze([...table.keys()].map((k) => (k.startsWith('::') ? k.slice(2) : k)).sort());
  return Object.freeze({
    lookup(opType: string, opset: number, domain = ''): VjpRule | undefined {
      const list = table.get(`${domain === 'ai.onnx' ? '' : domain}::${opType}`);
      return list?.find((r) => r.sinceVersion <= opset);
    },
    supportedOps,
  });
}
