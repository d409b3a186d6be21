/** Every shipped interval rule, as a plain list (the registry is built from it, never filled by imports). */
import type { IntervalRule } from '../interval-rule.js';
import { AFFINE_RULES } from './affine.js';
import { ARITHMETIC_RULES } from './arithmetic.js';
import { MONOTONE_RULES } from './monotone.js';

export const ALL_INTERVAL_RULES: readonly IntervalRule[] = [...AFFINE_RULES, ...ARITHMETIC_RULES, ...MONOTONE_RULES];
