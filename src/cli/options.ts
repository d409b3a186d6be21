/**
 * The CLI as data: every command with its arguments and options. parse-args.ts turns this table
 * into a commander program; help texts come from it too. Values are checked here as far as the
 * command line alone allows (numbers, lists, choices); files are checked by the commands.
 */
import { EMBEDDING_LOSS, LOSS_NAMES } from '../autodiff/loss-heads.js';
import { accuracyBar, bpdaSurrogateList, epsilonList, integerIn, nonNegativeNumber, positiveInteger } from './option-values.js';
import { TEXT_EVAL_COMMAND } from './text-eval-options.js';
import { batchSizeOption, DOMAIN_OPTIONS, MODEL_INTERFACE_OPTIONS, onModel, threadsOption, type CommandName, type CommandSpec } from './option-specs.js';
import { DEFENSE_COMMANDS } from './options-defenses.js';
import { PHYSICAL_COMMANDS } from './options-physical.js';
import { GUARD_COMMAND } from './options-guard.js';
import { PROBE_COMMANDS } from './options-probe.js';
import { SHARD_EVAL_OPTIONS, WORKER_COMMAND } from './options-shard.js';

export { InvalidValue, type BpdaSurrogateSpec, type FeedSpec, type ValueParser } from './option-values.js';
export type { ArgumentSpec, CommandName, CommandSpec, OptionSpec } from './option-specs.js';

/** MNIST's test split, which the demo draws from. */
export const MNIST_TEST_SIZE = 10000;

export const DEFAULT_EPSILONS: readonly number[] = Object.freeze([0.05, 0.1, 0.2, 0.3]);

const ANALYSIS_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'info',
    summary: 'describe a model: inputs, outputs, opset, op counts, gradient support, parameters',
    arguments: [{ name: 'model', description: 'ONNX model file' }],
    options: [{ flags: '--json', description: 'print the description as JSON' }],
  },
  onModel('predict', 'classify the examples of an .npy file (or texts); optionally write the logits and report accuracy', 'ONNX model file', [
    {
      flags: '--input <file>',
      description:
        'inputs (.npy, float32/float64, or uint8 mapped from 0…255 onto --domain), shaped like the model input; for a text model a .jsonl file of {"text", "label"?}',
    },
    { flags: '--text <string>', description: 'a text for a text model (repeat for more)', repeatable: true },
    { flags: '--vocab <file>', description: "a text model's vocabulary JSON, when it is not in the model's metadata" },
    { flags: '--labels <file>', description: 'true classes (.npy, integer, one per example): report accuracy' },
    { flags: '--out <file>', description: 'write the logits (N, classes) as float32 .npy' },
    ...MODEL_INTERFACE_OPTIONS,
    ...DOMAIN_OPTIONS,
    batchSizeOption,
    threadsOption,
  ]),
  onModel('grad', 'gradient of the loss summed over the batch, with respect to the input or the parameters', 'ONNX model file', [
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
  ]),
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
        description:
          "threat model: a YAML/JSON file or a preset (mnist-linf-0.3, mnist-linf-0.1, mnist-l2-2.0); a file with 'perturbation: text' evaluates a text model (docs/text-attacks.md), 'patch' or 'universal' measures saved patches or UAPs (docs/physical.md)",
        defaultValue: 'mnist-linf-0.3',
      },
      { flags: '--data <source>', description: "examples: 'mnist-test' or an .npy file of inputs (with --labels); overrides the threat model's data" },
      { flags: '--labels <file>', description: 'true classes (.npy, integer) for --data X.npy' },
      { flags: '--n <count>', description: "first N examples (overrides the threat model's n)", parse: positiveInteger('n') },
      {
        flags: '--attacks <list>',
        description: "ensemble: 'auto' (APGD-CE, APGD-T, FAB-T, Square; HopSkipJump for decision-only), 'fast' (PGD-20), or a comma list of attacks",
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
      ...SHARD_EVAL_OPTIONS,
    ],
  },
  onModel(
    'ctc-attack',
    'L∞ PGD on a CTC sequence recogniser (text lines): change each transcription, or force --target-text',
    'ONNX recogniser: per-frame class scores (T, N, C) or (N, T, C)',
    [
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
  ),
  {
    name: 'serve-playground',
    summary: 'serve the browser playground (build it first: npm run build:web): attack an ONNX model in a web page, offline',
    arguments: [],
    options: [
      { flags: '--port <n>', description: 'TCP port (0: any free port)', parse: integerIn(0, 65535, 'port'), defaultValue: 8321 },
      { flags: '--host <address>', description: 'address to listen on (the playground needs no other machine)', defaultValue: '127.0.0.1' },
    ],
  },
  TEXT_EVAL_COMMAND,
];

const ORDER: readonly CommandName[] = [
  'info',
  'predict',
  'grad',
  'demo',
  'eval',
  'train',
  'defend',
  'certify',
  'detect',
  'ctc-attack',
  'serve-playground',
  'patch',
  'uap',
  'text-eval',
  'guard',
  'probe',
  'simulator',
  'worker',
];

/** Every command, in the order help lists them. */
export const COMMANDS: readonly CommandSpec[] = Object.freeze(
  ORDER.map((name) =>
    [...ANALYSIS_COMMANDS, ...DEFENSE_COMMANDS, ...PHYSICAL_COMMANDS, GUARD_COMMAND, WORKER_COMMAND, ...PROBE_COMMANDS].find((c) => c.name === name)!,
  ),
);
