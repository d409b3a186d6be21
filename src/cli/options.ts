/**
 * The CLI as data: every command with its arguments and options. parse-args.ts turns this table
 * into a commander program; help texts come from it too. Values are checked here as far as the
 * command line alone allows (numbers, lists, choices); files are checked by the commands.
 */
import { EMBEDDING_LOSS, LOSS_NAMES } from '../autodiff/loss-heads.js';
import { ARCHITECTURES } from '../training/architectures.js';
import { METHODS } from '../training/methods.js';
import { parseChannelDomain } from '../model/channel-domain.js';

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
  /** May be given several times; the value is then the list of parsed values. */
  readonly repeatable?: boolean;
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

export type CommandName = 'info' | 'predict' | 'grad' | 'demo' | 'eval' | 'train' | 'defend' | 'certify' | 'detect' | 'ctc-attack';

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

/** Comma-separated numbers ≥ 0 (`what` names them in the error, `example` shows a valid list). */
function nonNegativeList(what: string, example: string): ValueParser {
  return (raw) => {
    const parts = raw.split(',').map((s) => s.trim());
    const values = parts.map(Number);
    if (parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v) || v < 0)) {
      throw new InvalidValue(`${what} must be a comma-separated list of numbers ≥ 0, e.g. ${example}`);
    }
    return values;
  };
}

/** Comma-separated ε values, each a finite number ≥ 0, e.g. '0.05,0.1'. */
export const epsilonList: ValueParser = nonNegativeList('ε', '0.05,0.1,0.2');

function numberAtLeast(low: number, strict: boolean, what: string): ValueParser {
  return (raw) => {
    const v = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(v) || v < low || (strict && v === low)) {
      throw new InvalidValue(`${what} must be a number ${strict ? '>' : '≥'} ${low}`);
    }
    return v;
  };
}

export interface BpdaSurrogateSpec {
  /** Op type or node name; absent: every non-differentiable node. */
  readonly target?: string;
  readonly path: string;
}

/** `FILE` or a comma list of `[OP_OR_NODE=]FILE`. */
export const bpdaSurrogateList: ValueParser = (raw) => {
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new InvalidValue('give FILE.onnx or a comma list of OP_OR_NODE=FILE.onnx, e.g. Round=smooth-round.onnx');
  return parts.map((p): BpdaSurrogateSpec => {
    const eq = p.indexOf('=');
    if (eq < 0) return { path: p };
    const [target, path] = [p.slice(0, eq).trim(), p.slice(eq + 1).trim()];
    if (target === '' || path === '') throw new InvalidValue(`'${p}' should read OP_OR_NODE=FILE.onnx, e.g. Round=smooth-round.onnx`);
    return { target, path };
  });
};

export const positiveNumber = (what: string): ValueParser => numberAtLeast(0, true, what);
export const nonNegativeNumber = (what: string): ValueParser => numberAtLeast(0, false, what);

/** One example's shape: comma-separated positive integers, e.g. 3,224,224. */
export const exampleShape: ValueParser = (raw) => {
  const parts = raw.split(',').map((s) => s.trim());
  const dims = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || dims.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new InvalidValue("give one example's shape without the batch, as comma-separated positive integers, e.g. 3,224,224");
  }
  return dims;
};

export interface FeedSpec {
  readonly name: string;
  /** A number, or the path of an .npy file. */
  readonly value: number | string;
}

/** NAME=FILE.npy or NAME=NUMBER. */
export const feedSpec: ValueParser = (raw) => {
  const eq = raw.indexOf('=');
  const name = eq < 0 ? '' : raw.slice(0, eq).trim();
  const value = eq < 0 ? '' : raw.slice(eq + 1).trim();
  if (name === '' || value === '') throw new InvalidValue('give NAME=FILE.npy or NAME=NUMBER, e.g. state=state.npy or sr=16000');
  const n = Number(value);
  return { name, value: value !== '' && Number.isFinite(n) && /^[-+0-9.eE]+$/.test(value) ? n : value } satisfies FeedSpec;
};

