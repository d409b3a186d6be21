/**
 * `gibbon certify MODEL --method smoothing|ibp …`: certified accuracy of a classifier.
 *
 *   smoothing  randomized smoothing (Cohen et al. 2019, certify/smoothing.ts): the L2 radius
 *              within which the smoothed classifier's prediction provably stays the same (with
 *              probability ≥ 1 − α), per example, with `--sigma --n0 --samples --alpha`.
 *   ibp        interval bound propagation (L∞); its own module, certify-ibp.ts beside this one,
 *              loaded only when asked for.
 *
 * Writes OUT/certification.json and a self-contained OUT/certification.html, prints certified
 * accuracy at a few radii, draws a progress bar per example, and keeps a checkpoint of every
 * certified example in OUT (rewritten atomically after each) that `--resume` continues; what both
 * methods do alike is in ../certification-run.ts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { GibbonError } from '../../errors.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { writeCertificationCheckpoint } from '../../certify/checkpoint.js';
import { certifiedAccuracyAt, type CertifiedAccuracyCurve, type CertifiedExample } from '../../certify/result.js';
import { certifySmoothing, REPORT_RADII } from '../../certify/smoothing-run.js';
import { checkSmoothingOptions } from '../../certify/smoothing.js';
import { renderCertificationHtml } from '../../report/certification-html.js';
import { formatPercent as pct } from '../../report/format.js';
import { argmaxRows } from '../../tensor/tensor.js';
import { certificationJson, checkDataOptions, loadCertificationData, startCertification, writeCertificationFiles } from '../certification-run.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';

export interface CertifyValues {
  readonly model: string;
  readonly method: 'smoothing' | 'ibp';
  readonly sigma?: number;
  readonly n0?: number;
  readonly samples?: number;
  readonly alpha?: number;
  readonly data: string;
  readonly labels?: string;
  readonly n: number;
  /** ibp only: the L∞ radii. */
  readonly eps?: readonly number[];
  readonly batchSize?: number;
  readonly seed: number;
  readonly out: string;
  readonly resume?: boolean;
  readonly threads?: number;
}

/** Randomized-smoothing defaults: Cohen et al.'s n0 and α, σ 0.25, and 10 000 samples (the paper: 100 000). */
export const SMOOTHING_DEFAULTS = Object.freeze({ sigma: 0.25, n0: 100, samples: 10000, alpha: 0.001, batchSize: 1000 });

const SMOOTHING_ONLY = ['sigma', 'n0', 'samples', 'alpha'] as const;

export async function run(v: CertifyValues, terminal: Terminal): Promise<void> {
  if (v.method === 'ibp') {
    const given = SMOOTHING_ONLY.filter((k) => v[k] !== undefined);
    if (given.length > 0) {
      throw new GibbonError('invalid_option', `--${given[0]} applies to --method smoothing only, not ibp`, { option: given[0] });
    }
    const { runIbpCertify } = await import('./certify-ibp.js');
    await runIbpCertify(v, terminal);
    return;
  }
  await runSmoothing(v, terminal);
}

function fileHash(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch (e) {
    throw new GibbonError('file_not_found', `cannot read the model ${path}: ${(e as Error).message}`, { path }, { cause: e });
  }
}

