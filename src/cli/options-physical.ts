/**
 * The CLI table's physical-attack commands: `patch` (adversarial patches) and `uap` (universal
 * perturbations), each with the actions 'train' and 'eval' (options.ts assembles the whole table).
 */
import { PATCH_SHAPES } from '../physical/patch-set.js';
import { UAP_METHODS } from '../attacks/uap.js';
import { InvalidValue, epsilonList, integerIn, nonNegativeNumber, positiveInteger, positiveNumber, type ValueParser } from './option-values.js';
import { batchSizeOption, threadsOption, type CommandSpec, type OptionSpec } from './option-specs.js';

/** '7' (pixels) or '10%' / '0.1' (area fraction). */
export const patchSize: ValueParser = (raw) => {
  const percent = raw.endsWith('%');
  const v = Number(percent ? raw.slice(0, -1) : raw);
  if (!Number.isFinite(v) || v <= 0) throw new InvalidValue(`patch size must be pixels (7) or an area fraction (0.1 or 10%); got '${raw}'`);
  if (percent) return { fraction: v / 100 };
  if (v < 1) return { fraction: v };
  if (!Number.isInteger(v)) throw new InvalidValue(`patch size in pixels must be a whole number; got '${raw}'`);
  return v;
};

/** 'LOW,HIGH' scale range, or one number for a fixed scale. */
export const scaleRange: ValueParser = (raw) => {
  const parts = raw.split(',').map(Number);
  if (parts.length > 2 || parts.some((v) => !Number.isFinite(v) || v <= 0))
    throw new InvalidValue(`scale must be LOW,HIGH (e.g. 0.8,1.2) with positive numbers; got '${raw}'`);
  const [low, high = low] = parts as [number, number?];
  if (high! < low) throw new InvalidValue(`scale range must have LOW ≤ HIGH; got '${raw}'`);
  return [low, high];
};

const transformOptions = (when: string): OptionSpec[] => [
  { flags: '--rotation <degrees>', description: `${when}: largest |rotation| of the patch`, parse: integerIn(0, 180, 'rotation'), defaultValue: 20 },
  { flags: '--scale <low,high>', description: `${when}: scale range of the patch`, parse: scaleRange, defaultValue: [0.8, 1.2], defaultDescription: '0.8,1.2' },
  { flags: '--brightness <b>', description: `${when}: largest |brightness offset|`, parse: nonNegativeNumber('brightness'), defaultValue: 0.1 },
  { flags: '--contrast <c>', description: `${when}: largest |contrast gain − 1|`, parse: nonNegativeNumber('contrast'), defaultValue: 0.1 },
  { flags: '--blur <sigma>', description: `${when}: largest Gaussian blur σ in pixels`, parse: nonNegativeNumber('blur'), defaultValue: 0.5 },
  { flags: '--noise <std>', description: `${when}: largest standard deviation of pixel noise`, parse: nonNegativeNumber('noise'), defaultValue: 0.02 },
  { flags: '--print-scan', description: `${when}: also simulate print-and-scan (colour shift, blur, resampling, JPEG)` },
];

/** The ACTION and MODEL arguments of `patch` and `uap`. */
function actionArguments(kind: 'patch' | 'uap', model: string): CommandSpec['arguments'] {
  return [
    { name: 'action', description: `'train' (write ${kind}.json/.npy/.png and a report) or 'eval' (measure --${kind}; report)` },
    { name: 'model', description: model },
  ];
}

const dataOptions: OptionSpec[] = [
  {
    flags: '--data <source>',
    description: "'mnist', 'fashion-mnist' (train: train split; eval: test split) or an .npy of inputs (with --labels)",
    defaultValue: 'mnist',
  },
  { flags: '--labels <file>', description: 'true classes (.npy, integer) for --data X.npy' },
  { flags: '--n <count>', description: 'train: training examples (the first N)', defaultValue: 2000, parse: positiveInteger('n') },
  {
    flags: '--eval-n <count>',
    description: 'held-out examples measured (the first N of the test split, or of the hold-out)',
    defaultValue: 1000,
    parse: positiveInteger('eval-n'),
  },
  {
    flags: '--heldout <count>',
    description: '--data X.npy: examples held out (seeded) for evaluation; never trained on',
    parse: positiveInteger('heldout'),
    defaultValue: 1000,
  },
];

