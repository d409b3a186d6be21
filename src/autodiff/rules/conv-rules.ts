/** Convolutions and matrix products: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';
import { convVjp } from './Conv.js';
import { convTransposeVjp } from './ConvTranspose.js';

export const CONV_RULES: readonly VjpRule[] = [convVjp, convTransposeVjp];
