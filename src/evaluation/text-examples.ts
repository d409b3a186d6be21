/**
 * The examples a text threat model names: the SpamAssassin test split (seed 0, the split the
 * bundled models were trained beside) or a JSONL file, filtered to one class when `label` is given,
 * then the first `n`.
 */
import { GibbonError } from '../errors.js';
import { spamAssassinSplit } from '../data/spam-assassin.js';
import type { TextDataset } from '../data/text-data.js';
import { readTextJsonl } from '../data/text-jsonl.js';
import type { TextExample } from './text-runner.js';
import { SPAM_ASSASSIN_TEST, type TextThreatModel } from './text-threat-model.js';

/** The examples of `tm` for a model with these class names (when known). */
export function loadTextExamples(tm: TextThreatModel, classes?: readonly string[]): { examples: TextExample[]; classes: readonly string[] } {
  const data: TextDataset =
    tm.data === SPAM_ASSASSIN_TEST ? spamAssassinSplit('test') : readTextJsonl(tm.data.jsonl, { ...(classes ? { classes } : {}), option: 'data.jsonl' });
  let examples = data.texts.map((text, i) => ({ text, label: data.labels[i]! }));
  if (tm.label !== undefined) {
    const id = typeof tm.label === 'number' ? tm.label : data.classes.indexOf(tm.label);
    if (id < 0 || id >= data.classes.length) {
      throw new GibbonError('invalid_threat_model', `label ${JSON.stringify(tm.label)} is not a class of the data (${data.classes.join(', ')})`, {
        option: 'label',
      });
    }
    examples = examples.filter((e) => e.label === id);
  }
  return { examples: tm.n === undefined ? examples : examples.slice(0, tm.n), classes: data.classes };
}
