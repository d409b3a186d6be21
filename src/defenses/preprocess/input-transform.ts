/**
 * A preprocessing defense as a model transform: an input transform emits ONNX nodes that map the
 * model's NCHW float input to a value of the same shape, and `applyInputTransforms` puts one or
 * more of them in front of a classifier. The result is an ordinary inference model (same input
 * and output names) that onnxruntime loads and that gibbon differentiates like any other, so the
 * defense can be exported, served and evaluated adaptively (BPDA for non-differentiable
 * transforms, EOT for randomised ones; docs/defenses.md).
 *
 * @example
 * ```ts
 * const defended = applyInputTransforms(loadModel('mnist.onnx'), [bitDepth(4), medianFilter(2)]);
 * saveModel(defended, 'mnist-squeezed.onnx');
 * ```
 */
import { create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema } from 'onnx-buf';
import { GibbonError } from '../../errors.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { canonicalize } from '../../onnx/canonicalize.js';
import { isFloatType } from '../../onnx/dtypes.js';
import type { ModelIR } from '../../onnx/model.js';

export interface InputTransform {
  readonly name: string;
  /** one-line description for reports */
  readonly description: string;
  readonly randomized: boolean;
  /** For quantisers (zero gradient almost everywhere): the grey levels per channel they keep. */
  readonly levels?: number;
  /** emits ONNX nodes mapping NCHW float value `x` to a value of the same shape; returns its name */
  emit(b: GraphBuilder, x: string, shape: readonly (number | null)[]): string;
}

/** The model's float input and its shape (symbolic or unknown dimensions as null). */
function imageInput(model: ModelIR): { name: string; shape: (number | null)[] } {
  const g = model.graph;
  const input = g.inputs.find((v) => isFloatType(v.dataType));
  const where = model.path ?? 'model';
  if (!input) throw new GibbonError('invalid_model', `${where} has no float input to put a preprocessing defense in front of`, { path: model.path });
  if (input.shape === null || input.shape.length !== 4) {
    throw new GibbonError(
      'invalid_model',
      `${where}: input '${input.name}' has shape ${input.shape ? `[${input.shape.join(', ')}]` : 'of unknown rank'}; preprocessing defenses need an NCHW image input`,
      { path: model.path },
    );
  }
  return { name: input.name, shape: input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : null)) };
}

/** Metadata key under which the defended model records its transforms (their names, comma-separated). */
export const PREPROCESS_METADATA_KEY = 'gibbon.preprocess';

/**
 * A new model computing model(tₖ(…t₁(x))): the transforms run in order in front of the model's
 * first float input. The model is canonicalised first (opset ≥ 18), so the transforms may emit
 * opset-18 ops; input and output names are unchanged. The transforms' names are appended to the
 * model's metadata under PREPROCESS_METADATA_KEY.
 */
export function applyInputTransforms(model: ModelIR, transforms: readonly InputTransform[]): ModelIR {
  const out = canonicalize(model);
  const g = out.graph;
  const input = imageInput(out);
  if (transforms.length === 0) return out;
  const b = new GraphBuilder(g, 'defense');
  const before = g.nodes.length;
  let value = input.name;
  for (const t of transforms) value = t.emit(b, value, input.shape);
  const added = g.nodes.splice(before);
  for (const node of g.nodes) node.inputs = node.inputs.map((v) => (v === input.name ? value : v));
  g.nodes = [...added, ...g.nodes];
  const names = transforms.map((t) => t.name);
  const previous = out.proto.metadataProps.find((p) => p.key === PREPROCESS_METADATA_KEY);
  const metadataProps = [
    ...out.proto.metadataProps.filter((p) => p !== previous),
    // The new steps run before the ones already there.
    create(StringStringEntryProtoSchema, { key: PREPROCESS_METADATA_KEY, value: [...names, ...(previous ? [previous.value] : [])].join(',') }),
  ];
  // A new model: no path and no file hash of the original.
  return { proto: { ...out.proto, metadataProps }, graph: g, opset: out.opset };
}

/** Throws an invalid_option error unless `value` is an integer in [low, high]. */
export function checkInteger(value: number, low: number, high: number, what: string, option: string): void {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new GibbonError('invalid_option', `${what} must be an integer from ${low} to ${high}; got ${value}`, { option });
  }
}
