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
  /** May be left out (shown as [name]). */
  readonly optional?: boolean;
}

export interface CommandSpec {
  readonly name: CommandName;
  readonly summary: string;
  readonly arguments: readonly ArgumentSpec[];
  readonly options: readonly OptionSpec[];
}

export type CommandName = 'info' | 'predict' | 'grad' | 'demo' | 'eval';

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

/** An accuracy bar: a fraction in [0, 1] (0.9) or a percentage (90%). */
export const accuracyBar: ValueParser = (raw) => {
  const text = raw.trim();
  const isPercent = text.endsWith('%');
  const body = isPercent ? text.slice(0, -1).trim() : text;
  const v = Number(body);
  if (body === '' || !Number.isFinite(v) || v < 0 || v > (isPercent ? 100 : 1)) {
    throw new InvalidValue('the bar must be a fraction from 0 to 1 (e.g. 0.9) or a percentage from 0% to 100% (e.g. 90%)');
  }
  return isPercent ? v / 100 : v;
};

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
  {
    name: 'eval',
    summary: 'evaluate robustness under a threat model: clean and robust accuracy per ε, masking checks, report.json and report.html',
    arguments: [{ name: 'model', description: 'ONNX model file (default: the bundled models/mnist-cnn.onnx)', optional: true }],
    options: [
      {
        flags: '--threat <file|preset>',
        description: 'threat model: a YAML/JSON file or a preset (mnist-linf-0.3, mnist-linf-0.1, mnist-l2-2.0)',
        defaultValue: 'mnist-linf-0.3',
      },
      { flags: '--data <source>', description: "examples: 'mnist-test' or an .npy file of inputs (with --labels); overrides the threat model's data" },
      { flags: '--labels <file>', description: 'true classes (.npy, integer) for --data X.npy' },
      { flags: '--n <count>', description: "first N examples (overrides the threat model's n)", parse: positiveInteger('n') },
      { flags: '--attacks <list>', description: "ensemble: 'auto' (APGD-CE then APGD-T), 'fast' (PGD-20), or a comma list of attacks", defaultValue: 'auto' },
      { flags: '--out <dir>', description: 'folder for report.json, report.html and checkpoint.json', defaultValue: 'gibbon-report' },
      { flags: '--resume', description: 'continue the evaluation checkpointed in --out (same model, threat model, data, attacks, batch size)' },
      {
        flags: '--fail-under <accuracy>',
        description: "exit with code 3 when robust accuracy at the threat model's largest ε is below this (0.9 or 90%)",
        parse: accuracyBar,
      },
      { flags: '--junit <file>', description: 'write a JUnit XML file: one test case per ε (failing below --fail-under)' },
      { flags: '--seed <n>', description: "random seed (overrides the threat model's seed)", parse: integerIn(0, 0xffffffff, 'seed') },
      { flags: '--bpda', description: 'pass gradients straight through non-differentiable ops (Round, Sign …): BPDA with the identity (Athalye et al. 2018)' },
      { ...batchSizeOption, description: 'examples per batch (the unit of checkpointing) and per onnxruntime run', defaultDescription: '128' },
      threadsOption,
    ],
  },
] satisfies CommandSpec[]);
