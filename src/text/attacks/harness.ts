/**
 * The text harness: runs one attack on one example and believes nothing it says. The attack gets a
 * query-counting oracle with the example's budget; whatever text it returns is re-measured
 * (edit-distance.ts: char edits, words changed), checked against the budget and the protected
 * spans (text-budget.ts), and classified again with a fresh query outside the attack's budget.
 * Only a text that passes all three counts as a success; one that fails is recorded as rejected,
 * with the reason, so an attack that misreports shows up in the report instead of in the numbers.
 */
import { GibbonError } from '../../errors.js';
import { Rng } from '../../random.js';
import type { TextClassifier } from '../classifier.js';
import type { EditMeasure } from '../perturbation/edit-distance.js';
import { checkAdversarial, limitsFor, spansOf, type TextPerturbation } from '../perturbation/text-budget.js';
import { QueryBudgetExhausted, TextOracle, type SynonymSource, type TextAttack } from './text-attack.js';
import { argmax } from '../../tensor/scores.js';

export type TextOutcomeStatus = 'success' | 'failed' | 'rejected';

export interface TextAttackOutcome {
  readonly status: TextOutcomeStatus;
  /** The accepted adversarial text (success only). */
  readonly adversarial?: string;
  /** The class the model gives the adversarial text (success only). */
  readonly adversarialLabel?: number;
  /** Distance of the accepted text from the original (success), or of the rejected one. */
  readonly measure?: EditMeasure;
  /** Queries the attack spent (the harness's check is not counted). */
  readonly queries: number;
  readonly milliseconds: number;
  /** Why a returned text was rejected, or why the attack stopped ('query budget used up'). */
  readonly reason?: string;
}

export interface TextHarnessOptions {
  readonly perturbation: TextPerturbation;
  readonly queryBudget: number;
  readonly synonyms: SynonymSource;
  /** Seed of this example's attack (derive it from the run's seed, the attack and the example). */
  readonly seed: number;
  readonly signal?: AbortSignal;
}

/** Attacks `text` (whose true and predicted class is `label`) and re-checks the result. */
export async function attackText(
  attack: TextAttack,
  model: TextClassifier,
  text: string,
  label: number,
  options: TextHarnessOptions,
): Promise<TextAttackOutcome> {
  const started = performance.now();
  const oracle = new TextOracle(model, options.queryBudget);
  const ctx = {
    perturbation: options.perturbation,
    limits: limitsFor(text, options.perturbation.budget),
    spans: spansOf(text, options.perturbation),
    synonyms: options.synonyms,
    rng: new Rng(options.seed),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  let adversarial: string | undefined;
  let reason: string | undefined;
  try {
    adversarial = await attack.run(oracle, text, label, ctx);
  } catch (e) {
    if (!(e instanceof QueryBudgetExhausted)) throw e;
    reason = 'query budget used up';
  }
  const done = (o: Omit<TextAttackOutcome, 'queries' | 'milliseconds'>): TextAttackOutcome => ({
    ...o,
    queries: oracle.queries,
    milliseconds: performance.now() - started,
  });
  if (adversarial === undefined) return done({ status: 'failed', ...(reason ? { reason } : {}) });
  if (typeof adversarial !== 'string') throw new GibbonError('internal', `${attack.name} returned a ${typeof adversarial}, not a text`);
  const check = checkAdversarial(text, adversarial, options.perturbation);
  if (!check.ok) return done({ status: 'rejected', reason: check.reason, ...(check.measure ? { measure: check.measure } : {}) });
  const [logits] = await model.scores([adversarial]);
  const predicted = argmax(logits!);
  if (predicted === label) return done({ status: 'rejected', reason: 'the model still gives the true class', measure: check.measure });
  return done({ status: 'success', adversarial, adversarialLabel: predicted, measure: check.measure });
}
