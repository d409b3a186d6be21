/**
 * The CLI table's commands that make or judge defenses: train, defend, certify and detect
 * (options.ts assembles the whole table).
 */
import { ARCHITECTURES } from '../training/architectures.js';
import { TEXT_ARCHITECTURES } from '../training/text-architectures.js';
import { METHODS } from '../training/methods.js';
import { accuracyBar, epsilonList, integerIn, nonNegativeList, nonNegativeNumber, positiveInteger, positiveNumber } from './option-values.js';
import { batchSizeOption, onModel, threadsOption, type CommandSpec } from './option-specs.js';

export const DEFENSE_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'train',
    summary: 'train or fine-tune a classifier (standard, PGD-AT, TRADES or fast adversarial training) and write an inference ONNX model',
    arguments: [],
    options: [
      {
        flags: '--arch <name>',
        description: `built-in architecture to train from scratch (${ARCHITECTURES.join(', ')}; text: ${TEXT_ARCHITECTURES.join(', ')})`,
        choices: [...ARCHITECTURES, ...TEXT_ARCHITECTURES],
      },
      { flags: '--model <file>', description: 'ONNX classifier to fine-tune (instead of --arch)' },
      { flags: '--params <list>', description: 'comma list of initializers to train (fine-tuning a subset)', defaultDescription: 'all trainable initializers' },
      {
        flags: '--data <source>',
        description:
          "training data: 'mnist', 'fashion-mnist' (train split), an .npy file of inputs (with --labels); text: 'spam-assassin' (train split) or a .jsonl file of {\"text\", \"label\"}",
        defaultValue: 'mnist',
      },
      { flags: '--labels <file>', description: 'true classes (.npy, integer) for --data X.npy' },
      { flags: '--n <count>', description: 'train on the first N examples only', parse: positiveInteger('n') },
      {
        flags: '--max-length <n>',
        description: 'text architectures: tokens per text the model reads',
        parse: positiveInteger('max length'),
        defaultDescription: 'words 256, characters 1000',
      },
      {
        flags: '--vocab-size <n>',
        description: 'text architectures: most tokens in the vocabulary (seen twice or more)',
        parse: positiveInteger('vocab size'),
        defaultDescription: 'words 10000, characters 300',
      },
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
  onModel(
    'defend',
    'put preprocessing defenses (bit depth, median filter, quantisation, random resize-pad) in front of a model and write it as one ONNX model',
    'ONNX model file',
    [
      {
        flags: '--preprocess <spec>',
        description:
          'comma list of steps, applied left to right: bit-depth:BITS, median:SIZE, quantize:LEVELS, resize-pad:MIN_SCALE (e.g. bit-depth:4,median:2)',
        required: true,
      },
      { flags: '--out <file>', description: 'the defended model (.onnx)', required: true },
    ],
  ),
  onModel(
    'certify',
    'certified accuracy against radius: randomized smoothing (L2, Cohen et al. 2019) or interval bound propagation (L∞)',
    'ONNX classifier (for smoothing: the base classifier, ideally trained with Gaussian noise)',
    [
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
  ),
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
];