const runOptions = (what: string): OptionSpec[] => [
  { flags: '--out <dir>', description: `folder for ${what}, checkpoint.json, report.json and report.html`, required: true },
  { flags: '--resume', description: 'train: continue the run checkpointed in --out (same model, data and options)' },
  { flags: '--seed <n>', description: 'random seed', parse: integerIn(0, 0xffffffff, 'seed'), defaultValue: 0 },
  { flags: '--dpi <dpi>', description: 'train: print resolution written into the PNG', parse: positiveNumber('dpi'), defaultValue: 300 },
  { flags: '--print-mm <mm>', description: 'train: printed side of the patch/UAP (STEM-print.png)', parse: positiveNumber('print-mm'), defaultValue: 50 },
  { ...batchSizeOption, defaultDescription: 'patch 32, uap 64 (deepfool 1)' },
  threadsOption,
];

export const PHYSICAL_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'patch',
    summary:
      "adversarial patches (Brown et al. 2017): 'train' one with EOT over placement and viewing, or 'eval' a saved one (transfer, held-out transforms, print-and-scan)",
    arguments: actionArguments('patch', 'ONNX classifier (images NCHW in [0, 1])'),
    options: [
      { flags: '--target <class|untargeted>', description: "train: class the patch should produce, or 'untargeted'", defaultValue: 'untargeted' },
      {
        flags: '--size <pixels|fraction>',
        description: 'train: side of the square / diameter of the circle in pixels, or an area fraction (0.1, 10%)',
        parse: patchSize,
        defaultValue: { fraction: 0.0625 },
        defaultDescription: '6.25%',
      },
      { flags: '--shape <shape>', description: 'train: patch shape', choices: PATCH_SHAPES, defaultValue: 'square' },
      { flags: '--region <file>', description: 'train: allowed patch centres (.npy, H×W, non-zero = allowed)' },
      { flags: '--patch <file>', description: 'eval: the patch.json written by train' },
      { flags: '--steps <k>', description: 'train: Adam steps', parse: positiveInteger('steps'), defaultValue: 500 },
      { flags: '--lr <rate>', description: 'train: Adam learning rate', parse: positiveNumber('lr'), defaultValue: 0.03 },
      { flags: '--tv <weight>', description: 'train: total-variation penalty weight (Sharif et al. 2016)', parse: nonNegativeNumber('tv'), defaultValue: 0 },
      { flags: '--nps <weight>', description: 'train: non-printability penalty weight (Sharif et al. 2016)', parse: nonNegativeNumber('nps'), defaultValue: 0 },
      ...transformOptions('train: EOT; eval: held-out'),
      ...dataOptions,
      ...runOptions('patch.json, patch.npy, patch.png, patch-print.png'),
    ],
  },
  {
    name: 'uap',
    summary:
      "universal adversarial perturbations: 'train' one (SGD, Shafahi et al. 2020, or DeepFool-based, Moosavi-Dezfooli et al. 2017), or 'eval' a saved one",
    arguments: actionArguments('uap', 'ONNX classifier'),
    options: [
      { flags: '--eps <e>', description: 'train: budget ‖δ‖ ≤ ε', parse: positiveNumber('eps'), defaultValue: 0.3 },
      { flags: '--norm <norm>', description: 'train: norm of the budget', choices: ['linf', 'l2'], defaultValue: 'linf' },
      { flags: '--method <m>', description: 'train: sgd (projected SGD) or deepfool (the 2017 algorithm)', choices: UAP_METHODS, defaultValue: 'sgd' },
      { flags: '--epochs <k>', description: 'train: passes over the training data', parse: positiveInteger('epochs'), defaultValue: 10 },
      { flags: '--uap <file>', description: 'eval: the uap.json written by train' },
      {
        flags: '--eps-sweep <list>',
        description: 'measure δ scaled to these ε (fooling rate against ε)',
        defaultDescription: '¼, ½, ¾ and 1 × ε',
        parse: epsilonList,
      },
      { flags: '--compare <model>', description: 'a second model to measure the same δ on (transfer), e.g. a robust one' },
      ...dataOptions,
      ...runOptions('uap.json, uap.npy, uap.png, uap-print.png'),
    ],
  },
];
