/**
 * `gibbon detect fit [MODEL] --detector KIND [--data mnist] [--out detector.json]` fits a detector
 * of adversarial / out-of-distribution inputs on clean training data and calibrates its threshold
 * on a seeded held-out slice of the training split.
 *
 * `gibbon detect eval [MODEL] --detector detector.json [--n 1000] [--eps 0.3] [--out DIR]`
 * measures it: OOD (the other dataset's test split, uniform noise), plain FGSM and PGD, and the
 * adaptive attack that knows the detector; prints a table and writes report.json and report.html.
 */
import { join } from 'node:path';
import { GibbonError } from '../../errors.js';
import { loadLabelledData, splitHeldOut } from '../../data/datasets.js';
import { DETECTOR_KINDS, type DetectorKind } from '../../defenses/detectors/detector.js';
import { checkDetectorFitsModel, readDetectorFile, writeDetectorFile } from '../../defenses/detectors/detector-file.js';
import { EquippedModel } from '../../defenses/detectors/equipped-model.js';
import { evaluateDetector, type DetectionReport, type PlainAttackName } from '../../defenses/detectors/evaluate-detector.js';
import { fitDetector, type SingleDetectorKind } from '../../defenses/detectors/fit.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { loadModel } from '../../onnx/model.js';
import { Rng } from '../../random.js';
import { writeFileAtomically } from '../../storage/atomic-write.js';
import { renderDetectionHtml } from '../../report/detection-html.js';
import { checkOutputIsNotAnInput, checkWritableFile, lockOutputFolderForRun, prepareOutputFolder } from '../files.js';
import { alignColumns, shownPath } from '../format.js';
import { defaultModelPath, packageVersion } from '../package-root.js';
import { UsageError } from '../parse-args.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';

export interface DetectValues {
  readonly action: string;
  readonly model?: string;
  readonly detector: string;
  readonly data?: 'mnist' | 'fashion-mnist';
  readonly features?: string;
  readonly squeezers: string;
  readonly parts: string;
  readonly temperature: number;
  readonly fpr: number;
  readonly fitN: number;
  readonly calibrationN: number;
  readonly n: number;
  readonly attackN: number;
  readonly eps: number;
  readonly steps: number;
  readonly lambdas: readonly number[];
  readonly plainOnly?: boolean;
  readonly out?: string;
  readonly seed: number;
  readonly batchSize?: number;
  readonly threads?: number;
}

const DEFAULT_BATCH = 128;
const SINGLE_KINDS = DETECTOR_KINDS.filter((k) => k !== 'combined') as SingleDetectorKind[];

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);
const num = (v: number | null): string => (v === null ? '–' : v.toFixed(3));

/** A progress bar that follows named stages (one bar per stage). */
function stageProgress(terminal: Terminal): { update: (stage: string, done: number, total: number) => void; stop: () => Promise<void> } {
  let current = '';
  let bar: Progress | undefined;
  let chain: Promise<void> = Promise.resolve();
  return {
    update: (stage, done, total) => {
      if (stage !== current) {
        current = stage;
        chain = chain.then(async () => {
          bar?.stop();
          bar = await startProgress(terminal, stage, total, 2);
        });
      }
      chain = chain.then(() => bar?.update(done));
    },
    stop: async () => {
      await chain;
      bar?.stop();
    },
  };
}

function listOption(raw: string, option: string, valid: readonly string[]): string[] {
  const items = raw.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!valid.includes(item)) throw new UsageError(`${option} '${raw}': unknown item '${item}'; valid: ${valid.join(', ')}`, 'detect');
  }
  return items;
}

