/**
 * `gibbon certify MODEL --method smoothing|ibp …`: certified accuracy of a classifier.
 *
 *   smoothing  randomized smoothing (Cohen et al. 2019, certify/smoothing.ts): the L2 radius
 *              within which the smoothed classifier's prediction provably stays the same (with
 *              probability ≥ 1 − α), per example, with `--sigma --n0 --samples --alpha`.
 *   ibp        interval bound propagation (L∞); its own module, certify/ibp-command.ts, loaded
 *              only when asked for.
 *
 * Writes OUT/certification.json and a self-contained OUT/certification.html, prints certified
 * accuracy at a few radii, draws a progress bar per example, and keeps a checkpoint of every
 * certified example in OUT (rewritten atomically after each) that `--resume` continues.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { GibbonError } from '../../errors.js';
import { loadLabelledData } from '../../data/datasets.js';
import { OnnxModel } from '../../model/onnx-model.js';
import { checkpointPath, fingerprintChanges, readCertificationCheckpoint, writeCertificationCheckpoint } from '../../certify/checkpoint.js';
import { certifiedAccuracyAt, type CertifiedAccuracyCurve, type CertifiedExample } from '../../certify/result.js';
import { certifySmoothing, REPORT_RADII } from '../../certify/smoothing-run.js';
import { checkSmoothingOptions } from '../../certify/smoothing.js';
import { writeFileAtomically } from '../../report/atomic-write.js';
import { renderCertificationHtml } from '../../report/certification-html.js';
import { argmaxRows } from '../../tensor/tensor.js';
import { prepareOutputFolder } from '../files.js';
import { packageVersion } from '../package-root.js';
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
  readonly batchSize?: number;
  readonly seed: number;
  readonly out: string;
  readonly resume?: boolean;
  readonly threads?: number;
}

export const CERTIFICATION_JSON_FILE = 'certification.json';
export const CERTIFICATION_HTML_FILE = 'certification.html';

/** Randomized-smoothing defaults: Cohen et al.'s n0 and α, σ 0.25, and 10 000 samples (the paper: 100 000). */
export const SMOOTHING_DEFAULTS = Object.freeze({ sigma: 0.25, n0: 100, samples: 10000, alpha: 0.001, batchSize: 1000 });

const SMOOTHING_ONLY = ['sigma', 'n0', 'samples', 'alpha'] as const;

/** The module that certifies with IBP; written separately, so a build may not have it yet. */
interface IbpCommandModule {
  runIbpCertify(values: CertifyValues, terminal: Terminal): Promise<void>;
}

export async function run(v: CertifyValues, terminal: Terminal): Promise<void> {
  if (v.method === 'ibp') {
    const given = SMOOTHING_ONLY.filter((k) => v[k] !== undefined);
    if (given.length > 0) {
      throw new GibbonError('invalid_option', `--${given[0]} applies to --method smoothing only, not ibp`, { option: given[0] });
    }
    const module = await loadIbpModule();
    await module.runIbpCertify(v, terminal);
    return;
  }
  await runSmoothing(v, terminal);
}

async function loadIbpModule(): Promise<IbpCommandModule> {
  // A computed specifier: the module is optional at build time.
  const specifier = '../../certify/ibp-command.js';
  try {
    return (await import(specifier)) as IbpCommandModule;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('ibp-command')) {
      throw new GibbonError(
        'invalid_option',
        '--method ibp is not available in this build of gibbon (no certify/ibp-command module); use --method smoothing',
        { option: 'method' },
        { cause: e },
      );
    }
    throw e;
  }
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
  const named = v.data === 'mnist' || v.data === 'fashion-mnist';
  if (named && v.labels !== undefined)
    throw new GibbonError('invalid_option', `--labels goes with --data X.npy, not with the named dataset '${v.data}'`, { option: 'labels' });
  if (!named && v.labels === undefined)
    throw new GibbonError('invalid_option', `--data ${v.data} needs --labels Y.npy (or use --data mnist or fashion-mnist)`, { option: 'labels' });
  const modelHash = fileHash(v.model);
  const data = named
    ? loadLabelledData({ name: v.data as 'mnist' | 'fashion-mnist', split: 'test', limit: v.n })
    : loadLabelledData({ x: v.data, y: v.labels!, limit: v.n });
  prepareOutputFolder(v.out, '--out');

  // Everything the records depend on (not the batch size or threads: they change no number).
  const fingerprint: Record<string, number | string> = {
    method: 'randomized-smoothing',
    model_sha256: modelHash,
    data: data.source,
    n: data.n,
    sigma: options.sigma,
    n0: options.n0,
    samples: options.n,
    alpha: options.alpha,
    seed: v.seed,
  };
  const ckPath = checkpointPath(v.out);
  const checkpoint = readCertificationCheckpoint(v.out);
  let done: readonly CertifiedExample[] = [];
  let secondsBefore = 0;
  if (checkpoint && v.resume) {
    const changes = fingerprintChanges(checkpoint.fingerprint, fingerprint);
    if (changes.length > 0) {
      throw new GibbonError(
        'invalid_checkpoint',
        `${ckPath} was made with different options (${changes.join('; ')}); rerun with the same options, use another --out, or drop --resume to start over`,
        { path: ckPath },
      );
    }
    done = checkpoint.records;
    secondsBefore = checkpoint.seconds;
  } else if (checkpoint) {
    terminal.note(`note: ${ckPath} exists from an earlier run; it will be overwritten (use --resume to continue it)`);
  } else if (v.resume) {
    terminal.note(`note: no checkpoint in ${v.out}; starting from the first example`);
  }

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
    const json = {
      format: 'gibbon-certification',
      version: 1,
      gibbon_version: packageVersion(),
      model: { path: v.model, sha256: modelHash },
      data: { source: data.source, n: data.n },
      threat_model: { norm: 'l2', guarantee: `with probability ≥ 1 − α = ${1 - options.alpha} over the noise, per example` },
      curve: result.curve,
      base_classifier_clean_accuracy: baseCorrect / data.n,
      maximum_radius: result.maximumRadius,
      examples: result.records,
    };
    const jsonPath = join(v.out, CERTIFICATION_JSON_FILE);
    const htmlPath = join(v.out, CERTIFICATION_HTML_FILE);
    writeFileAtomically(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
    writeFileAtomically(
      htmlPath,
      renderCertificationHtml(result.curve, `Randomized smoothing — ${basename(v.model)}`, {
        model: v.model,
        data: `${data.n} examples of ${data.source}`,
        notes: [
          `The base classifier alone gets ${pct(baseCorrect / data.n)} of these examples right without noise.`,
          `With n = ${options.n} and α = ${options.alpha}, no radius above σ·Φ⁻¹(α^(1/n)) = ${result.maximumRadius.toFixed(3)} can be certified, however robust the model.`,
        ],
      }),
    );
    terminal.out(summary(result.curve, baseCorrect / data.n, result.maximumRadius, result.records));
    terminal.out(`wrote ${jsonPath} and ${htmlPath}`);
  } finally {
    bar?.stop();
    await model.dispose();
  }
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

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
