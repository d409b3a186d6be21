/**
 * Turning a model as shipped into one gibbon can attack: the inputs besides the attacked one
 * (an audio model's recurrent state and sample rate) are bound to fixed values, and a per-channel
 * normalisation the user applies before the model ((x − mean) / std) is put in front of it as ONNX
 * nodes, so attacks work in the raw input domain (pixels 0–255) and gradients flow through it.
 */
import { GibbonError } from '../errors.js';
import { cloneModel, type ModelIR } from '../onnx/model.js';
import { DataType as DT, dataTypeName, isFloatType } from '../onnx/dtypes.js';
import { encodeTensor } from '../onnx/tensor-proto.js';
import type { AnyTensor } from '../tensor/tensor.js';

/** A value for a model input: a tensor (from an .npy) or one number (filled into the declared shape). */
export type InputValue = AnyTensor | number;

export interface Normalization {
  /** Per channel (axis 1) or one value for all. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

function shapeText(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => d ?? '?').join(', ')}]`;
}

function typedFor(dataType: number, values: ArrayLike<number | bigint>, name: string): ArrayBufferView & ArrayLike<number | bigint> {
  const n = values.length;
  const num = (i: number): number => Number(values[i]!);
  switch (dataType) {
    case DT.FLOAT:
      return Float32Array.from({ length: n }, (_, i) => num(i));
    case DT.DOUBLE:
      return Float64Array.from({ length: n }, (_, i) => num(i));
    case DT.INT64:
      return BigInt64Array.from({ length: n }, (_, i) => BigInt(Math.trunc(num(i))));
    case DT.INT32:
      return Int32Array.from({ length: n }, (_, i) => num(i));
    case DT.INT8:
      return Int8Array.from({ length: n }, (_, i) => num(i));
    case DT.UINT8:
    case DT.BOOL:
      return Uint8Array.from({ length: n }, (_, i) => num(i));
    default:
      throw new GibbonError('invalid_option', `input '${name}' has data type ${dataTypeName(dataType)}, which gibbon cannot feed`, { option: 'feed' });
  }
}

/**
 * Binds inputs to fixed values (they become initializers). A number fills the input's declared
 * shape (its symbolic dimensions taken as 1); a tensor must fit the declared shape. Integer inputs
 * need integer values.
 */
export function bindInputs(model: ModelIR, values: Readonly<Record<string, InputValue>>, keep?: string): ModelIR {
  const out = cloneModel(model);
  const g = out.graph;
  for (const [name, value] of Object.entries(values)) {
    const v = g.inputs.find((i) => i.name === name);
    if (!v) {
      const free = g.inputs.filter((i) => !g.initializers.has(i.name)).map((i) => i.name);
      throw new GibbonError('invalid_option', `feed ${name}: the model has no input '${name}'; inputs: ${free.join(', ')}`, { option: 'feed' });
    }
    if (name === keep) throw new GibbonError('invalid_option', `feed ${name}: '${name}' is the input being attacked; feed the others`, { option: 'feed' });
    const declared = v.shape ?? [];
    let shape: number[];
    let data: ArrayLike<number | bigint>;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new GibbonError('invalid_option', `feed ${name}=${value}: the value must be a finite number`, { option: 'feed' });
      shape = declared.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
      data = new Array<number>(shape.reduce((a, d) => a * d, 1)).fill(value);
    } else {
      shape = [...value.shape];
      const fits = v.shape === null || (declared.length === shape.length && declared.every((d, i) => typeof d !== 'number' || d <= 0 || d === shape[i]));
      if (!fits) {
        throw new GibbonError('invalid_option', `feed ${name}: the value has shape ${shapeText(shape)} but input '${name}' is ${shapeText(declared)}`, {
          option: 'feed',
        });
      }
      data = value.data as ArrayLike<number | bigint>;
    }
    if (!isFloatType(v.dataType)) {
      for (let i = 0; i < data.length; i++) {
        if (!Number.isInteger(Number(data[i]!))) {
          throw new GibbonError(
            'invalid_option',
            `feed ${name}: input '${name}' holds ${dataTypeName(v.dataType)} but the value has ${String(data[i])} at flat index ${i}`,
            { option: 'feed' },
          );
        }
      }
    }
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(Number(data[i]!)))
        throw new GibbonError('invalid_option', `feed ${name}: the value has ${String(data[i])} at flat index ${i}; it must be finite`, { option: 'feed' });
    }
    g.initializers.set(name, encodeTensor(name, v.dataType, shape, typedFor(v.dataType, data, name) as never));
    g.inputs = g.inputs.filter((i) => i.name !== name);
  }
  return out;
}

/** Inputs still to be fed besides `input` (graph inputs without a value). */
export function unboundInputs(model: ModelIR, input: string): string[] {
  return model.graph.inputs.filter((v) => v.name !== input && !model.graph.initializers.has(v.name)).map((v) => v.name);
}

/**
 * Puts (x − mean) / std over axis 1 in front of input `input` (the input keeps its name; the model
 * now takes raw values). One mean/std value applies to every channel.
 */
export function prependNormalization(model: ModelIR, input: string, norm: Normalization): ModelIR {
  const out = cloneModel(model);
  const g = out.graph;
  const v = g.inputs.find((i) => i.name === input);
  if (!v) throw new GibbonError('internal', `no input '${input}' to normalise`);
  if (norm.mean.length !== norm.std.length) {
    throw new GibbonError('invalid_threat_model', `input.mean has ${norm.mean.length} values but input.std has ${norm.std.length}; give one per channel`, {
      option: 'input.mean',
    });
  }
  if (norm.std.some((s) => !(s > 0) || !Number.isFinite(s)))
    throw new GibbonError('invalid_threat_model', 'input.std values must be finite and > 0', { option: 'input.std' });
  const rank = v.shape?.length ?? 0;
  const channels = v.shape?.[1];
  const c = norm.mean.length;
  if (c > 1 && (rank < 2 || (typeof channels === 'number' && channels !== c))) {
    throw new GibbonError(
      'invalid_threat_model',
      `input.mean and input.std give ${c} channels but input '${input}' is ${shapeText(v.shape ?? [])} (channels on axis 1)`,
      { option: 'input.mean' },
    );
  }
  const dims = c > 1 ? [c, ...new Array<number>(Math.max(0, rank - 2)).fill(1)] : [];
  const dataType = v.dataType;
  const mean = `${input}/gibbon_mean`;
  const std = `${input}/gibbon_std`;
  const inner = `${input}/gibbon_normalised`;
  const centred = `${input}/gibbon_centred`;
  g.initializers.set(mean, encodeTensor(mean, dataType, dims, typedFor(dataType, norm.mean, input) as never));
  g.initializers.set(std, encodeTensor(std, dataType, dims, typedFor(dataType, norm.std, input) as never));
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === input ? inner : i));
  for (const o of g.outputs)
    if (o.name === input) throw new GibbonError('invalid_model', `input '${input}' is also an output; gibbon cannot put a normalisation in front of it`);
  g.nodes.unshift(
    { name: `${input}/gibbon_sub_mean`, opType: 'Sub', domain: '', inputs: [input, mean], outputs: [centred], attributes: [] },
    { name: `${input}/gibbon_div_std`, opType: 'Div', domain: '', inputs: [centred, std], outputs: [inner], attributes: [] },
  );
  return out;
}