async function fit(values: DetectValues, terminal: Terminal): Promise<void> {
  if (!(DETECTOR_KINDS as readonly string[]).includes(values.detector)) {
    throw new UsageError(`detect fit --detector '${values.detector}' is not a detector kind; valid: ${DETECTOR_KINDS.join(', ')}`, 'detect');
  }
  const kind = values.detector as DetectorKind;
  const out = values.out ?? 'detector.json';
  checkWritableFile(out, '--out');
  const path = values.model ?? defaultModelPath();
  checkOutputIsNotAnInput({ path: out, option: '--out' }, [{ path, option: 'MODEL' }]);
  const model = loadModel(path);
  const dataName = values.data ?? 'mnist';
  const all = loadLabelledData({ name: dataName, split: 'train' });
  if (values.calibrationN >= all.n) {
    throw new GibbonError('invalid_option', `--calibration-n ${values.calibrationN} leaves no training examples of the ${all.n} in ${all.source}`, {
      option: '--calibration-n',
    });
  }
  const { train, heldOut } = splitHeldOut(all, values.calibrationN, values.seed);
  const fitN = Math.min(values.fitN, train.n);
  const row = train.shape.reduce((a, d) => a * d, 1);
  const shape = [...train.shape];
  const started = performance.now();
  const file = await fitDetector(
    model,
    {
      fit: { x: { data: train.x.subarray(0, fitN * row), shape: [fitN, ...shape] }, y: train.y.subarray(0, fitN) },
      calibration: { x: { data: heldOut.x, shape: [heldOut.n, ...shape] } },
      description: `${dataName}:train, seeded split (seed ${values.seed}): ${fitN} fit examples, ${heldOut.n} held-out calibration examples`,
      seed: values.seed,
    },
    {
      kind,
      features: values.features,
      squeezers: values.squeezers.split(',').map((s) => s.trim()),
      parts: kind === 'combined' ? (listOption(values.parts, '--parts', SINGLE_KINDS) as SingleDetectorKind[]) : undefined,
      temperature: values.temperature,
      targetFpr: values.fpr,
      threads: values.threads,
      batchSize: values.batchSize ?? DEFAULT_BATCH,
      onStage: (stage) => terminal.note(`· ${stage}`),
    },
    packageVersion(),
  );
  writeDetectorFile(out, { ...file, model: { ...file.model, path: shownPath(path) } });
  const c = file.calibration;
  terminal.out(
    [
      `gibbon detect fit ${shownPath(path)} (sha256 ${file.model.sha256.slice(0, 12)}…)`,
      `detector   ${kind}${file.features_choice ? `; features: ${file.features_choice}` : ''}`,
      `data       ${c.data}`,
      `threshold  ${file.threshold.toPrecision(6)} (flag when score > threshold): ${pct(c.fpr)} of the ${c.calibration_examples} held-out clean examples flagged (target ${pct(file.target_fpr)})`,
      `clean score mean ${c.score_mean.toPrecision(5)}, std ${c.score_std.toPrecision(5)}`,
      `fitted in ${((performance.now() - started) / 1000).toFixed(1)} s; detector: ${shownPath(out)}`,
    ].join('\n'),
  );
}

function uniformNoise(n: number, shape: readonly number[], seed: number): { data: Float32Array; shape: number[] } {
  const row = shape.reduce((a, d) => a * d, 1);
  return { data: new Rng(seed).fillUniform(new Float32Array(n * row)), shape: [n, ...shape] };
}

function resultLines(report: DetectionReport): string[] {
  const rows: string[][] = [['', 'positives', 'AUROC', 'TPR@5%FPR', 'TPR at τ', 'FPR at τ', 'misclassified', 'undetected success']];
  for (const r of report.rows) {
    rows.push([
      r.name,
      String(r.positives),
      num(r.auroc),
      pct(r.tpr_at_5_fpr),
      pct(r.tpr_at_threshold),
      pct(r.fpr_at_threshold),
      r.attacked !== undefined ? pct(r.misclassified_rate) : '',
      r.attacked !== undefined ? pct(r.undetected_success_rate) : '',
    ]);
  }
  return alignColumns(rows);
}

