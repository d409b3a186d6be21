/**
 * gibbon: find and dull the sharp edges of ONNX classifiers.
 *
 * The public API. Everything else is internal and may change.
 * @packageDocumentation
 */
export { GibbonError, UnsupportedOpError, formatError, type ErrorCode, type ErrorLocation } from './errors.js';
export { loadModel, parseModel, saveModel, serializeModel, type ModelIR } from './onnx/model.js';
export { canonicalize, CANONICAL_OPSET } from './onnx/canonicalize.js';
export { liftConstantWeights } from './onnx/lift-constants.js';
export { GraphBuilder } from './onnx/builder.js';
export type { Graph, Node, ValueInfo } from './onnx/graph.js';
export { findLogits, type LogitsSource } from './onnx/logits.js';
export {
  buildGradientGraph,
  trainableInitializers,
  gradOutputName,
  LABELS_INPUT,
  TARGETS_INPUT,
  LOSS_OUTPUT,
  LOSS_SUM_OUTPUT,
  LOGITS_OUTPUT,
  type GradientGraph,
  type GradientGraphOptions,
} from './autodiff/gradient-graph.js';
export { buildVjpGraph, cotangentInputName, type VjpGraph, type VjpGraphOptions } from './autodiff/vjp-graph.js';
export { LOSS_NAMES, isTargetedLoss, type LossName } from './autodiff/loss-heads.js';
export { createVjpRegistry, type VjpRegistry } from './autodiff/registry.js';
export { ALL_RULES } from './autodiff/rules/index.js';
export { NON_DIFFERENTIABLE_OPS, SHAPE_OPS, type VjpRule, type VjpContext, type GradMap } from './autodiff/vjp-rule.js';
export { Session, defaultThreads, type SessionOptions } from './runtime/session.js';
export { OnnxModel, type OnnxModelOptions, type ParamGrads } from './model/onnx-model.js';
export { readNpy, writeNpy, parseNpy, formatNpy } from './tensor/npy.js';
export type { Tensor, AnyTensor, ElementType } from './tensor/tensor.js';
export { Rng, deriveSeed } from './random.js';
export type { Diagnostic } from './diagnostics.js';
export { UNIT_BOUNDS, checkBounds, checkWithinBounds, clampToBounds, type Bounds } from './model/bounds.js';
export {
  decisionOracle,
  scoreOracle,
  gradientOracle,
  uncountedScores,
  type Oracle,
  type OracleKind,
  type OracleOptions,
  type DecisionOracle,
  type ScoreOracle,
  type GradientOracle,
  type Scores,
  type ClassifierModel,
  type DifferentiableModel,
  type LabelArray,
  type LossAndGrad,
} from './model/oracles.js';
export { adversarialMask, topClass, type Criterion } from './criteria/criterion.js';
export { misclassification } from './criteria/misclassification.js';
export { targetedMisclassification } from './criteria/targeted-misclassification.js';
export type { Norm, NormName } from './norms/norm.js';
export { linf } from './norms/linf.js';
export { l2 } from './norms/l2.js';
export { NORMS, normByName } from './norms/index.js';
export {
  runAttack,
  type Attack,
  type AttackKind,
  type AttackContext,
  type AttackProgress,
  type AttackResult,
  type AttackDiagnostics,
  type AttackOutcome,
  type RunAttackOptions,
} from './attacks/attack.js';
export { LOSS_FAMILIES, type LossFamily } from './attacks/loss.js';
export { FgsmAttack, FGSM_DEFAULTS, type FgsmOptions } from './attacks/fgsm.js';
export { PgdAttack, PGD_DEFAULTS, type PgdOptions } from './attacks/pgd.js';
export { MiFgsmAttack, MI_FGSM_DEFAULTS, type MiFgsmOptions } from './attacks/mi-fgsm.js';
export { ApgdAttack, APGD_DEFAULTS, apgdCheckpoints, type ApgdOptions } from './attacks/apgd.js';
export { CwAttack, CW_DEFAULTS, type CwOptions } from './attacks/cw.js';
export { DeepFoolAttack, DEEPFOOL_DEFAULTS, type DeepFoolOptions } from './attacks/deepfool.js';
export { FabAttack, FAB_DEFAULTS, type FabOptions } from './attacks/fab.js';
export { ATTACKS, ATTACK_NAMES, attackEntry, createAttack, type AttackEntry } from './attacks/registry.js';
export { SquareAttack, type SquareOptions, type SquareLossOn } from './attacks/square.js';
export { HopSkipJumpAttack, type HopSkipJumpOptions } from './attacks/hop-skip-jump.js';
export { NesAttack, type NesOptions } from './attacks/nes.js';
export { SpsaAttack, type SpsaOptions } from './attacks/spsa.js';
export { estimateGradient, SCORE_LOSSES, type ScoreLoss } from './attacks/gradient-estimation.js';
export { eotOracle, randomizedModel, type RandomTransform, type TransformSample } from './model/eot.js';
export { transferOracle } from './model/transfer.js';
export type { BpdaSurrogate, SurrogatePolicy, NonDifferentiablePolicy } from './autodiff/surrogates.js';
export { HttpModel, EndpointError, type HttpModelOptions, type HttpModelStats, type EndpointAuth, type EndpointContext } from './model/remote/http-model.js';
export { endpointSchema, ENDPOINT_LIMITS, type Endpoint } from './model/remote/endpoint.js';
export { FunctionModel, type FunctionModelOptions, type ScoreFunction } from './model/remote/function-model.js';
export { train, type TrainOptions, type TrainResult, type EpochRecord, type Dataset } from './training/trainer.js';
export { Trainable, type TrainableOptions } from './training/trainable.js';
export { buildTrainingGraph, type TrainingGraph, type TrainingGraphOptions } from './training/training-graph.js';
export { ARCHITECTURES, buildArchitecture, describeArchitecture, type ArchitectureName, type ArchitectureOptions } from './training/architectures.js';
export { METHODS, type MethodName } from './training/methods.js';
export { createOptimizer, clipGradNorm, type Optimizer, type OptimizerSpec, type OptimizerState } from './training/optimizers.js';
export { learningRate, parseSchedule, type ScheduleSpec } from './training/schedules.js';
export { loadLabelledData, splitHeldOut, type LabelledData, type LabelledDataSpec } from './data/datasets.js';
export { loadFashionMnist, type FashionMnistData } from './data/fashion-mnist.js';
export { loadMnist, type MnistData, type MnistSplit, type MnistOptions } from './data/mnist.js';
export {
  KNOWLEDGE,
  TARGET_CHOICES,
  MNIST_TEST,
  ALLOWED_ORACLES,
  DEFAULT_QUERY_BUDGET,
  DEFAULT_THREAT_MODEL,
  THREAT_MODEL_PRESETS,
  validateThreatModel,
  parseThreatModel,
  readThreatModel,
  loadThreatModel,
  withOverrides,
  checkThreatModelFitsModel,
  threatModelRecord,
  type ThreatModel,
  type Knowledge,
  type TargetChoice,
  type InputDomain,
  type DataSource,
  type ModelFacts,
} from './evaluation/threat-model.js';
export { ENSEMBLE_PRESETS, DEFAULT_ENSEMBLE, resolveEnsemble, type AttackConfig, type Ensemble } from './evaluation/presets.js';
export { loadEvaluationData, THREAT_MODEL_DATA_FIELDS, type EvaluationData, type DataFieldNames } from './evaluation/data.js';
export {
  evaluate,
  DEFAULT_BATCH_SIZE,
  NOISE_SAMPLES,
  type EvaluationModel,
  type EvaluationTarget,
  type EvaluationOptions,
  type EvaluationProgress,
  type EvaluationResult,
  IN_PROCESS,
  type BatchExecutor,
  type ExecutorRun,
} from './evaluation/runner.js';
export { shardedExecutor, evaluationId, type ShardOptions, type LocalWorkers } from './evaluation/shard/coordinator.js';
export { runWorker, type WorkerOptions, type WorkerEvent, type OpenEvaluation, type OpenedEvaluation } from './evaluation/shard/worker.js';
export { DEFAULT_QUEUE, DEFAULT_SCHEMA, type QueueAddress } from './evaluation/shard/address.js';
export { openModels, type OpenedModels, type OpenModelsOptions, type EvaluatedModelFacts } from './evaluation/open-models.js';
export { maskingChecks, CHECK_THRESHOLDS, type CheckEvidence, type EpsEvidence } from './evaluation/checks.js';
export { CHECKPOINT_FILE, type Checkpoint, type BatchRecord, type StageRecord } from './evaluation/checkpoint.js';
export { formatJunit, escapeXml, type JunitOptions } from './evaluation/junit.js';
export {
  certifiedAccuracyAt,
  certifiedAccuracyCurve,
  type CertifiedAccuracyCurve,
  type CertifiedExample,
  type CertificationMethod,
  type CertificationNorm,
} from './certify/result.js';
export {
  certifyExample,
  predictExample,
  certifyFromCounts,
  predictFromCounts,
  clopperPearsonLower,
  maximumRadius,
  sampleCounts,
  type BaseClassifier,
  type SmoothingOptions,
  type Certificate,
} from './certify/smoothing.js';
export { certifySmoothing, type SmoothingData, type SmoothingRunOptions, type SmoothingRun } from './certify/smoothing-run.js';
export {
  certifyIbp,
  buildIntervalGraph,
  IntervalBoundRunner,
  marginKey,
  type IbpOptions,
  type IbpCertification,
  type IntervalGraph,
  type IntervalGraphOptions,
} from './certify/ibp/certify.js';
export { createIntervalRegistry, DEFAULT_INTERVAL_REGISTRY, type IntervalRegistry } from './certify/ibp/registry.js';
export { type IntervalRule, type IntervalContext, type BoundValue } from './certify/ibp/interval-rule.js';
export { renderCertificationHtml, type CertificationPageContext } from './report/certification-html.js';
export { auroc, rocCurve, areaUnder, thresholdAtFpr, rates, tprAtFpr, type RocPoint, type DetectionRates } from './defenses/roc.js';
export {
  buildDetectorModel,
  DETECTOR_KINDS,
  type DetectorKind,
  type DetectorParams,
  type SingleDetectorParams,
  type MspParams,
  type EnergyParams,
  type MahalanobisParams,
  type SqueezeParams,
  type CombinedParams,
} from './defenses/detectors/detector.js';
export { fitDetector, type FitOptions, type FitData } from './defenses/detectors/fit.js';
export { readDetectorFile, writeDetectorFile, checkDetectorFitsModel, modelFingerprint, type DetectorFile } from './defenses/detectors/detector-file.js';
export { EquippedModel, type AdaptiveObjective, type EquippedModelOptions } from './defenses/detectors/equipped-model.js';
export { adaptiveAttack, ADAPTIVE_DEFAULTS, type AdaptiveAttackOptions, type AdaptiveAttackResult } from './defenses/detectors/adaptive-attack.js';
export { evaluateDetector, type DetectionReport, type DetectionRow } from './defenses/detectors/evaluate-detector.js';
export { renderDetectionHtml } from './report/detection-html.js';
export { applyInputTransforms, PREPROCESS_METADATA_KEY, type InputTransform } from './defenses/preprocess/input-transform.js';
export { bitDepth } from './defenses/preprocess/bit-depth.js';
export { medianFilter } from './defenses/preprocess/median-filter.js';
export { quantize } from './defenses/preprocess/quantize.js';
export { randomResizePad, type RandomResizePadOptions } from './defenses/preprocess/random-resize-pad.js';
export { parsePreprocessSpec, PREPROCESS_GRAMMAR } from './defenses/preprocess/spec.js';
export { SequenceOnnxModel, type SequenceModelOptions, type SequenceLossAndGrad, type LabelSequences } from './model/sequence-model.js';
export {
  buildCtcGradientGraph,
  emitCtcLoss,
  ctcFramesNeeded,
  ctcGreedyDecode,
  Charset,
  sequenceCriterion,
  sequenceGradientOracle,
  runSequenceAttack,
  type CtcLossName,
  type CtcGradientGraph,
  type SequenceLayout,
  type SequenceAttackOutcome,
} from './sequence-api.js';
export type { TextClassifier, WhiteBoxTextClassifier, TextToken, EmbeddingTable, TokenGradients } from './text/classifier.js';
export { isWhiteBox } from './text/classifier.js';
export { OnnxTextModel, type OnnxTextModelOptions } from './text/onnx-text-model.js';
export { FunctionTextModel, type TextScoreFunction, type FunctionTextModelOptions } from './text/function-text-model.js';
export { HttpTextModel, type HttpTextModelOptions } from './text/http-text-model.js';
export { serveTextClassifier, type TextEndpoint, type TextEndpointOptions } from './text/text-endpoint-server.js';
export { TfidfLogisticModel, checkTfidfLogisticWeights, type TfidfLogisticWeights } from './text/tfidf-logistic-model.js';
export { splitTokens, type TokenUnit, type SurfaceToken } from './text/tokenizer.js';
export {
  buildVocabulary,
  withVocabulary,
  vocabularyOfModel,
  readVocabularyFile,
  bindVocabulary,
  VOCABULARY_METADATA_KEY,
  type TextVocabulary,
  type VocabularyBinding,
} from './text/vocabulary.js';
export { loadSpamAssassin, spamAssassinSplit, splitTexts, emailText, SPAM_CLASSES } from './data/spam-assassin.js';
export { readTextJsonl, parseTextJsonl, type TextJsonlOptions } from './data/text-jsonl.js';
export type { TextDataset } from './data/text-data.js';
export { buildTextArchitecture, TEXT_ARCHITECTURES, type TextArchitectureName, type TextArchitectureOptions } from './training/text-architectures.js';
export { trainTextModel, textClassifierMetrics, encodeTextDataset, type TextAugment, type TextTrainOptions } from './training/text-training.js';
export { createPatchSet, type PatchSet, type PatchSetOptions, type PatchShape, type PatchSize } from './physical/patch-set.js';
export { createUniversalSet, applyUniversal, projectUniversal, type UniversalSet } from './physical/universal-set.js';
export { IDENTITY_RANGES, PRINT_SCAN, drawPrintScan, type TransformRanges } from './physical/transforms.js';
export { savePerturbation, loadPerturbation, checkFitsInput, type SavedPerturbation, type SavedManifest } from './physical/saved-perturbation.js';
export { trainPatch, trainPatchWith, PATCH_DEFAULTS, type PatchObjective, type PatchOptions, type PatchState } from './attacks/patch.js';
export { measurePatch, sweepPatch, type PatchMeasurement } from './attacks/patch-measure.js';
export { sequencePatchObjective, measureSequencePatch, type SequencePatchMeasurement } from './attacks/patch-sequence.js';
export { placementGrid } from './physical/placement.js';
export { evaluatePatches, type NamedModel, type PatchEvaluation } from './evaluation/physical-runner.js';
export { evaluateUaps, type UapEvaluation } from './evaluation/uap-runner.js';
export { validatePhysicalThreatModel, type PhysicalThreatModel } from './evaluation/physical-threat-model.js';
export { trainUap, foolingRate, foolingAfterPrintScan, UAP_DEFAULTS, type UapOptions, type UapState } from './attacks/uap.js';
// Text attacks and text evaluation (issue 15; docs/text-attacks.md).
export { PwwsAttack, type PwwsOptions } from './text/attacks/pwws.js';
export { TextFoolerAttack, type TextFoolerOptions } from './text/attacks/textfooler.js';
export { DeepWordBugAttack, type DeepWordBugOptions } from './text/attacks/deepwordbug.js';
export { TextBuggerAttack, type TextBuggerOptions } from './text/attacks/textbugger.js';
export { HotFlipAttack, type HotFlipOptions } from './text/attacks/hotflip.js';
export { RandomEditAttack, type RandomEditOptions } from './text/attacks/random-edit.js';
export { makeTextAttack, TEXT_ATTACK_NAMES, type TextAttackName } from './text/attacks/registry.js';
export { TextOracle, QueryBudgetExhausted, type TextAttack, type TextAttackContext, type SynonymSource } from './text/attacks/text-attack.js';
export { attackText, type TextAttackOutcome, type TextHarnessOptions } from './text/attacks/harness.js';
export { measureEdits, type EditMeasure } from './text/perturbation/edit-distance.js';
export { checkAdversarial, TEXT_EDITS, type TextBudget, type TextEdit, type TextPerturbation } from './text/perturbation/text-budget.js';
export { WordNetSynonyms } from './text/perturbation/synonyms.js';
export { evaluateText, type TextExample, type TextRunOptions } from './evaluation/text-runner.js';
export { validateTextThreatModel, type TextThreatModel } from './evaluation/text-threat-model.js';
export { loadTextExamples } from './evaluation/text-examples.js';
export { renderTextReportHtml } from './report/text-html.js';
export { type TextReport } from './report/text-report.js';

