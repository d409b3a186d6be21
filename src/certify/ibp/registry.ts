/** The frozen table of interval rules by op type (default ONNX domain), built from a plain list. */
import { GibbonError } from '../../errors.js';
import type { IntervalRule } from './interval-rule.js';
import { ALL_INTERVAL_RULES } from './rules/index.js';

export interface IntervalRegistry {
  lookup(opType: string, domain?: string): IntervalRule | undefined;
  readonly supportedOps: readonly string[];
}

export function createIntervalRegistry(rules: readonly IntervalRule[]): IntervalRegistry {
  const table = new Map<string, IntervalRule>();
  for (const rule of rules) {
    for (const op of rule.opTypes) {
      if (table.has(op)) throw new GibbonError('internal', `duplicate interval rule for op ${op}`);
      table.set(op, rule);
    }
  }
  const supportedOps = Object.freeze([...table.keys()].sort());
  return Object.freeze({
    lookup: (opType: string, domain = '') => (domain === '' || domain === 'ai.onnx' ? table.get(opType) : undefined),
    supportedOps,
  });
}

export const DEFAULT_INTERVAL_REGISTRY: IntervalRegistry = createIntervalRegistry(ALL_INTERVAL_RULES);
