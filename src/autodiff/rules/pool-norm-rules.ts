/** Pooling and normalisation ops: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';
import { averagePoolVjp } from './AveragePool.js';
import { batchNormalizationVjp } from './BatchNormalization.js';
import { globalAveragePoolVjp } from './GlobalAveragePool.js';
import { globalMaxPoolVjp } from './GlobalMaxPool.js';
import { instanceNormalizationVjp } from './InstanceNormalization.js';
import { layerNormalizationVjp } from './LayerNormalization.js';
import { maxPoolVjp } from './MaxPool.js';

export const POOL_NORM_RULES: readonly VjpRule[] = [
  averagePoolVjp,
  batchNormalizationVjp,
  globalAveragePoolVjp,
  globalMaxPoolVjp,
  instanceNormalizationVjp,
  layerNormalizationVjp,
  maxPoolVjp,
];
