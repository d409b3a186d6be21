/** Convolutions and matrix products: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';

export const CONV_RULES: readonly VjpRule[] = [];