async function evaluate(values: DetectValues, terminal: Terminal): Promise<void> {
  const detectorPath = values.detector;
  const file = readDetectorFile(detectorPath);
  const path = values.model ?? defaultModelPath();
  const ir = loadModel(path);
  checkDetectorFitsModel(file, ir, shownPath(detectorPath), shownPath(path));
  const out = values.out ?? 'gibbon-detection';
  prepareOutputFolder(out, '--out');
  lockOutputFolderForRun(out, '--out');
  const fitted = /^(fashion-mnist|mnist):/.exec(file.calibration.data)?.[1] as 'mnist' | 'fashion-mnist' | undefined;
  const inName = values.data ?? fitted ?? 'mnist';
  const oodName = inName === 'mnist' ? 'fashion-mnist' : 'mnist';
  const inData = loadLabelledData({ name: inName, split: 'test', limit: values.n });
  const oodData = loadLabelledData({ name: oodName, split: 'test', limit: values.n });
  const shape = [...inData.shape];
  const threads = values.threads;
  const batchSize = values.batchSize ?? DEFAULT_BATCH;
  const classifier = await OnnxModel.load(path, { threads, batchSize });
  const equipped = await EquippedModel.create(ir, file.detector, { threads, batchSize });
  const progress = stageProgress(terminal);
  try {
    const plainAttacks: PlainAttackName[] = ['fgsm', 'pgd'];
    const report = await evaluateDetector({
      classifier,
      equipped,
      detector: file,
      detectorPath: shownPath(detectorPath),
      modelPath: shownPath(path),
      inDistribution: { name: `${inName}:test`, x: { data: inData.x, shape: [inData.n, ...shape] }, y: inData.y },
      outOfDistribution: [
        { name: `${oodName}:test`, x: { data: oodData.x, shape: [oodData.n, ...shape] } },
        { name: 'uniform noise', x: uniformNoise(values.n, shape, values.seed) },
      ],
      attackN: values.attackN,
      eps: values.eps,
      seed: values.seed,
      plainAttacks,
      adaptive: values.plainOnly ? null : { steps: values.steps, lambdas: values.lambdas },
      gibbonVersion: packageVersion(),
      onProgress: progress.update,
    }).finally(progress.stop);
    writeFileAtomically(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    const htmlPath = join(out, 'report.html');
    writeFileAtomically(htmlPath, renderDetectionHtml(report));
    const lines = [
      `gibbon detect eval ${shownPath(path)} (sha256 ${report.model.sha256.slice(0, 12)}…) with ${shownPath(detectorPath)}`,
      `detector ${report.detector.description}; threshold τ = ${report.detector.threshold.toPrecision(6)} (target FPR ${pct(report.detector.target_fpr)} on ${file.calibration.calibration_examples} held-out training examples)`,
      `clean ${report.data.in_distribution}: ${report.data.n} examples, accuracy ${pct(report.clean_accuracy)}, flagged at τ ${pct(report.clean_fpr_at_threshold)}; attacks on the first ${report.data.attack_n} correctly classified, L∞ ε = ${report.eps}, seed ${report.seed}`,
      report.adaptive
        ? `adaptive attack: knows classifier, detector and τ; PGD ${report.adaptive.steps} steps × λ ∈ {${report.adaptive.lambdas.join(', ')}}, BPDA through Round${report.adaptive.search_queries > 0 ? `, then a search over the squeezer's reachable quantised values (${report.adaptive.search_queries} forward passes)` : ''}`
        : 'adaptive attack: skipped (--plain-only)',
      '',
      ...resultLines(report),
      '',
      'positives: OOD inputs, or the misclassified adversarial examples (negatives: their clean originals); undetected success = misclassified and not flagged at τ, over the examples attacked',
      `${report.seconds.toFixed(1)} s; report: ${shownPath(htmlPath)} (and report.json)`,
    ];
    terminal.out(lines.join('\n'));
  } finally {
    await equipped.dispose();
    await classifier.dispose();
  }
}

export async function run(values: DetectValues, terminal: Terminal): Promise<void> {
  if (values.action === 'fit') return fit(values, terminal);
  if (values.action === 'eval') return evaluate(values, terminal);
  throw new UsageError(
    `unknown action '${values.action}'; give 'fit' or 'eval' (gibbon detect fit MODEL --detector KIND, gibbon detect eval MODEL --detector detector.json)`,
    'detect',
  );
}
