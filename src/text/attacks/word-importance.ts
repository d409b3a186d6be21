/**
 * Which words a word-level attack may touch, and how much each matters to the model. Words are
 * taken by type (the same word, ignoring case, wherever it occurs): a type's importance is the drop
 * in the true class's probability when all its occurrences are deleted (the leave-one-out /
 * "Replace-1" score of DeepWordBug, TextFooler's deletion score, PWWS's saliency with deletion in
 * place of an unknown token, which a black box may not have).
 *
 * Long texts have more types than a small query budget allows; past `maxQueries` types the
 * ranking is two-level: contiguous groups of types are deleted together first (half the queries),
 * then types of the most important groups one by one (the other half). Types never scored alone
 * keep their group's score shared among them, so they rank after the scored ones of their group.
 */
import { overlapsProtected } from '../perturbation/protected-spans.js';
import { isStopword } from '../perturbation/stopwords.js';
import { applyReplacements, wordSpans, type WordSpan } from '../perturbation/words.js';
import { probabilityOf, type TextAttackContext, type TextOracle } from './text-attack.js';

export interface WordType {
  /** Lower-cased word. */
  readonly key: string;
  /** Its occurrences, in order. */
  readonly spans: readonly WordSpan[];
}

/** The types of words an attack may edit: not stopwords, not inside protected spans, at least `minLength` code points. */
export function editableWordTypes(text: string, ctx: TextAttackContext, minLength = 1): WordType[] {
  const byKey = new Map<string, WordSpan[]>();
  for (const w of wordSpans(text)) {
    if (Array.from(w.text).length < minLength || isStopword(w.text, ctx.perturbation.stopwords)) continue;
    if (overlapsProtected(ctx.spans, w.start, w.end)) continue;
    const key = w.text.toLowerCase();
    const list = byKey.get(key);
    if (list) list.push(w);
    else byKey.set(key, [w]);
  }
  return [...byKey].map(([key, spans]) => ({ key, spans }));
}

export interface RankedType {
  readonly type: WordType;
  readonly importance: number;
}

function deleting(text: string, types: readonly WordType[]): string {
  return applyReplacements(
    text,
    types.flatMap((t) => t.spans.map((s) => ({ start: s.start, end: s.end, by: '' }))),
  );
}

/** Types ranked by importance, most important first (ties: earlier first). */
export async function rankByDeletion(
  oracle: TextOracle,
  text: string,
  label: number,
  types: readonly WordType[],
  baseProbability: number,
  maxQueries: number,
): Promise<RankedType[]> {
  const scores = new Float64Array(types.length);
  if (types.length <= maxQueries) {
    const logits = await oracle.scores(types.map((t) => deleting(text, [t])));
    logits.forEach((l, i) => (scores[i] = baseProbability - probabilityOf(l, label)));
  } else {
    const groups = Math.max(1, Math.floor(maxQueries / 2));
    const size = Math.ceil(types.length / groups);
    const members: number[][] = [];
    for (let g = 0; g * size < types.length; g++) members.push(Array.from({ length: Math.min(size, types.length - g * size) }, (_, k) => g * size + k));
    const groupLogits = await oracle.scores(
      members.map((m) =>
        deleting(
          text,
          m.map((i) => types[i]!),
        ),
      ),
    );
    const groupScore = groupLogits.map((l) => baseProbability - probabilityOf(l, label));
    members.forEach((m, g) => m.forEach((i) => (scores[i] = groupScore[g]! / m.length - 1)));
    const order = members.map((_, g) => g).sort((a, b) => groupScore[b]! - groupScore[a]!);
    const single: number[] = [];
    for (const g of order) {
      if (single.length + members[g]!.length > maxQueries - members.length) break;
      single.push(...members[g]!);
    }
    const logits = await oracle.scores(single.map((i) => deleting(text, [types[i]!])));
    logits.forEach((l, k) => (scores[single[k]!] = baseProbability - probabilityOf(l, label)));
  }
  return types.map((type, i) => ({ type, importance: scores[i]!, i })).sort((a, b) => b.importance - a.importance || a.i - b.i);
}
