/** ReduceL1: Y = Σ |X|, so dX = sign(X)·dY (0 at X = 0, as PyTorch). */
import { reductionRule } from './reduce-axes.js';

export const reduceL1Vjp = reductionRule('ReduceL1', 18, ({ b }, { X, dY }) => b.op('Mul', [b.op('Sign', [X]), dY], {}, { name: 'ReduceL1_dX' }));
