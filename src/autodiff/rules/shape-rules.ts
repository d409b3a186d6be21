/** Shape, indexing and reduction ops: one rule per file, listed here. */
import type { VjpRule } from '../vjp-rule.js';
import { concatVjp } from './Concat.js';
import { depthToSpaceVjp } from './DepthToSpace.js';
import { expandVjp } from './Expand.js';
import { gatherVjp } from './Gather.js';
import { matMulVjp } from './MatMul.js';
import { padVjp } from './Pad.js';
import { reduceL1Vjp } from './ReduceL1.js';
import { reduceL2Vjp } from './ReduceL2.js';
import { reduceLogSumVjp } from './ReduceLogSum.js';
import { reduceLogSumExpVjp } from './ReduceLogSumExp.js';
import { reduceMeanVjp } from './ReduceMean.js';
import { reduceMinVjp } from './ReduceMin.js';
import { reduceProdVjp } from './ReduceProd.js';
import { reduceSumSquareVjp } from './ReduceSumSquare.js';
import { reshapeVjp } from './Reshape.js';
import { resizeVjp } from './Resize.js';
import { sliceVjp } from './Slice.js';
import { spaceToDepthVjp } from './SpaceToDepth.js';
import { tileVjp } from './Tile.js';
import { transposeVjp } from './Transpose.js';

export const SHAPE_RULES: readonly VjpRule[] = [
  concatVjp,
  depthToSpaceVjp,
  expandVjp,
  gatherVjp,
  matMulVjp,
  padVjp,
  reduceL1Vjp,
  reduceL2Vjp,
  reduceLogSumVjp,
  reduceLogSumExpVjp,
  reduceMeanVjp,
  reduceMinVjp,
  reduceProdVjp,
  reduceSumSquareVjp,
  reshapeVjp,
  resizeVjp,
  sliceVjp,
  spaceToDepthVjp,
  tileVjp,
  transposeVjp,
];
