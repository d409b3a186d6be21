/** Shape, indexing and reduction ops: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';

export const SHAPE_RULES: readonly VjpRule[] = [];
