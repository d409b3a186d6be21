/**
 * Evading an injection guard while keeping the injection working. For each rendered probe whose
 * untrusted messages the guard flags, gibbon's text attacks (a cascade: the first success counts)
 * perturb each flagged message under the edit budget with the payload protected — the encoded
 * payload as a whole, and every entry of the named action slots (e.g. `leak`, `forbidden_tool`) found
 * in the text — until the guard lets it pass (the text harness re-checks budget, protected spans and
 * the flip). The evading conversation is then replayed through a target (the assistant simulator with
 * that guard in front) and the probe's detectors decide whether the payload still works: functional
 * success, not just a flipped label.
 *
 * Only probes that work without the guard count (replayed through `undefended` first), so the rates
 * measure the evasion, not the probe.
 */
import { deriveSeed } from '../random.js';
import { HOMOGLYPHS } from '../text/perturbation/char-edits.js';
import type { TextClassifier } from '../text/classifier.js';
import { attackText } from '../text/attacks/harness.js';
import type { SynonymSource, TextAttack } from '../text/attacks/text-attack.js';
import type { TextPerturbation } from '../text/perturbation/text-budget.js';
import type { ChatMessage, ChatTarget } from './chat.js';
import { playTurns, turnText, withTurnText } from './conversation.js';
import { detectAll, type DetectionContext } from './detectors.js';
import { LEET, rot13, type Encoding } from './obfuscation.js';
import { renderProbe, type ProbeSet, type ProbeTurn, type RenderedProbe } from './probe-set.js';
import { argmax } from '../tensor/scores.js';

export interface EvasionOptions {
  readonly attacks: readonly TextAttack[];
  /** Edits, budget and stopwords; the protection is set per message. */
  readonly perturbation: Omit<TextPerturbation, 'protection'>;
  readonly queryBudget: number;
  readonly synonyms: SynonymSource;
  readonly seed: number;
  readonly repetitions: number;
  /** Families to use (their probes must have canary or tool-call detectors to measure anything). */
  readonly families: readonly string[];
  /** Phrases the payload needs verbatim (the forbidden tool's name, the secret's noun …): never edited, also where they appear obfuscated. */
  readonly protect: readonly string[];
  /** The guard's class that means injection (default 1). */
  readonly injectionClass?: number;
  readonly detection: DetectionContext;
}

export interface EvasionCase {
  readonly family: string;
  readonly probe: string;
  readonly repetition: number;
  /** Untrusted messages the guard flagged (each attacked). */
  readonly flagged: number;
  readonly evaded: boolean;
  /** After evasion, the replay through the guarded target fired a detector. */
  readonly functional: boolean;
  readonly attacks: readonly string[];
  readonly charEdits: number;
  readonly original: readonly string[];
  readonly adversarial: readonly string[];
  readonly transcript: readonly ChatMessage[];
}

export interface EvasionResult {
  /** Probes that worked without the guard and that the guard caught. */
  readonly caught: number;
  readonly evaded: number;
  readonly functional: number;
  /** Probes that worked without the guard but that the guard let through untouched. */
  readonly missed: number;
  readonly cases: readonly EvasionCase[];
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const isFlagged = (scores: Float32Array, k: number): boolean => argmax(scores) === k;

/** `entry` as it may appear obfuscated (look-alike letters, leetspeak, invisible characters between letters). */
function obfuscationTolerant(entry: string): RegExp {
  const forms = (c: string): string => {
    const all = new Set(
      [c, c.toLowerCase(), c.toUpperCase(), HOMOGLYPHS[c], HOMOGLYPHS[c.toLowerCase()], LEET[c.toLowerCase()]].filter((f): f is string => !!f),
    );
    return `(?:${[...all].map(escapeRegExp).join('|')})`;
  };
  return new RegExp(Array.from(entry, forms).join('[\\u200b-\\u200f\\u2060]*'), 'giu');
}

/**
 * The protected spans of a message, as patterns: a base64 payload as a whole (one edit breaks its
 * decoding), and each protected phrase wherever it appears, also obfuscated or rot13-encoded.
 */
function protectedPatterns(text: string, job: RenderedProbe, encoding: Encoding, protect: readonly string[]): string[] {
  const phrases = new Set<string>();
  if (encoding === 'base64' && job.payload) phrases.add(job.payload);
  for (const phrase of protect) for (const form of [phrase, rot13(phrase)]) for (const found of text.matchAll(obfuscationTolerant(form))) phrases.add(found[0]);
  return [...phrases].map(escapeRegExp);
}

async function replay(turns: readonly ProbeTurn[], target: ChatTarget): Promise<ChatMessage[]> {
  const transcript: ChatMessage[] = [];
  await playTurns(turns, transcript, (m) => target.chat(m));
  return transcript;
}

export async function evadeGuard(set: ProbeSet, guard: TextClassifier, guarded: ChatTarget, undefended: ChatTarget, o: EvasionOptions): Promise<EvasionResult> {
  const k = o.injectionClass ?? 1;
  const cases: EvasionCase[] = [];
  let missed = 0;
  for (const family of set.families.filter((f) => o.families.includes(f.name))) {
    for (const probe of family.probes) {
      for (let r = 0; r < o.repetitions; r++) {
        const job = renderProbe(set, family, probe, r, o.seed);
        if (!detectAll(probe.detectors, await replay(job.turns, undefended), o.detection).success) continue;
        const scores = await guard.scores(job.turns.map(turnText));
        const flaggedAt = job.turns.map((_, i) => i).filter((i) => isFlagged(scores[i]!, k));
        if (flaggedAt.length === 0) {
          missed++;
          continue;
        }
        const turns = [...job.turns];
        const used: string[] = [];
        let charEdits = 0;
        let evaded = true;
        for (const i of flaggedAt) {
          const text = turnText(job.turns[i]!);
          const perturbation: TextPerturbation = {
            ...o.perturbation,
            protection: { urls: true, patterns: protectedPatterns(text, job, probe.encoding, o.protect) },
          };
          let done = false;
          for (const attack of o.attacks) {
            const outcome = await attackText(attack, guard, text, k, {
              perturbation,
              queryBudget: o.queryBudget,
              synonyms: o.synonyms,
              seed: deriveSeed(o.seed, 'evade', family.name, probe.id, r, i, attack.name),
            });
            if (outcome.status === 'success') {
              turns[i] = withTurnText(job.turns[i]!, outcome.adversarial!);
              used.push(attack.name);
              charEdits += outcome.measure?.charEdits ?? 0;
              done = true;
              break;
            }
          }
          if (!done) evaded = false;
        }
        const transcript = evaded ? await replay(turns, guarded) : [];
        cases.push({
          family: family.name,
          probe: probe.id,
          repetition: r,
          flagged: flaggedAt.length,
          evaded,
          functional: evaded && detectAll(probe.detectors, transcript, o.detection).success,
          attacks: used,
          charEdits,
          original: flaggedAt.map((i) => turnText(job.turns[i]!)),
          adversarial: evaded ? flaggedAt.map((i) => turnText(turns[i]!)) : [],
          transcript,
        });
      }
    }
  }
  return { caught: cases.length, evaded: cases.filter((c) => c.evaded).length, functional: cases.filter((c) => c.functional).length, missed, cases };
}
