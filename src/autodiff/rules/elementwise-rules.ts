/** Elementwise and activation ops: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';

export const ELEMENTWISE_RULES: readonly VjpRule[] = [];
