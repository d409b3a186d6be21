/**
 * From scores to a verdict per example, by the policy: a score over its threshold whose action is
 * `refuse` refuses the example (no class is answered); otherwise one whose action is `flag` flags it
 * (answered and queued, or held for review, by `flag_action`); otherwise it is ok. The stateful
 * detector flags when its distance is *below* its threshold (near-duplicate queries).
 */
import type { Classification, GuardDetector } from './guarded-model.js';
import type { GuardPolicy, Verdict } from './policy.js';
import type { StatefulScore } from './stateful-detector.js';

export const STATEFUL_NAME = 'stateful';

export interface RowVerdict {
  readonly verdict: Verdict;
  /** Names of the detectors that fired. */
  readonly reasons: readonly string[];
  /** Every detector's score for this example (the stateful one's distance when finite). */
  readonly scores: Readonly<Record<string, number>>;
}

export function verdicts(
  c: Classification,
  detectors: readonly GuardDetector[],
  stateful: readonly StatefulScore[] | undefined,
  policy: GuardPolicy,
): RowVerdict[] {
  const n = c.logits.shape[0]!;
  const out: RowVerdict[] = [];
  for (let r = 0; r < n; r++) {
    const scores: Record<string, number> = {};
    const flags: string[] = [];
    const refusals: string[] = [];
    for (const d of detectors) {
      const s = c.scores.get(d.name)![r]!;
      scores[d.name] = s;
      const rule = policy.detectors[d.name] ?? policy.detectors[d.kind];
      if (s > (rule?.threshold ?? d.threshold)) (rule?.action === 'refuse' ? refusals : flags).push(d.name);
    }
    const st = stateful?.[r];
    if (st && policy.stateful) {
      if (Number.isFinite(st.distance)) scores[STATEFUL_NAME] = st.distance;
      if (st.flagged) (policy.stateful.action === 'refuse' ? refusals : flags).push(STATEFUL_NAME);
    }
    const verdict: Verdict = refusals.length > 0 ? 'refused' : flags.length > 0 ? 'flagged' : 'ok';
    out.push({ verdict, reasons: [...refusals, ...flags], scores });
  }
  return out;
}

/** Detector names a policy mentions that the guard does not have (a typo would silently do nothing). */
export function unknownPolicyDetectors(policy: GuardPolicy, detectors: readonly GuardDetector[]): string[] {
  const known = new Set(detectors.flatMap((d) => [d.name, d.kind]));
  return Object.keys(policy.detectors).filter((n) => !known.has(n));
}
