/**
 * Runs a probe set against a chat target: every probe of every family `repetitions` times (each
 * repetition its own seeded rendering), `concurrency` conversations at a time, under a hard request
 * budget. A conversation's detectors decide success or failure; a call that got no usable answer
 * (unreachable, timed out or rate-limited after the client's retries, HTTP 5xx) makes the attempt
 * `errored`, counted apart and never as a success or a failure; a call the budget cannot cover makes
 * it `skipped`. A malformed answer or an HTTP 4xx is the endpoint's or the configuration's fault, not
 * chance: it ends the run with that error, as does a run in which no call was answered at all.
 */
import { GibbonError } from '../errors.js';
import { EndpointError } from '../model/remote/http-client.js';
import { deriveSeed } from '../random.js';
import { bootstrapRate, type RateInterval } from './bootstrap.js';
import type { ChatAnswer, ChatMessage, ChatTarget } from './chat.js';
import { playTurns } from './conversation.js';
import { detectAll, type DetectionContext } from './detectors.js';
import { renderProbe, type ProbeSet, type RenderedProbe } from './probe-set.js';

export type AttemptStatus = 'success' | 'failure' | 'errored' | 'skipped';

export interface ProbeAttempt {
  readonly family: string;
  readonly probe: string;
  readonly repetition: number;
  readonly seed: number;
  readonly status: AttemptStatus;
  /** Detectors that fired. */
  readonly fired: readonly string[];
  readonly transcript: readonly ChatMessage[];
  readonly error?: string;
}

export interface FamilyResult {
  readonly name: string;
  readonly description: string;
  readonly control: boolean;
  readonly counts: Readonly<Record<AttemptStatus, number>>;
  /** Success rate over the decided attempts (success + failure), with its bootstrap interval. */
  readonly rate: RateInterval;
  /** 'succeeds': the interval's low end is above 0; 'fails': it is not; 'undecided': no attempt decided. */
  readonly verdict: 'succeeds' | 'fails' | 'undecided';
}

export interface ProbeRunResult {
  readonly target: string;
  readonly seed: number;
  readonly repetitions: number;
  readonly families: readonly FamilyResult[];
  /** Over all attacking (non-control) families' decided attempts. */
  readonly overall: RateInterval;
  readonly attempts: readonly ProbeAttempt[];
  /** Target calls made and the HTTP requests they sent (retries included). */
  readonly calls: number;
  readonly requests: number;
  readonly budget: number | undefined;
  readonly seconds: number;
}

export interface ProbeRunOptions {
  readonly repetitions?: number;
  readonly seed?: number;
  readonly concurrency?: number;
  /** Hard cap on requests sent to the target (retries included); undefined: none. */
  readonly requestBudget?: number;
  /** A system message sent first (e.g. one holding the canary), when the target has none of its own. */
  readonly systemPrompt?: string;
  readonly detection: DetectionContext;
  /** Only these families (default all). */
  readonly families?: readonly string[];
  readonly resamples?: number;
  readonly signal?: AbortSignal;
  readonly onAttempt?: (done: number, total: number) => void;
}

/** Target facts the budget needs: most requests per call, and requests sent so far. */
interface Metered {
  readonly maxRequestsPerCall?: number;
  readonly requestsSent?: number;
}

/** Whether an error is the endpoint's or configuration's fault (ends the run) rather than a transient failure. */
function isPermanent(e: unknown): boolean {
  if (!(e instanceof GibbonError)) return true;
  if (!(e instanceof EndpointError)) return e.code !== 'runtime_failure';
  if (e.problem === 'http_status') return e.status !== undefined && e.status < 500 && e.status !== 429;
  return e.problem !== 'unreachable' && e.problem !== 'timeout';
}

