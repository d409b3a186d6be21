/**
 * Text attack speed (issue 15): PWWS (≤ 10% words) and DeepWordBug (≤ 5 char edits) on the first
 * `n` held-out SpamAssassin spam emails against models/spam-bag.onnx, through the whole text
 * runner: queries/s (texts scored by the model, attack and harness) and attacked texts/s.
 */
import { textAcceptance } from './text-acceptance.js';

export interface TextSpeed {
  readonly attack: string;
  readonly texts: number;
  readonly queries_per_s: number;
  readonly texts_per_s: number;
}

export async function textSpeed(n = 50): Promise<TextSpeed[]> {
  const rows = await textAcceptance(n, ['pwws', 'deepwordbug']);
  return rows.map((r) => ({
    attack: r.attack,
    texts: r.attacked,
    queries_per_s: (r.meanQueries * r.attacked) / r.seconds,
    texts_per_s: r.attacked / r.seconds,
  }));
}