async function runSmoothing(v: CertifyValues, terminal: Terminal): Promise<void> {
  const options = {
    sigma: v.sigma ?? SMOOTHING_DEFAULTS.sigma,
    n0: v.n0 ?? SMOOTHING_DEFAULTS.n0,
    n: v.samples ?? SMOOTHING_DEFAULTS.samples,
    alpha: v.alpha ?? SMOOTHING_DEFAULTS.alpha,
    batchSize: v.batchSize ?? SMOOTHING_DEFAULTS.batchSize,
  };
  checkSmoothingOptions(options);
  checkDataOptions(v); // before the model is read: a bad option is the first thing reported
  const modelHash = fileHash(v.model);
  const data = loadCertificationData(v);
  const { fingerprint, done, secondsBefore } = startCertification(
    v,
    'randomized-smoothing',
    modelHash,
    data,
    { sigma: options.sigma, n0: options.n0, samples: options.n, alpha: options.alpha, seed: v.seed },
    terminal,
  );

  const model = await OnnxModel.load(v.model, { batchSize: options.batchSize, threads: v.threads });
  let bar: Progress | undefined;
  try {
    if (data.numClasses > model.numClasses) {
      throw new GibbonError('invalid_input', `${data.source} has labels up to ${data.numClasses - 1} but the model has ${model.numClasses} classes`, {
        option: 'labels',
      });
    }
    // The base classifier on the clean images: cheap, and a useful contrast.
    const base = argmaxRows(await model.logits({ data: data.x, shape: [data.n, ...data.shape] }));
    let baseCorrect = 0;
    for (let i = 0; i < data.n; i++) if (base[i] === data.y[i]) baseCorrect++;

    terminal.note(
      `certifying ${data.n} examples of ${data.source} · randomized smoothing, L2, σ ${options.sigma}, n0 ${options.n0}, n ${options.n}, α ${options.alpha}, seed ${v.seed}` +
        (done.length > 0 ? ` · resuming with ${done.length} done` : ''),
    );
    bar = await startProgress(terminal, 'certify', data.n);
    bar.update(done.length);
    const result = await certifySmoothing(
      model,
      { x: data.x, y: data.y, shape: data.shape },
      {
        ...options,
        seed: v.seed,
        done,
        secondsBefore,
        onExample: (_record, records, seconds) => {
          writeCertificationCheckpoint(v.out, fingerprint, records, seconds);
          bar?.update(records.length);
        },
      },
    );
    bar.stop();
    bar = undefined;
    const json = certificationJson({ path: v.model, sha256: modelHash }, data, {
      threat_model: { norm: 'l2', guarantee: `with probability ≥ 1 − α = ${1 - options.alpha} over the noise, per example` },
      curve: result.curve,
      base_classifier_clean_accuracy: baseCorrect / data.n,
      maximum_radius: result.maximumRadius,
      examples: result.records,
    });
    const page = renderCertificationHtml(result.curve, `Randomized smoothing — ${basename(v.model)}`, {
      model: v.model,
      data: `${data.n} examples of ${data.source}`,
      notes: [
        `The base classifier alone gets ${pct(baseCorrect / data.n)} of these examples right without noise.`,
        `With n = ${options.n} and α = ${options.alpha}, no radius above σ·Φ⁻¹(α^(1/n)) = ${result.maximumRadius.toFixed(3)} can be certified, however robust the model.`,
      ],
    });
    writeCertificationFiles(v.out, json, page, summary(result.curve, baseCorrect / data.n, result.maximumRadius, result.records), terminal);
  } finally {
    bar?.stop();
    await model.dispose();
  }
}

/** The terminal table: certified accuracy at the report radii, plus clean accuracy and abstentions. */
export function summary(curve: CertifiedAccuracyCurve, baseAccuracy: number, maximumRadius: number, records: readonly CertifiedExample[]): string {
  const p = curve.parameters;
  const lines = [
    `randomized smoothing (L2) · σ ${p.sigma} · n0 ${p.n0} · n ${p.samples} · α ${p.alpha} · ${curve.n} examples · ${curve.seconds.toFixed(0)} s`,
    `clean accuracy: smoothed ${pct(curve.clean_accuracy)} (abstained on ${curve.abstained ?? 0}), base classifier ${pct(baseAccuracy)}`,
    '',
    '  L2 radius   certified accuracy',
    ...REPORT_RADII.map((r) => `  ${r.toFixed(2).padEnd(10)}  ${pct(certifiedAccuracyAt(records, r)).padStart(6)}`),
    '',
    `largest certifiable radius at this n and α: ${maximumRadius.toFixed(3)}`,
  ];
  return lines.join('\n');
}
