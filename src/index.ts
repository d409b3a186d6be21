/**
 * gibbon: find and dull the sharp edges of ONNX classifiers.
 *
 * The public API. Everything else is internal and may change.
 * @packageDocumentation
 */
export { GibbonError, UnsupportedOpError, formatError, type ErrorCode, type ErrorLocation } from './errors.js';
export { loadModel, parseModel, saveModel, serializeModel, type ModelIR } from './onnx/model.js';
export { canonicalize, CANONICAL_OPSET } from './onnx/canonicalize.js';
export { GraphBuilder } from './onnx/builder.js';
export type { Graph, Node, ValueInfo } from './onnx/graph.js';
export {
  buildGradientGraph,
  findLogits,
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
export { OnnxModel, type OnnxModelOptions, type LossAndGrad, type ParamGrads } from './model/onnx-model.js';
export { readNpy, writeNpy, parseNpy, formatNpy } from './tensor/npy.js';
export type { Tensor, AnyTensor, ElementType } from './tensor/tensor.js';
