/** Every gradient rule gibbon ships, as a plain list (the registry is built from it). */
import type { VjpRule } from '../vjp-rule.js';
import { ELEMENTWISE_RULES } from './elementwise-rules.js';
import { SHAPE_RULES } from './shape-rules.js';
import { CONV_RULES } from './conv-rules.js';
import { POOL_NORM_RULES } from './pool-norm-rules.js';
import { addVjp } from './Add.js';
import { castLikeVjp } from './CastLike.js';
import { divVjp } from './Div.js';
import { flattenVjp } from './Flatten.js';
import { gatherElementsVjp } from './GatherElements.js';
import { gemmVjp } from './Gemm.js';
import { identityVjp } from './Identity.js';
import { ifVjp } from './If.js';
import { logSoftmaxVjp } from './LogSoftmax.js';
import { mulVjp } from './Mul.js';
import { negVjp } from './Neg.js';
import { reduceMaxVjp } from './ReduceMax.js';
import { reduceSumVjp } from './ReduceSum.js';
import { reluVjp } from './Relu.js';
import { softmaxVjp } from './Softmax.js';
import { splitVjp } from './Split.js';
import { squeezeVjp } from './Squeeze.js';
import { subVjp } from './Sub.js';
import { topKVjp } from './TopK.js';
import { unsqueezeVjp } from './Unsqueeze.js';
import { whereVjp } from './Where.js';
import { convIntegerVjp } from './ConvInteger.js';
import { dequantizeLinearVjp } from './DequantizeLinear.js';
import { dynamicQuantizeLinearVjp } from './DynamicQuantizeLinear.js';
import { matMulIntegerVjp } from './MatMulInteger.js';
import { qLinearConvVjp } from './QLinearConv.js';
import { qLinearMatMulVjp } from './QLinearMatMul.js';

const CORE_RULES: readonly VjpRule[] = [
  addVjp,
  castLikeVjp,
  divVjp,
  flattenVjp,
  gatherElementsVjp,
  gemmVjp,
  identityVjp,
  ifVjp,
  logSoftmaxVjp,
  mulVjp,
  negVjp,
  reduceMaxVjp,
  reduceSumVjp,
  reluVjp,
  softmaxVjp,
  splitVjp,
  squeezeVjp,
  subVjp,
  topKVjp,
  unsqueezeVjp,
  whereVjp,
  convIntegerVjp,
  dequantizeLinearVjp,
  dynamicQuantizeLinearVjp,
  matMulIntegerVjp,
  qLinearConvVjp,
  qLinearMatMulVjp,
];

/** Families are listed in their own files (elementwise, shape, conv, pool/norm) so they can grow independently. */
export const ALL_RULES: readonly VjpRule[] = [...CORE_RULES, ...ELEMENTWISE_RULES, ...SHAPE_RULES, ...CONV_RULES, ...POOL_NORM_RULES];
