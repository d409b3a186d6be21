/** The public names of gibbon's sequence-recogniser (CTC) support, gathered for src/index.ts. */
export {
  buildCtcGradientGraph,
  sequenceFacts,
  CTC_LOSS_NAMES,
  type CtcLossName,
  type CtcGradientGraph,
  type CtcGradientGraphOptions,
} from './autodiff/ctc-gradient-graph.js';
export { emitCtcLoss, ctcFramesNeeded, CTC_IMPOSSIBLE, type SequenceLayout, type CtcHeadInputs } from './autodiff/ctc-head.js';
export { ctcGreedyDecode, sameSequence, Charset } from './model/sequence-decode.js';
export { sequenceCriterion, type SequenceCriterionOptions } from './criteria/sequence-criterion.js';
export { sequenceGradientOracle, type SequenceGoals } from './model/sequence-oracle.js';
export { runSequenceAttack, type SequenceAttackOptions, type SequenceAttackOutcome } from './attacks/sequence-attack.js';
