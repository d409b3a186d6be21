/** Labelled texts (a spam corpus, a user's JSONL file) as the text trainer and the text harness read them. */
export interface TextDataset {
  readonly texts: readonly string[];
  /** Class index per text. */
  readonly labels: Int32Array;
  /** Class names, index = class id. */
  readonly classes: readonly string[];
  /** Where the data came from ('spam-assassin:test', a path). */
  readonly source: string;
}

/** The rows of a dataset at the given indices (in that order). */
export function selectTexts(data: TextDataset, indices: ArrayLike<number>, source = data.source): TextDataset {
  const texts: string[] = [];
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    texts.push(data.texts[indices[i]!]!);
    labels[i] = data.labels[indices[i]!]!;
  }
  return { texts, labels, classes: data.classes, source };
}
