/**
 * The CLI as data: every command with its arguments and options. parse-args.ts turns this table
 * into a commander program; help texts come from it too. Values are checked here as far as the
 * command line alone allows (numbers, lists, choices); files are checked by the commands.
 */
import { LOSS_NAMES } from '../autodiff/loss-heads.js';

/** A bad value on the command line; the message completes "option '--x <v>' argument 'v' is invalid." */
export class InvalidValue extends Error {}

export type ValueParser = (raw: string) => unknown;

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
}

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
}

export interface CommandSpec {
  readonly name: CommandName;
  readonly summary: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: readonly OptionSpec[];
}

export type CommandName = 'info' | 'predict' | 'grad' | 'demo';

/** MNIST's test split, which the demo draws from. */
export const MNIST_TEST_SIZE = 10000;

export const DEFAULT_EPSILONS: readonly number[] = Object.freeze([0.05, 0.1, 0.2, 0.3]);

function integerIn(low: number, high: number, what: string): ValueParser {
  return (raw) => {
    const v = Number(raw.trim());
    if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(v) || v < low || v > high) {
      throw new InvalidValue(`${what} must be an integer from ${low} to ${high}`);
    }
    return v;
  };
}

export const positiveInteger = (what: string): ValueParser => integerIn(1, Number.MAX_SAFE_INTEGER, what);

/** Comma-separated ε values, each a finite number ≥ 0, e.g. '0.05,0.1'. */
export const epsilonList: ValueParser = (raw) => {
  const parts = raw.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v) || v < 0)) {
    throw new InvalidValue('ε must be a comma-separated list of numbers ≥ 0, e.g. 0.05,0.1,0.2');
  }
  return values;
};

const threadsOption: OptionSpec = {
  flags: '--threads <n>',
  description: 'onnxruntime threads',
  parse: integerIn(1, 1024, 'threads'),
  defaultDescription: 'number of cores',
};

const batchSizeOption: OptionSpec = {
  flags: '--batch-size <n>',
  description: 'examples per onnxruntime run',
  parse: positiveInteger('batch size'),
  defaultDescription: '256',
};

export const COMMANDS: readonly CommandSpec[] = Object.freeze([
  {
    name: 'info',
    summary: 'describe a model: inputs, outputs, opset, op counts, gradient support, parameters',
    arguments: [{ name: 'model', description: 'ONNX model file' }],
    options: [{ flags: '--json', description: 'print the description as JSON' }],
  },
  {
    name: 'predict',
    summary: 'classify the examples of an .npy file; optionally write the logits and report accuracy',
    arguments: [{ name: 'model', description: 'ONNX model file' }],
    options: [
      { flags: '--input <file>', description: 'inputs (.npy, float32/float64, or uint8 pixels scaled by 1/255), shaped like the model input', required: true },
      { flags: '--labels <file>', description: 'true classes (.npy, integer, one per example): report accuracy' },
      { flags: '--out <file>', description: 'write the logits (N, classes) as float32 .npy' },
      batchSizeOption,
      threadsOption,
    ],
  },
  {
    name: 'grad',
    summary: 'gradient of the loss summed over the batch, with respect to the input or the parameters',
    arguments: [{ name: 'model', description: 'ONNX model file' }],
    options: [
      { flags: '--input <file>', description: 'inputs (.npy), as for predict', required: true },
      { flags: '--labels <file>', description: 'true classes (.npy, integer, one per example)', required: true },
      { flags: '--loss <name>', description: 'loss head (each grows towards attack success)', choices: LOSS_NAMES, required: true },
      { flags: '--target <file>', description: 'target classes (.npy) for the targeted losses' },
      {
        flags: '--wrt <what>',
        description: "'input': one .npy shaped like the input; 'params': a folder with <initializer>.npy per trainable initializer",
        choices: ['input', 'params'],
        defaultValue: 'input',
      },
      { flags: '--out <path>', description: 'output .npy file (--wrt input) or folder (--wrt params)', required: true },
      batchSizeOption,
      threadsOption,
    ],
  },
  {
    name: 'demo',
    summary: 'FGSM (Goodfellow et al. 2015) on MNIST test images: clean versus adversarial accuracy',
    arguments: [],
    options: [
      { flags: '--model <file>', description: 'ONNX MNIST classifier', defaultDescription: 'the bundled models/mnist-cnn.onnx' },
      { flags: '--n <count>', description: 'first N MNIST test images', parse: integerIn(1, MNIST_TEST_SIZE, 'n'), defaultValue: 1000 },
      {
        flags: '--eps <list>',
        description: 'L∞ budgets, comma-separated',
        parse: epsilonList,
        defaultValue: DEFAULT_EPSILONS,
        defaultDescription: DEFAULT_EPSILONS.join(','),
      },
      batchSizeOption,
      threadsOption,
    ],
  },
] satisfies CommandSpec[]);