/** LOW,HIGH with LOW < HIGH, or per-channel bounds LOW:HIGH,LOW:HIGH,… (model/channel-domain.ts). */
export const domainRange: ValueParser = (raw) => {
  if (raw.includes(':')) {
    try {
      return parseChannelDomain(raw);
    } catch (e) {
      throw new InvalidValue((e as Error).message);
    }
  }
  const parts = raw.split(',').map((s) => s.trim());
  const v = parts.map(Number);
  if (parts.length !== 2 || parts.some((p) => p === '') || v.some((x) => !Number.isFinite(x)) || !(v[0]! < v[1]!)) {
    throw new InvalidValue('give the input domain as LOW,HIGH with LOW < HIGH, e.g. 0,255 or -1,1, or per channel as LOW:HIGH,…, e.g. 0:1,-100:100');
  }
  return v;
};

/** Comma-separated finite numbers (one per channel). */
const numberList =
  (what: string): ValueParser =>
  (raw) => {
    const parts = raw.split(',').map((s) => s.trim());
    const v = parts.map(Number);
    if (parts.some((p) => p === '') || v.some((x) => !Number.isFinite(x)))
      throw new InvalidValue(`${what} must be comma-separated numbers, one per channel, e.g. 123.675,116.28,103.53`);
    return v;
  };

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
      {
        flags: '--input <file>',
        description: 'inputs (.npy, float32/float64, or uint8 mapped from 0…255 onto --domain), shaped like the model input',
        required: true,
      },
      { flags: '--labels <file>', description: 'true classes (.npy, integer, one per example): report accuracy' },
      { flags: '--out <file>', description: 'write the logits (N, classes) as float32 .npy' },
      ...MODEL_INTERFACE_OPTIONS,
      ...DOMAIN_OPTIONS,
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
      { flags: '--labels <file>', description: 'true classes (.npy, integer, one per example); required except with --loss embedding' },
      {
        flags: '--loss <name>',
        description: "loss head (each grows towards attack success); 'embedding': squared distance of the output embedding from --reference",
        choices: [...LOSS_NAMES, EMBEDDING_LOSS],
        required: true,
      },
      { flags: '--target <file>', description: 'target classes (.npy) for the targeted losses' },
      { flags: '--reference <file>', description: "--loss embedding: reference embeddings (.npy, float, (N, D)), e.g. the clean inputs' from predict --out" },
      {
        flags: '--wrt <what>',
        description: "'input': one .npy shaped like the input; 'params': a folder with <initializer>.npy per trainable initializer",
        choices: ['input', 'params'],
        defaultValue: 'input',
      },
      { flags: '--out <path>', description: 'output .npy file (--wrt input) or folder (--wrt params)', required: true },
      ...MODEL_INTERFACE_OPTIONS,
      ...DOMAIN_OPTIONS,
      batchSizeOption,
      threadsOption,
    ],
  },
  {
    name: 'demo',
    summary: 'FGSM (Goodfellow et al. 2015) on MNIST test images: clean versus adversarial accuracy',
    arguments: [],
    options: [
      { flags: '--model <file>', description: 'ONNX MNIST classifier', defaultDescription: 'the bundled models/mnist-standard.onnx' },
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
    arguments: [{ name: 'model', description: 'ONNX model file (default: the bundled models/mnist-standard.onnx)', optional: true }],
    options: [
      {
        flags: '--threat <file|preset>',
        description: 'threat model: a YAML/JSON file or a preset (mnist-linf-0.3, mnist-linf-0.1, mnist-l2-2.0)',
        defaultValue: 'mnist-linf-0.3',
      },
      { flags: '--data <source>', description: "examples: 'mnist-test' or an .npy file of inputs (with --labels); overrides the threat model's data" },
      { flags: '--labels <file>', description: 'true classes (.npy, integer) for --data X.npy' },
      { flags: '--n <count>', description: "first N examples (overrides the threat model's n)", parse: positiveInteger('n') },
      {
        flags: '--attacks <list>',
        description: "ensemble: 'auto' (APGD-CE, APGD-T, Square; HopSkipJump for decision-only), 'fast' (PGD-20), or a comma list of attacks",
        defaultValue: 'auto',
      },
      { flags: '--out <dir>', description: 'folder for report.json, report.html and checkpoint.json', defaultValue: 'gibbon-report' },
      { flags: '--resume', description: 'continue the evaluation checkpointed in --out (same model, threat model, data, attacks, batch size)' },
      {
        flags: '--save-adversarials <dir>',
        description: 'write the adversarial examples found to DIR: eps-<ε>.npy and manifest.json (index, ε, attack, label, predicted class, distance)',
      },
      {
        flags: '--fail-under <accuracy>',
        description: "exit with code 3 when robust accuracy at the threat model's largest ε is below this (0.9 or 90%)",
        parse: accuracyBar,
      },
      { flags: '--junit <file>', description: 'write a JUnit XML file: one test case per ε (failing below --fail-under)' },
      { flags: '--seed <n>', description: "random seed (overrides the threat model's seed)", parse: integerIn(0, 0xffffffff, 'seed') },
      { flags: '--bpda', description: 'pass gradients straight through non-differentiable ops (Round, Sign …): BPDA with the identity (Athalye et al. 2018)' },
      {
        flags: '--bpda-surrogate <spec>',
        description:
          'BPDA with differentiable surrogates on the backward pass: FILE.onnx (one input, one output) for every non-differentiable op, or a comma list of OP_OR_NODE=FILE.onnx',
        parse: bpdaSurrogateList,
      },
      {
        flags: '--eot <n>',
        description: 'EOT for randomised models: average every gradient over N passes (each counts as a query)',
        parse: positiveInteger('eot'),
      },
      ...MODEL_INTERFACE_OPTIONS,
      { ...batchSizeOption, description: 'examples per batch (the unit of checkpointing) and per onnxruntime run', defaultDescription: '128' },
      threadsOption,
    ],
  },
  {
    name: 'train',
    summary: 'train or fine-tune a classifier (standard, PGD-AT, TRADES or fast adversarial training) and write an inference ONNX model',
    arguments: [],
    options: [
      { flags: '--arch <name>', description: `built-in architecture to train from scratch (${ARCHITECTURES.join(', ')})`, choices: ARCHITECTURES },
      { flags: '--model <file>', description: 'ONNX classifier to fine-tune (instead of --arch)' },
      { flags: '--params <list>', description: 'comma list of initializers to train (fine-tuning a subset)', defaultDescription: 'all trainable initializers' },
      {
        flags: '--data <source>',
        description: "training data: 'mnist', 'fashion-mnist' (train split) or an .npy file of inputs (with --labels)",
        defaultValue: 'mnist',
      },
      { flags: '--labels <file>', description: 'true classes (.npy, integer) for --data X.npy' },
      { flags: '--n <count>', description: 'train on the first N examples only', parse: positiveInteger('n') },
      {
        flags: '--heldout <count>',
        description: 'examples held out (seeded) for the per-epoch clean and PGD accuracy; 0 for none',
        parse: integerIn(0, Number.MAX_SAFE_INTEGER, 'heldout'),
        defaultValue: 1000,
      },
      {
        flags: '--method <name>',
        description:
          'standard | pgd-at (Madry et al. 2018) | trades (Zhang et al. 2019) | fast-at (Wong et al. 2020) | gaussian (noise augmentation, Cohen et al. 2019) | ibp (interval bound propagation, Gowal et al. 2018)',
        choices: METHODS,
        defaultValue: 'standard',
      },
      { flags: '--norm <name>', description: 'perturbation set of the adversarial methods', choices: ['linf', 'l2'], defaultValue: 'linf' },
      {
        flags: '--eps <e>',
        description: 'perturbation budget ε of the adversarial methods (and of the held-out PGD)',
        parse: nonNegativeNumber('eps'),
        defaultValue: 0.3,
      },
      {
        flags: '--steps <k>',
        description: 'attack steps per training batch',
        parse: positiveInteger('steps'),
        defaultDescription: 'pgd-at/trades 40, fast-at 1',
      },
      {
        flags: '--step-size <a>',
        description: 'attack step size',
        parse: positiveNumber('step size'),
        defaultDescription: 'pgd-at/trades ε/30, fast-at 1.25·ε',
      },
      {
        flags: '--eps-ramp <epochs>',
        description: 'grow ε linearly from 0 over the first N epochs (ibp: per step, κ with it)',
        parse: integerIn(0, 100000, 'eps ramp'),
      },
      {
        flags: '--kappa-final <k>',
        description: 'ibp: final weight κ of the clean loss (κ·CE(clean) + (1 − κ)·CE(worst case)), ramped from 1 with ε',
        parse: nonNegativeNumber('kappa final'),
        defaultValue: 0.5,
      },
      { flags: '--beta <b>', description: 'TRADES β (weight of the robustness term)', parse: nonNegativeNumber('beta'), defaultValue: 6 },
      {
        flags: '--sigma <s>',
        description: "standard deviation of the Gaussian noise added to every training input by method 'gaussian'",
        parse: positiveNumber('sigma'),
        defaultValue: 0.25,
      },
      { flags: '--epochs <n>', description: 'passes over the training data', parse: positiveInteger('epochs'), defaultValue: 10 },
      { ...batchSizeOption, description: 'examples per optimizer step', defaultDescription: '128' },
      { flags: '--optimizer <name>', description: 'sgd | adam | adamw (PyTorch semantics)', choices: ['sgd', 'adam', 'adamw'], defaultValue: 'adam' },
      {
        flags: '--lr <rate>',
        description: 'learning rate (peak rate for one-cycle)',
        parse: positiveNumber('lr'),
        defaultDescription: 'adam/adamw 1e-3, sgd 0.01',
      },
      { flags: '--momentum <m>', description: 'SGD momentum', parse: nonNegativeNumber('momentum'), defaultValue: 0.9 },
      { flags: '--nesterov', description: 'SGD with Nesterov momentum' },
      {
        flags: '--weight-decay <w>',
        description: 'weight decay (L2 for sgd/adam, decoupled for adamw)',
        parse: nonNegativeNumber('weight decay'),
        defaultDescription: 'adamw 0.01, else 0',
      },
      {
        flags: '--schedule <spec>',
        description: 'learning-rate schedule: constant | step:EPOCHS[:GAMMA] | cosine | one-cycle[:PCT_START]',
        defaultValue: 'constant',
      },
      { flags: '--clip-grad <norm>', description: 'clip the global gradient norm to this', parse: positiveNumber('clip-grad') },
      {
        flags: '--eval-steps <k>',
        description: 'PGD steps of the held-out evaluation (step ε/4, random start)',
        parse: positiveInteger('eval steps'),
        defaultValue: 10,
      },
      {
        flags: '--out <file>',
        description: 'the trained model (.onnx); the checkpoint goes to FILE.ckpt and the per-epoch log to FILE.log.jsonl',
        required: true,
      },
      { flags: '--resume', description: 'continue from the checkpoint FILE.ckpt of an interrupted run with the same options' },
      {
        flags: '--seed <n>',
        description: 'random seed (initial weights, shuffling, attacks, dropout)',
        parse: integerIn(0, 0xffffffff, 'seed'),
        defaultValue: 0,
      },
      threadsOption,
    ],
  },
  {
    name: 'defend',
    summary: 'put preprocessing defenses (bit depth, median filter, quantisation, random resize-pad) in front of a model and write it as one ONNX model',
    arguments: [{ name: 'model', description: 'ONNX model file' }],
    options: [
      {
        flags: '--preprocess <spec>',
        description:
          'comma list of steps, applied left to right: bit-depth:BITS, median:SIZE, quantize:LEVELS, resize-pad:MIN_SCALE (e.g. bit-depth:4,median:2)',
        required: true,
      },
      { flags: '--out <file>', description: 'the defended model (.onnx)', required: true },
    ],
  },
  {
    name: 'certify',
    summary: 'certified accuracy against radius: randomized smoothing (L2, Cohen et al. 2019) or interval bound propagation (L∞)',
    arguments: [{ name: 'model', description: 'ONNX classifier (for smoothing: the base classifier, ideally trained with Gaussian noise)' }],
    options: [
      {
        flags: '--method <name>',
        description: 'smoothing (randomized smoothing) | ibp (interval bound propagation)',
        choices: ['smoothing', 'ibp'],
        defaultValue: 'smoothing',
      },
      { flags: '--sigma <s>', description: 'smoothing: standard deviation of the Gaussian noise', parse: positiveNumber('sigma'), defaultDescription: '0.25' },
      { flags: '--n0 <count>', description: 'smoothing: noisy samples that select the top class', parse: positiveInteger('n0'), defaultDescription: '100' },
      {
        flags: '--samples <count>',
        description: 'smoothing: noisy samples that estimate its probability (n)',
        parse: positiveInteger('samples'),
        defaultDescription: '10000',
      },
      { flags: '--alpha <a>', description: 'smoothing: failure probability of each certificate', parse: positiveNumber('alpha'), defaultDescription: '0.001' },
      { flags: '--eps <list>', description: 'ibp: L∞ radii to certify, comma-separated', parse: epsilonList, defaultDescription: '0.01,0.02,0.05,0.1,0.2,0.3' },
      {
        flags: '--data <source>',
        description: "examples: 'mnist', 'fashion-mnist' (test split) or an .npy file of inputs (with --labels)",
        defaultValue: 'mnist',
      },
      { flags: '--labels <file>', description: 'true classes (.npy, integer) for --data X.npy' },
      { flags: '--n <count>', description: 'certify the first N examples', parse: positiveInteger('n'), defaultValue: 200 },
      { ...batchSizeOption, description: 'noisy copies per onnxruntime run', defaultDescription: '1000' },
      { flags: '--seed <n>', description: 'random seed of the noise', parse: integerIn(0, 0xffffffff, 'seed'), defaultValue: 0 },
      { flags: '--out <dir>', description: 'folder for certification.json, certification.html and the checkpoint', defaultValue: 'gibbon-certification' },
      { flags: '--resume', description: 'continue the certification checkpointed in --out (same model, data and options)' },
      threadsOption,
    ],
  },
  {
    name: 'detect',
    summary: "detectors of adversarial and out-of-distribution inputs: 'fit' one on clean training data, or 'eval' it (OOD, plain and adaptive attacks)",
    arguments: [
      { name: 'action', description: "'fit' (fit and calibrate a detector, write detector.json) or 'eval' (measure it; report.json and report.html)" },
      { name: 'model', description: 'ONNX classifier (default: the bundled models/mnist-standard.onnx)', optional: true },
    ],
    options: [
      {
        flags: '--detector <kind|file>',
        description: 'fit: msp | energy | mahalanobis | squeeze | combined; eval: the detector.json written by fit',
        required: true,
      },
      {
        flags: '--data <name>',
        description: "in-distribution data: 'mnist' or 'fashion-mnist' (fit: train split; eval: test split, the other one is the OOD set)",
        choices: ['mnist', 'fashion-mnist'],
        defaultDescription: 'fit: mnist; eval: the data the detector was fitted on',
      },
      {
        flags: '--features <node>',
        description: 'fit (mahalanobis, combined): node or value whose activations are the features',
        defaultDescription: 'the pre-activation input of the last Gemm/MatMul',
      },
      {
        flags: '--squeezers <list>',
        description: 'fit (squeeze, combined): comma list of bit-depth:BITS, median:SIZE, quantize:LEVELS',
        defaultValue: 'bit-depth:1,median:2',
      },
      { flags: '--parts <list>', description: 'fit (combined): comma list of the detectors to combine', defaultValue: 'energy,mahalanobis,squeeze' },
      { flags: '--temperature <t>', description: 'fit (energy): temperature T', parse: positiveNumber('temperature'), defaultValue: 1 },
      {
        flags: '--fpr <rate>',
        description: 'fit: target false-positive rate of the threshold on clean held-out data (0.05 or 5%)',
        parse: accuracyBar,
        defaultValue: 0.05,
        defaultDescription: '5%',
      },
      {
        flags: '--fit-n <count>',
        description: 'fit: training examples the Mahalanobis statistics are fitted on',
        parse: positiveInteger('fit-n'),
        defaultValue: 10000,
      },
      {
        flags: '--calibration-n <count>',
        description: 'fit: held-out training examples (seeded) for standardisation and the threshold',
        parse: positiveInteger('calibration-n'),
        defaultValue: 2000,
      },
      { flags: '--n <count>', description: 'eval: clean test inputs, and inputs of each OOD set', parse: positiveInteger('n'), defaultValue: 1000 },
      { flags: '--attack-n <count>', description: 'eval: correctly classified test inputs to attack', parse: positiveInteger('attack-n'), defaultValue: 300 },
      { flags: '--eps <e>', description: 'eval: L∞ budget of the attacks', parse: nonNegativeNumber('eps'), defaultValue: 0.3 },
      { flags: '--steps <k>', description: 'eval: steps of the adaptive attack per λ', parse: positiveInteger('steps'), defaultValue: 100 },
      {
        flags: '--lambdas <list>',
        description: "eval: weights λ of the detector term in the adaptive attack's objective, tried in turn",
        parse: nonNegativeList('λ', '0.1,1,10'),
        defaultValue: [0.1, 1, 10],
        defaultDescription: '0.1,1,10',
      },
      { flags: '--plain-only', description: 'eval: skip the adaptive attack' },
      {
        flags: '--out <path>',
        description: 'fit: the detector file; eval: folder for report.json and report.html',
        defaultDescription: 'fit: detector.json; eval: gibbon-detection',
      },
      { flags: '--seed <n>', description: 'random seed (held-out split, noise inputs, attacks)', parse: integerIn(0, 0xffffffff, 'seed'), defaultValue: 0 },
      { ...batchSizeOption, defaultDescription: '128' },
      threadsOption,
    ],
  },
  {
    name: 'ctc-attack',
    summary: 'L∞ PGD on a CTC sequence recogniser (text lines): change each transcription, or force --target-text',
    arguments: [{ name: 'model', description: 'ONNX recogniser: per-frame class scores (T, N, C) or (N, T, C)' }],
    options: [
      { flags: '--input <file>', description: 'lines (.npy), as for predict', required: true },
      { flags: '--charset <chars>', description: 'characters of the non-blank classes, in class order (needed for --target-text)' },
      { flags: '--blank <k>', description: 'blank class', parse: integerIn(0, 1_000_000, 'blank'), defaultValue: 0 },
      { flags: '--layout <layout>', description: 'output layout', choices: ['TNC', 'NTC'], defaultDescription: 'found from the batch axis' },
      {
        flags: '--target-text <list>',
        description: 'string to force: one for every line, or a comma list with one per line',
        parse: (raw: string) => raw.split(','),
      },
      { flags: '--eps <e>', description: 'L∞ budget', parse: nonNegativeNumber('eps'), defaultValue: 0.15 },
      { flags: '--steps <k>', description: 'PGD steps (step size ε/20, no random start)', parse: positiveInteger('steps'), defaultValue: 100 },
      { flags: '--out <file>', description: 'write the adversarial lines (.npy, float32)' },
      {
        flags: '--grad <file>',
        description: 'write the input gradient of the loss (+CTC of the transcription, or −CTC of the target) at the clean lines (.npy)',
      },
      { flags: '--seed <n>', description: 'random seed', parse: integerIn(0, 0xffffffff, 'seed'), defaultValue: 0 },
      { ...batchSizeOption, defaultDescription: '64' },
      threadsOption,
    ],
  },
] satisfies CommandSpec[]);
