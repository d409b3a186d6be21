/**
 * The guard's policy file (YAML or JSON): what each detector's score does to a verdict, what a flag
 * does, and the stateful query-attack detector's settings. The operator writes it; it is still
 * checked field by field (zod), and errors name the file and the field.
 *
 *   detectors:
 *     combined: { threshold: 2.5, action: flag }   # default threshold: the detector file's own
 *     energy: { action: refuse }                   # refuse: answer no class at all
 *   flag_action: answer-and-queue                  # or hold-for-review: no class until a reviewer decides
 *   stateful: { k: 20, threshold: 1.6, window: 2000, action: flag }
 *   rate_limit: { per_second: 200, burst: 400 }     # per API key
 *   max_batch: 256
 */
import { readFileSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { GibbonError } from '../errors.js';
import { firstIssue } from '../storage/checkpoint-file.js';

export const VERDICTS = ['ok', 'flagged', 'refused'] as const;
export type Verdict = (typeof VERDICTS)[number];
export const FLAG_ACTIONS = ['answer-and-queue', 'hold-for-review'] as const;
export type FlagAction = (typeof FLAG_ACTIONS)[number];
/** What a score over its threshold does: flag the input, or refuse to answer it. */
export type ScoreAction = 'flag' | 'refuse';

const MAX_POLICY_BYTES = 64 * 1024;
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const action = z.enum(['flag', 'refuse']);

const policySchema = z.strictObject({
  detectors: z.record(z.string().min(1), z.strictObject({ threshold: finite.optional(), action: action.optional() })).optional(),
  flag_action: z.enum(FLAG_ACTIONS).optional(),
  stateful: z
    .strictObject({
      // Chen et al. 2020 ("Stateful detection of black-box adversarial attacks") average the
      // distance to the k nearest earlier queries; k = 50 there, 20 here so that a flag can come within 50 queries.
      k: z.number().int().min(1).max(1000).optional(),
      threshold: finite.refine((v) => v > 0, 'must be > 0'),
      window: z.number().int().min(1).max(100_000).optional(),
      action: action.optional(),
      /** Side of the pooled encoding (queries are average-pooled to at most side × side per channel). */
      encoding_side: z.number().int().min(1).max(64).optional(),
      /** Most API keys tracked at once (the least recently seen is forgotten first). */
      max_clients: z.number().int().min(1).max(1_000_000).optional(),
    })
    .optional(),
  rate_limit: z.strictObject({ per_second: finite.refine((v) => v > 0, 'must be > 0'), burst: z.number().int().min(1).optional() }).optional(),
  max_batch: z.number().int().min(1).max(65_536).optional(),
});

export interface DetectorRule {
  readonly threshold?: number;
  readonly action: ScoreAction;
}

export interface StatefulPolicy {
  readonly k: number;
  readonly threshold: number;
  readonly window: number;
  readonly action: ScoreAction;
  readonly encodingSide: number;
  readonly maxClients: number;
}

export interface GuardPolicy {
  /** Per detector name (its file's base name without .json, or its kind); absent: flag at the file's threshold. */
  readonly detectors: Readonly<Record<string, DetectorRule>>;
  readonly flagAction: FlagAction;
  readonly stateful?: StatefulPolicy;
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  readonly maxBatch: number;
}

export const DEFAULT_POLICY: GuardPolicy = Object.freeze({ detectors: {}, flagAction: 'answer-and-queue', maxBatch: 256 });

/** Checks a policy given as a plain value (parsed YAML/JSON); `where` names it in errors. */
export function parsePolicy(value: unknown, where: string): GuardPolicy {
  const r = policySchema.safeParse(value ?? {});
  if (!r.success)
    throw new GibbonError('invalid_input', `policy ${where} is not valid: ${firstIssue(r.error, '(top level)')}`, { path: where, option: 'policy' });
  const p = r.data;
  const s = p.stateful;
  return {
    detectors: Object.fromEntries(Object.entries(p.detectors ?? {}).map(([name, d]) => [name, { threshold: d.threshold, action: d.action ?? 'flag' }])),
    flagAction: p.flag_action ?? 'answer-and-queue',
    stateful: s && {
      k: s.k ?? 20,
      threshold: s.threshold,
      window: s.window ?? 2000,
      action: s.action ?? 'flag',
      encodingSide: s.encoding_side ?? 8,
      maxClients: s.max_clients ?? 1000,
    },
    rateLimit: p.rate_limit && { perSecond: p.rate_limit.per_second, burst: p.rate_limit.burst ?? Math.max(1, Math.ceil(2 * p.rate_limit.per_second)) },
    maxBatch: p.max_batch ?? 256,
  };
}

export function readPolicyFile(path: string): GuardPolicy {
  let text: string;
  try {
    if (statSync(path).size > MAX_POLICY_BYTES) throw new GibbonError('invalid_input', `policy ${path} is larger than ${MAX_POLICY_BYTES} bytes`, { path });
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof GibbonError) throw e;
    throw new GibbonError('file_not_found', `policy file ${path} cannot be read: ${(e as Error).message}`, { path, option: 'policy' });
  }
  const doc = parseDocument(text, { uniqueKeys: true, logLevel: 'error' });
  if (doc.errors.length > 0)
    throw new GibbonError('invalid_input', `policy ${path} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, { path, option: 'policy' });
  return parsePolicy(doc.toJS({ maxAliasCount: 100 }), path);
}
