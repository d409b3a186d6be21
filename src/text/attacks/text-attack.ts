/**
 * What every text attack is and gets: an immutable options object plus
 * `run(oracle, text, label, ctx) → adversarial text or undefined`. The oracle counts queries
 * (every text scored is one) and refuses to go past the example's query budget; the context carries
 * the perturbation set with this text's limits and protected spans, the synonym source and a seeded
 * RNG. Attacks keep their own edit accounting (an upper bound of the true distance) so they never
 * propose a text over budget; the harness (harness.ts) re-measures and re-checks every text anyway.
 */
import { softmax } from '../../tensor/scores.js';
import { GibbonError } from '../../errors.js';
import type { Rng } from '../../random.js';
import type { TextClassifier, WhiteBoxTextClassifier } from '../classifier.js';
import type { Span } from '../perturbation/protected-spans.js';
import type { TextLimits, TextPerturbation } from '../perturbation/text-budget.js';

/** Where synonyms come from (WordNetSynonyms, or a fixed table in tests). */
export interface SynonymSource {
  synonyms(word: string): readonly string[];
}

export interface TextAttackContext {
  readonly perturbation: TextPerturbation;
  /** This text's limits under the budget. */
  readonly limits: TextLimits;
  /** This text's protected spans. */
  readonly spans: readonly Span[];
  readonly synonyms: SynonymSource;
  readonly rng: Rng;
  readonly signal?: AbortSignal;
}

export interface TextAttack {
  readonly name: string;
  /** 'scores': a black box answering class scores; 'white-box': token gradients too (WhiteBoxTextClassifier). */
  readonly needs: 'scores' | 'white-box';
  readonly options: Readonly<Record<string, unknown>>;
  run(oracle: TextOracle, text: string, label: number, ctx: TextAttackContext): Promise<string | undefined>;
}

/** Thrown by the oracle when a call would pass the query budget; the harness ends the example there. */
export class QueryBudgetExhausted extends GibbonError {
  constructor(budget: number) {
    super('budget_exhausted', `query budget of ${budget} per example used up`);
  }
}

/** A text classifier behind a query counter with a budget (one example's attack). */
export class TextOracle {
  private used = 0;

  constructor(
    private readonly model: TextClassifier,
    readonly budget: number,
  ) {}

  get queries(): number {
    return this.used;
  }

  get remaining(): number {
    return this.budget - this.used;
  }

  get classes(): number {
    return this.model.classes;
  }

  private charge(n: number): void {
    if (this.used + n > this.budget) {
      this.used = this.budget;
      throw new QueryBudgetExhausted(this.budget);
    }
    this.used += n;
  }

  /** Logits of each text; costs texts.length queries. */
  async scores(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length === 0) return [];
    this.charge(texts.length);
    return this.model.scores(texts);
  }

  /** The white-box model, or an error naming the attack that needs it. */
  whiteBox(attack: string): WhiteBoxTextOracle {
    const m = this.model as Partial<WhiteBoxTextClassifier>;
    if (typeof m.tokenGradients !== 'function' || !m.embedding) {
      throw new GibbonError('invalid_option', `${attack} is a white-box attack: it needs a model with token gradients (an ONNX text model), not a black box`, {
        option: 'attacks',
      });
    }
    const full = this.model as WhiteBoxTextClassifier;
    return {
      embedding: full.embedding,
      tokenize: (text) => full.tokenize(text),
      tokenGradients: async (texts, labels) => {
        this.charge(texts.length);
        return full.tokenGradients(texts, labels);
      },
    };
  }
}

export type WhiteBoxTextOracle = Pick<WhiteBoxTextClassifier, 'embedding' | 'tokenize' | 'tokenGradients'>;

/** Softmax probability of `label` from logits. */
export function probabilityOf(logits: Float32Array, label: number): number {
  return softmax(logits)[label]!;
}
