/**
 * The command-line options that say how a model as shipped is read (--input-shape, --feed,
 * --wrt-input, --output, --output-reduce, --mean/--std) as OnnxModel options. Files named by
 * --feed are read here; errors name the option.
 */
import type { ChannelDomain } from '../model/channel-domain.js';
import { existsSync, statSync } from 'node:fs';
import { GibbonError } from '../errors.js';
import type { OutputReduction } from '../autodiff/gradient-graph.js';
import type { InputValue, Normalization } from '../model/model-inputs.js';
import { OnnxModel, type OnnxModelOptions } from '../model/onnx-model.js';
import { readNpy } from '../tensor/npy.js';
import type { Tensor } from '../tensor/tensor.js';
import { readModelInputs, type PathOption } from './files.js';
import type { FeedSpec } from './options.js';

export interface ModelInterfaceValues {
  readonly inputShape?: readonly number[];
  readonly feed?: readonly FeedSpec[];
  readonly wrtInput?: string;
  readonly output?: string;
  readonly outputReduce?: OutputReduction;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

function readFeed(spec: FeedSpec): InputValue {
  if (typeof spec.value === 'number') return spec.value;
  const path = spec.value;
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path} (--feed ${spec.name})`, { path, option: '--feed' });
  if (statSync(path).isDirectory())
    throw new GibbonError('invalid_npy', `${path} is a directory, not an .npy file (--feed ${spec.name})`, { path, option: '--feed' });
  try {
    return readNpy(path);
  } catch (e) {
    if (e instanceof GibbonError) throw new GibbonError(e.code, `${e.message} (--feed ${spec.name})`, { ...e.location, path, option: '--feed' }, { cause: e });
    throw e;
  }
}

/** The .npy's shape, read from the file, or undefined when it cannot be read (reported later, naming the option). */
export function npyShapeOf(path: string | undefined): number[] | undefined {
  if (path === undefined || !existsSync(path) || statSync(path).isDirectory()) return undefined;
  try {
    return [...readNpy(path).shape];
  } catch {
    return undefined;
  }
}

/**
 * OnnxModel options from the command line; the data (`dataPath`, read with `dataOption`) gives
 * symbolic sizes when --input-shape does not, and is checked against the declared shape first.
 */
export function modelInterfaceOptions(values: ModelInterfaceValues, dataPath?: string, dataOption = '--input'): OnnxModelOptions {
  const feeds: Record<string, InputValue> = {};
  for (const f of values.feed ?? []) {
    if (f.name in feeds) throw new GibbonError('invalid_option', `--feed ${f.name} is given twice`, { option: '--feed' });
    feeds[f.name] = readFeed(f);
  }
  const dataShape = values.inputShape ? undefined : npyShapeOf(dataPath);
  let normalization: Normalization | undefined;
  if (values.mean && values.std) {
    if (values.mean.length !== values.std.length) {
      throw new GibbonError('invalid_option', `--mean has ${values.mean.length} values but --std has ${values.std.length}; give one per channel`, {
        option: '--std',
      });
    }
    if (values.std.some((s) => !(s > 0))) throw new GibbonError('invalid_option', '--std values must be > 0', { option: '--std' });
    normalization = { mean: values.mean, std: values.std };
  }
  return {
    input: values.wrtInput,
    feeds,
    output: values.output,
    outputReduce: values.outputReduce,
    ...(values.inputShape
      ? { exampleShape: values.inputShape }
      : dataShape && dataShape.length > 0 && dataPath
        ? { exampleShape: dataShape.slice(1), exampleSource: { path: dataPath, shape: dataShape, option: dataOption } }
        : {}),
    normalization,
  };
}

export interface ModelAndInputValues extends ModelInterfaceValues {
  readonly model: string;
  readonly input: string;
  /** The input domain, or per-channel bounds (uint8 inputs are mapped onto it; predict and grad work in raw units). */
  readonly domain?: readonly [number, number] | ChannelDomain;
  readonly threads?: number;
}

/** Opens MODEL as the model options say and reads --input for it (closing the model when the inputs do not fit). */
export async function openModelWithInputs(values: ModelAndInputValues, batchSize: number): Promise<{ model: OnnxModel; x: Tensor; notes: readonly string[] }> {
  const model = await OnnxModel.load(values.model, { threads: values.threads, batchSize, ...modelInterfaceOptions(values, values.input) });
  try {
    return { model, ...readModelInputs(values.input, '--input', model, values.domain) };
  } catch (e) {
    await model.dispose();
    throw e;
  }
}

/** The files a command on MODEL and --input reads (--labels and --target when given), for checkOutputIsNotAnInput. */
export function modelCommandInputs(values: ModelAndInputValues & { readonly labels?: string; readonly target?: string }): PathOption[] {
  return [
    { path: values.model, option: 'MODEL' },
    { path: values.input, option: '--input' },
    { path: values.labels, option: '--labels' },
    { path: values.target, option: '--target' },
  ];
}
