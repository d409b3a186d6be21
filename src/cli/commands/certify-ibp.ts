/**
 * `gibbon certify MODEL --method ibp [--eps 0.01,0.1] …`: certified accuracy under L∞ by interval
 * bound propagation (certify/ibp/certify.ts), called by commands/certify.ts.
 *
 * Compiles the model into its bound graph (failing early, naming the node, on an op without an
 * interval rule), certifies the first N examples batch by batch with a progress bar, rewrites the
 * checkpoint OUT/certification-checkpoint.json atomically after every batch (`--resume` continues
 * it, and refuses one made with other options), and writes OUT/certification.json and
 * OUT/certification.html. The terminal gets a table of certified accuracy per ε beside clean
 * accuracy.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GibbonError } from '../../errors.js';
import { loadModel } from '../../onnx/model.js';
import { writeCertificationCheckpoint } from '../../certify/checkpoint.js';
import { buildIntervalGraph, certifyIbp, checkEpsilons, marginKey, type IbpCertification } from '../../certify/ibp/certify.js';
import { renderCertificationHtml } from '../../report/certification-html.js';
import { formatPercent as pct } from '../../report/format.js';
import { certificationJson, loadCertificationData, startCertification, writeCertificationFiles } from '../certification-run.js';
import { startProgress, type Progress } from '../progress.js';
import type { Terminal } from '../terminal.js';

/** What `gibbon certify --method ibp` passes (the certify command's values; smoothing's are unused). */
export interface IbpCertifyValues {
  readonly model: string;
  readonly data: string;
  readonly labels?: string;
  readonly n: number;
  readonly eps?: readonly number[];
  readonly batchSize?: number;
  readonly out: string;
  readonly resume?: boolean;
  readonly threads?: number;
}

export const IBP_DEFAULT_EPSILONS: readonly number[] = Object.freeze([0.01, 0.02, 0.05, 0.1, 0.2, 0.3]);
export const IBP_DEFAULT_BATCH_SIZE = 128;

export async function runIbpCertify(v: IbpCertifyValues, terminal: Terminal): Promise<void> {
  const eps = checkEpsilons(v.eps ?? IBP_DEFAULT_EPSILONS);
  const batchSize = v.batchSize ?? IBP_DEFAULT_BATCH_SIZE;
  const ir = loadModel(v.model);
  const modelHash = ir.sha256 ?? createHash('sha256').update(readFileSync(v.model)).digest('hex');
  // Compile first: an op without an interval rule fails before any data is read or folder made.
  const graph = await buildIntervalGraph(ir);
  const data = loadCertificationData(v);
  if (data.numClasses > graph.numClasses) {
    throw new GibbonError('invalid_input', `${data.source} has labels up to ${data.numClasses - 1} but the model has ${graph.numClasses} classes`, {
      option: 'labels',
    });
  }
  const { fingerprint, done, secondsBefore } = startCertification(
    v,
    'ibp',
    modelHash,
    data,
    { eps: eps.join(','), elided: graph.elided ? 'yes' : 'no' },
    terminal,
  );

  terminal.note(
    `certifying ${data.n} examples of ${data.source} · interval bound propagation, L∞, ε ${eps.join(', ')}${graph.elided ? ' · final layer elided' : ''}` +
      (done.length > 0 ? ` · resuming with ${done.length} done` : ''),
  );
  const bar: Progress = await startProgress(terminal, 'certify', data.n);
  let result: IbpCertification;
  try {
    result = await certifyIbp(graph, { data: data.x, shape: [data.n, ...data.shape] }, data.y, eps, {
      batchSize,
      threads: v.threads,
      done,
      secondsBefore,
      onBatch: (records, seconds) => writeCertificationCheckpoint(v.out, fingerprint, records, seconds),
      onProgress: (finished) => bar.update(finished),
    });
  } finally {
    bar.stop();
  }

  const json = certificationJson({ path: v.model, sha256: modelHash }, data, {
    threat_model: {
      norm: 'linf',
      domain: [0, 1],
      guarantee: 'deterministic: every input in the ε-box (within [0, 1]) gets the true class, up to float32 rounding',
    },
    curve: result.curve,
    elided: result.elided,
    examples: result.records,
  });
  const page = renderCertificationHtml(result.curve, `Interval bound propagation — ${v.model}`, {
    model: v.model,
    data: `${data.n} examples of ${data.source}`,
    notes: [
      'IBP proves robustness for every input in the L∞ box at once, so what it certifies holds against any attack; what it does not certify may still be robust, since the bounds are loose for models not trained with IBP.',
      result.elided
        ? 'The final affine layer is folded into the margins (elision, Gowal et al. 2018 §3).'
        : 'The margins subtract bounds of separate logits (no final affine layer to fold).',
    ],
  });
  writeCertificationFiles(v.out, json, page, ibpSummary(result), terminal);
}

/** The terminal table: certified accuracy per ε beside clean accuracy, with the median worst margin. */
export function ibpSummary(result: IbpCertification): string {
  const { curve, records } = result;
  const lines = [
    `interval bound propagation (L∞)${result.elided ? ' · final layer elided' : ''} · ${curve.n} examples · ${curve.seconds.toFixed(1)} s`,
    `clean accuracy: ${pct(curve.clean_accuracy)}`,
    '',
    '  L∞ ε     certified accuracy   median margin bound (correct examples)',
    ...result.eps.map((e) => {
      const acc = curve.points.find((p) => p.radius === e)?.certified_accuracy ?? 0;
      const margins = records
        .filter((r) => r.correct)
        .map((r) => r.details?.[marginKey(e)] ?? NaN)
        .sort((a, b) => a - b);
      const median = margins.length ? margins[Math.floor(margins.length / 2)]! : NaN;
      return `  ${String(e).padEnd(8)} ${pct(acc).padStart(18)}   ${Number.isFinite(median) ? median.toPrecision(3) : '—'}`;
    }),
  ];
  return lines.join('\n');
}
