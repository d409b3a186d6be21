/**
 * Tiny text models for fast tests: a mean-of-embeddings ("embedding bag") linear classifier in
 * JavaScript whose embedding rows are the per-class weights of each word, so its token gradients
 * are exact and cheap: logits = mean_i e(token_i) + bias, ∂CE/∂e_i = (softmax − onehot(label)) / n.
 * Row 0 is the unknown token (zeros). Also a fixed synonym table and a toy spam corpus.
 */
import type { EmbeddingTable, TextToken, TokenGradients, WhiteBoxTextClassifier } from '../classifier.js';
import type { SynonymSource } from '../attacks/text-attack.js';
import { Rng } from '../../random.js';

const TOKEN = /[\p{L}\p{N}]+/gu;

export class BagOfWordsModel implements WhiteBoxTextClassifier {
  readonly classes: number;
  readonly labels = ['ham', 'spam'];
  readonly embedding: EmbeddingTable;
  private readonly ids = new Map<string, number>();
  /** Texts scored so far (every call's texts.length added). */
  calls = 0;
  scored = 0;

  constructor(
    weights: Readonly<Record<string, readonly number[]>>,
    private readonly bias: readonly number[],
  ) {
    this.classes = bias.length;
    const words = Object.keys(weights);
    const values = new Float32Array((words.length + 1) * this.classes);
    words.forEach((w, k) => {
      this.ids.set(w, k + 1);
      values.set(weights[w]!, (k + 1) * this.classes);
    });
    this.embedding = { rows: words.length + 1, dim: this.classes, values, tokens: [undefined, ...words], unit: 'word' };
  }

  tokenize(text: string): TextToken[] {
    return [...text.matchAll(TOKEN)].map((m) => ({ id: this.ids.get(m[0].toLowerCase()) ?? 0, start: m.index, end: m.index + m[0].length }));
  }

  private logitsOf(tokens: readonly TextToken[]): Float32Array {
    const out = Float32Array.from(this.bias);
    const n = Math.max(1, tokens.length);
    for (const t of tokens) for (let c = 0; c < this.classes; c++) out[c]! += this.embedding.values[t.id * this.classes + c]! / n;
    return out;
  }

  async scores(texts: readonly string[]): Promise<Float32Array[]> {
    this.calls++;
    this.scored += texts.length;
    return texts.map((t) => this.logitsOf(this.tokenize(t)));
  }

  async tokenGradients(texts: readonly string[], labels: readonly number[]): Promise<TokenGradients[]> {
    this.scored += texts.length;
    return texts.map((text, k) => {
      const tokens = this.tokenize(text);
      const logits = this.logitsOf(tokens);
      const max = Math.max(...logits);
      const exp = Array.from(logits, (v) => Math.exp(v - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      const dz = exp.map((e, c) => e / sum - (c === labels[k] ? 1 : 0));
      const gradient = new Float32Array(tokens.length * this.classes);
      tokens.forEach((_, i) => dz.forEach((d, c) => (gradient[i * this.classes + c] = d / Math.max(1, tokens.length))));
      return { tokens, gradient, logits };
    });
  }
}

export class TableSynonyms implements SynonymSource {
  constructor(private readonly table: Readonly<Record<string, readonly string[]>>) {}
  synonyms(word: string): readonly string[] {
    return this.table[word.toLowerCase()] ?? [];
  }
}

const SPAM_WORDS = ['free', 'money', 'offer', 'cheap', 'click', 'win', 'prize', 'credit', 'urgent', 'cash', 'bonus', 'deal', 'viagra', 'loan', 'winner'];
const HAM_WORDS = [
  'meeting',
  'project',
  'report',
  'lunch',
  'schedule',
  'team',
  'code',
  'review',
  'thanks',
  'patch',
  'build',
  'release',
  'notes',
  'agenda',
  'draft',
];
const NEUTRAL = ['today', 'please', 'see', 'attached', 'email', 'week', 'time', 'people', 'know', 'new', 'good', 'message', 'list', 'day', 'help'];

/** The toy spam filter: spam words push class 1 by 4, ham words class 0 by 4, the rest nothing. */
export function toySpamModel(): BagOfWordsModel {
  const weights: Record<string, number[]> = {};
  for (const w of SPAM_WORDS) weights[w] = [0, 4];
  for (const w of HAM_WORDS) weights[w] = [4, 0];
  for (const w of NEUTRAL) weights[w] = [0, 0];
  return new BagOfWordsModel(weights, [0.1, 0]);
}

/** Synonyms that the toy model does not know (they read as the unknown token). */
export function toySynonyms(): TableSynonyms {
  const table: Record<string, string[]> = {};
  for (const w of [...SPAM_WORDS, ...NEUTRAL]) table[w] = [`${w}ish`, `${w}like`];
  return new TableSynonyms(table);
}

/** `n` toy spam texts of 12–20 words, seeded: mostly neutral words, 2–4 spam words, sometimes a URL. */
export function toySpamTexts(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    const words: string[] = [];
    const length = 12 + rng.integer(9);
    const spam = 2 + rng.integer(3);
    for (let i = 0; i < length; i++) words.push(NEUTRAL[rng.integer(NEUTRAL.length)]!);
    for (let i = 0; i < spam; i++) words[(i * 5 + rng.integer(5)) % length] = SPAM_WORDS[rng.integer(SPAM_WORDS.length)]!;
    if (rng.integer(2) === 0) words.splice(rng.integer(length), 0, 'http://shop.example/item');
    out.push(words.join(' '));
  }
  return out;
}
