/**
 * What a `gibbon certify` run does the same whatever its method (commands/certify.ts for
 * randomized smoothing, commands/certify-ibp.ts for IBP): checking and loading the data, taking up
 * the checkpoint in OUT (`--resume`), and writing certification.json and certification.html.
 */
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { loadLabelledData, type LabelledData } from '../data/datasets.js';
import { checkpointPath, fingerprintChanges, readCertificationCheckpoint } from '../certify/checkpoint.js';
import type { CertifiedExample } from '../certify/result.js';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { lockOutputFolderForRun, prepareOutputFolder } from './files.js';
import { packageVersion } from './package-root.js';
import type { Terminal } from './terminal.js';

export const CERTIFICATION_JSON_FILE = 'certification.json';
export const CERTIFICATION_HTML_FILE = 'certification.html';

/** The data options every method takes. */
export interface CertificationDataValues {
  readonly data: string;
  readonly labels?: string;
  readonly n: number;
}

const isNamed = (data: string): data is 'mnist' | 'fashion-mnist' => data === 'mnist' || data === 'fashion-mnist';

/** Refuses --labels beside a named dataset, and --data X.npy without --labels. */
export function checkDataOptions(v: CertificationDataValues): void {
  const named = isNamed(v.data);
  if (named && v.labels !== undefined)
    throw new GibbonError('invalid_option', `--labels goes with --data X.npy, not with the named dataset '${v.data}'`, { option: 'labels' });
  if (!named && v.labels === undefined)
    throw new GibbonError('invalid_option', `--data ${v.data} needs --labels Y.npy (or use --data mnist or fashion-mnist)`, { option: 'labels' });
}

/** The first n examples: of a named dataset's test split, or of X.npy with Y.npy. */
export function loadCertificationData(v: CertificationDataValues): LabelledData {
  checkDataOptions(v);
  return isNamed(v.data) ? loadLabelledData({ name: v.data, split: 'test', limit: v.n }) : loadLabelledData({ x: v.data, y: v.labels!, limit: v.n });
}

/** Where a run starts: the examples an earlier run certified, and the seconds it spent. */
export interface CertificationStart {
  readonly done: readonly CertifiedExample[];
  readonly secondsBefore: number;
}

/**
 * The checkpoint in `out` taken up: with `resume`, its records (refusing one whose fingerprint
 * differs, naming what changed); without, a note that it will be overwritten.
 */
export function resumeCertification(
  out: string,
  resume: boolean | undefined,
  fingerprint: Record<string, number | string>,
  terminal: Terminal,
): CertificationStart {
  const ckPath = checkpointPath(out);
  const checkpoint = readCertificationCheckpoint(out);
  if (checkpoint && resume) {
    const changes = fingerprintChanges(checkpoint.fingerprint, fingerprint);
    if (changes.length > 0) {
      throw new GibbonError(
        'invalid_checkpoint',
        `${ckPath} was made with different options (${changes.join('; ')}); rerun with the same options, use another --out, or drop --resume to start over`,
        { path: ckPath, option: 'resume' },
      );
    }
    for (const d of checkpoint.damaged ?? []) terminal.note(`note: ${ckPath} is damaged: ${d}; that record is dropped and its example certified again`);
    return { done: checkpoint.records, secondsBefore: checkpoint.seconds };
  }
  if (checkpoint) {
    terminal.note(`note: ${ckPath} exists from an earlier run; it will be overwritten (use --resume to continue it)`);
  } else if (resume) {
    terminal.note(`note: no checkpoint in ${out}; starting from the first example`);
  }
  return { done: [], secondsBefore: 0 };
}

/**
 * Takes OUT for a run (created and locked) and its checkpoint. The records depend on the method,
 * the model, the data and the method's `options` (not on the batch size or threads: they change no
 * number), which make the checkpoint's fingerprint.
 */
export function startCertification(
  v: { readonly out: string; readonly resume?: boolean },
  method: string,
  modelHash: string,
  data: Pick<LabelledData, 'source' | 'n'>,
  options: Record<string, number | string>,
  terminal: Terminal,
): CertificationStart & { readonly fingerprint: Record<string, number | string> } {
  prepareOutputFolder(v.out, '--out');
  lockOutputFolderForRun(v.out, '--out');
  const fingerprint = { method, model_sha256: modelHash, data: data.source, n: data.n, ...options };
  return { fingerprint, ...resumeCertification(v.out, v.resume, fingerprint, terminal) };
}

/** certification.json: the fields every method writes first, then the method's own (`rest`). */
export function certificationJson(
  model: { readonly path: string; readonly sha256: string },
  data: Pick<LabelledData, 'source' | 'n'>,
  rest: Record<string, unknown>,
): Record<string, unknown> {
  return {
    format: 'gibbon-certification',
    version: 1,
    gibbon_version: packageVersion(),
    model: { path: model.path, sha256: model.sha256 },
    data: { source: data.source, n: data.n },
    ...rest,
  };
}

/** Writes OUT/certification.json and OUT/certification.html, then prints the summary and where they are. */
export function writeCertificationFiles(out: string, json: Record<string, unknown>, page: string, summary: string, terminal: Terminal): void {
  const jsonPath = join(out, CERTIFICATION_JSON_FILE);
  const htmlPath = join(out, CERTIFICATION_HTML_FILE);
  writeFileAtomically(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
  writeFileAtomically(htmlPath, page);
  terminal.out(summary);
  terminal.out(`wrote ${jsonPath} and ${htmlPath}`);
}
