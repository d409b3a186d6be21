/**
 * The shape of the CLI table (commands, arguments, options) and the options several commands share:
 * how a model as shipped is read, the input domain, threads and batch size.
 */
import { domainRange, exampleShape, feedSpec, integerIn, numberList, positiveInteger, type ValueParser } from './option-values.js';

export interface OptionSpec {
  /** Commander flags, e.g. '--batch-size <n>'. */
  readonly flags: string;
  readonly description: string;
  readonly required?: boolean;
  readonly choices?: readonly string[];
  readonly parse?: ValueParser;
  readonly defaultValue?: unknown;
  /** How the default reads in the help text (when it is not the value itself). */
  readonly defaultDescription?: string;
  /** May be given several times; the value is then the list of parsed values. */
  readonly repeatable?: boolean;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  /** May be left out (shown as [name]). */
  readonly optional?: boolean;
}

export type CommandName =
  | 'info'
  | 'predict'
  | 'grad'
  | 'demo'
  | 'eval'
  | 'train'
  | 'defend'
  | 'certify'
  | 'detect'
  | 'ctc-attack'
  | 'serve-playground'
  | 'patch'
  | 'uap'
  | 'text-eval'
  | 'guard'
  | 'probe'
  | 'simulator'
  | 'worker';

export interface CommandSpec {
  readonly name: CommandName;
  readonly summary: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: readonly OptionSpec[];
}

/** How a model as shipped is read: its other inputs, the attacked input, the class-score output. */
export const MODEL_INTERFACE_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--input-shape <dims>',
    description: "one example's shape (no batch) for symbolic input dimensions, e.g. 3,224,224",
    parse: exampleShape,
    defaultDescription: "the input .npy's",
  },
  { flags: '--feed <name=value>', description: 'value of another model input: NAME=FILE.npy or NAME=NUMBER (repeatable)', parse: feedSpec, repeatable: true },
  { flags: '--wrt-input <name>', description: 'the model input to attack and differentiate', defaultDescription: 'the first float input' },
  { flags: '--output <name>', description: 'the model output holding the class scores', defaultDescription: 'the first' },
  {
    flags: '--output-reduce <how>',
    description: 'class scores from an output of rank ≥ 3 (maps, sequences): mean or max over the other axes, or flatten',
    choices: ['mean', 'max', 'flatten'],
  },
];

/** The input domain on the command line (eval takes it from the threat model). */
export const DOMAIN_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--domain <low,high>',
    description: 'input domain, or per channel (axis 1) as low:high,low:high,…; uint8 .npy inputs are mapped from 0…255 onto it',
    parse: domainRange,
    defaultDescription: '0,1',
  },
  { flags: '--mean <list>', description: 'per-channel mean subtracted before the model (with --std): the model takes raw inputs', parse: numberList('--mean') },
  { flags: '--std <list>', description: 'per-channel standard deviation divided out before the model (with --mean)', parse: numberList('--std') },
];

export const threadsOption: OptionSpec = {
  flags: '--threads <n>',
  description: 'onnxruntime threads',
  parse: integerIn(1, 1024, 'threads'),
  defaultDescription: 'number of cores',
};

export const batchSizeOption: OptionSpec = {
  flags: '--batch-size <n>',
  description: 'examples per onnxruntime run',
  parse: positiveInteger('batch size'),
  defaultDescription: '256',
};

/** A command on one ONNX model file, its MODEL argument. */
export function onModel(name: CommandName, summary: string, model: string, options: readonly OptionSpec[]): CommandSpec {
  return { name, summary, arguments: [{ name: 'model', description: model }], options };
}