// LLM probes, the assistant simulator and guard evasion (issue 17; docs/probes.md).
export type { ChatTarget, ChatMessage, ChatAnswer, ToolCall } from './probes/chat.js';
export { HttpChatTarget, FunctionChatTarget, readChatAnswer, type HttpChatOptions, type ToolDefinition } from './probes/chat-target.js';
export { readProbeFile, parseProbeSet, renderProbe, PROBE_FORMAT, type ProbeSet, type ProbeFamily, type Probe, type ProbeTurn } from './probes/probe-set.js';
export { detect, detectAll, isRefusal, containsCanary, type DetectorSpec, type DetectionContext } from './probes/detectors.js';
export { encodePayload, readableViews, ENCODINGS, type Encoding } from './probes/obfuscation.js';
export { runProbes, type ProbeRunResult, type ProbeRunOptions, type FamilyResult, type ProbeAttempt } from './probes/runner.js';
export { bootstrapRate, type RateInterval } from './probes/bootstrap.js';
export {
  AssistantSimulator,
  DEFAULT_TOOLS,
  DEFAULT_BLOCKED_PHRASES,
  type SimulatorOptions,
  type SimulatorDefenses,
  type SimulatorTool,
} from './probes/simulator.js';
export { evadeGuard, type EvasionOptions, type EvasionResult, type EvasionCase } from './probes/guard-evasion.js';
export { probeReport, PROBE_REPORT_FORMAT, type ProbeReport } from './report/probe-report.js';
export { writeProbeReport } from './report/probe-report-files.js';
export { renderProbeReportHtml } from './report/probe-html.js';
export { serveSimulator, type SimulatorServer, type SimulatorServerOptions } from './server/simulator-app.js';
