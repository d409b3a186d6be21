/** Pooling and normalisation ops: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';

export const POOL_NORM_RULES: readonly VjpRule[] = [];