export async function runProbes(set: ProbeSet, target: ChatTarget, o: ProbeRunOptions): Promise<ProbeRunResult> {
  const started = performance.now();
  const repetitions = o.repetitions ?? 30;
  const seed = o.seed ?? 0;
  const concurrency = Math.max(1, o.concurrency ?? 4);
  const metered = target as ChatTarget & Metered;
  const perCall = metered.maxRequestsPerCall ?? 1;
  const families = set.families.filter((f) => !o.families || o.families.includes(f.name));
  if (o.families) {
    const unknown = o.families.filter((n) => !set.families.some((f) => f.name === n));
    if (unknown.length > 0)
      throw new GibbonError(
        'invalid_option',
        `unknown famil${unknown.length > 1 ? 'ies' : 'y'} ${unknown.join(', ')}; ${set.source} has ${set.families.map((f) => f.name).join(', ')}`,
        {
          option: 'families',
        },
      );
  }
  const jobs: RenderedProbe[] = [];
  for (const f of families) for (const p of f.probes) for (let r = 0; r < repetitions; r++) jobs.push(renderProbe(set, f, p, r, seed));

  let calls = 0;
  let answered = 0;
  let inFlight = 0;
  let functionRequests = 0;
  let firstError: unknown;
  let fatal: unknown;
  const sent = (): number => metered.requestsSent ?? functionRequests;
  const attempts = new Array<ProbeAttempt>(jobs.length);
  let next = 0;
  let done = 0;

  const call = async (messages: readonly ChatMessage[]): Promise<ChatAnswer | 'budget'> => {
    if (o.requestBudget !== undefined && sent() + (inFlight + 1) * perCall > o.requestBudget) return 'budget';
    inFlight++;
    calls++;
    functionRequests++;
    try {
      const answer = await target.chat(messages, o.signal);
      answered++;
      return answer;
    } finally {
      inFlight--;
    }
  };

  const converse = async (job: RenderedProbe): Promise<ProbeAttempt> => {
    const transcript: ChatMessage[] = o.systemPrompt ? [{ role: 'system', content: o.systemPrompt }] : [];
    const base = { family: job.family, probe: job.id, repetition: job.repetition, seed: job.seed };
    let played: 'done' | 'budget';
    try {
      played = await playTurns(job.turns, transcript, call);
    } catch (e) {
      if (isPermanent(e)) throw e;
      firstError ??= e;
      return { ...base, status: 'errored', fired: [], transcript, error: (e as Error).message };
    }
    if (played === 'budget') return { ...base, status: 'skipped', fired: [], transcript, error: 'request budget used up' };
    const verdict = detectAll(set.families.find((f) => f.name === job.family)!.probes.find((p) => p.id === job.id)!.detectors, transcript, o.detection);
    return { ...base, status: verdict.success ? 'success' : 'failure', fired: verdict.fired, transcript };
  };

  const worker = async (): Promise<void> => {
    while (next < jobs.length && fatal === undefined) {
      if (o.signal?.aborted) throw new GibbonError('runtime_failure', 'the probe run was cancelled');
      const i = next++;
      try {
        attempts[i] = await converse(jobs[i]!);
      } catch (e) {
        fatal ??= e;
        return;
      }
      o.onAttempt?.(++done, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  if (fatal !== undefined) throw fatal;
  if (answered === 0 && firstError !== undefined) throw firstError;

  const summarise = (name: string, list: readonly ProbeAttempt[]): RateInterval =>
    bootstrapRate(
      list.filter((a) => a.status === 'success' || a.status === 'failure').map((a) => a.status === 'success'),
      deriveSeed(seed, 'bootstrap', name),
      o.resamples !== undefined ? { resamples: o.resamples } : {},
    );
  const familyResults = families.map((f): FamilyResult => {
    const list = attempts.filter((a) => a.family === f.name);
    const counts = { success: 0, failure: 0, errored: 0, skipped: 0 };
    for (const a of list) counts[a.status]++;
    const rate = summarise(f.name, list);
    return {
      name: f.name,
      description: f.description,
      control: f.control,
      counts,
      rate,
      verdict: rate.n === 0 ? 'undecided' : rate.low > 0 ? 'succeeds' : 'fails',
    };
  });
  const attacking = new Set(families.filter((f) => !f.control).map((f) => f.name));
  return {
    target: target.name,
    seed,
    repetitions,
    families: familyResults,
    overall: summarise(
      'overall',
      attempts.filter((a) => attacking.has(a.family)),
    ),
    attempts,
    calls,
    requests: sent(),
    budget: o.requestBudget,
    seconds: (performance.now() - started) / 1000,
  };
}
