/** Elementwise and activation ops: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';
import { absVjp } from './Abs.js';
import { castVjp } from './Cast.js';
import { clipVjp } from './Clip.js';
import { cosVjp } from './Cos.js';
import { dropoutVjp } from './Dropout.js';
import { eluVjp } from './Elu.js';
import { erfVjp } from './Erf.js';
import { expVjp } from './Exp.js';
import { geluVjp } from './Gelu.js';
import { hardSigmoidVjp } from './HardSigmoid.js';
import { hardSwishVjp } from './HardSwish.js';
import { leakyReluVjp } from './LeakyRelu.js';
import { logVjp } from './Log.js';
import { maxVjp } from './Max.js';
import { meanVjp } from './Mean.js';
import { minVjp } from './Min.js';
import { mishVjp } from './Mish.js';
import { powVjp } from './Pow.js';
import { pReluVjp } from './PRelu.js';
import { reciprocalVjp } from './Reciprocal.js';
import { seluVjp } from './Selu.js';
import { sigmoidVjp } from './Sigmoid.js';
import { sinVjp } from './Sin.js';
import { softplusVjp } from './Softplus.js';
import { softsignVjp } from './Softsign.js';
import { sqrtVjp } from './Sqrt.js';
import { sumVjp } from './Sum.js';
import { tanhVjp } from './Tanh.js';

export const ELEMENTWISE_RULES: readonly VjpRule[] = [
  absVjp,
  castVjp,
  clipVjp,
  cosVjp,
  dropoutVjp,
  eluVjp,
  erfVjp,
  expVjp,
  geluVjp,
  hardSigmoidVjp,
  hardSwishVjp,
  leakyReluVjp,
  logVjp,
  maxVjp,
  meanVjp,
  minVjp,
  mishVjp,
  powVjp,
  pReluVjp,
  reciprocalVjp,
  seluVjp,
  sigmoidVjp,
  sinVjp,
  softplusVjp,
  softsignVjp,
  sqrtVjp,
  sumVjp,
  tanhVjp,
];
