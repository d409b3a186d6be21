/**
 * `npm run text-adversarial-training [-- --epochs 5 --n 100]`
 * A2T-style adversarial training (Yoo & Qi 2021, arXiv:2109.00544) of the spam filter: the
 * bundled models/spam-bag.onnx recipe (text-bag, 5 epochs, Adam lr 0.01, batch 32, seed 0; the
 * vocabulary of the bundled model) trained again with every batch's spam emails attacked by a
 * cheap TextFooler-style synonym attack (≤ 10% words, 8 synonyms, 15 words tried, 200 queries) on
 * the current weights from the second epoch on, the successful adversarial texts added to the
 * batch. Prints clean test accuracy (all 1 767 test texts) and robust accuracy under PWWS
 * (≤ 10% words, synonyms) on the first n test spam emails, before (bundled model) and after.
 */
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spamAssassinSplit } from '../src/data/spam-assassin.js';
import { loadModel, saveModel } from '../src/onnx/model.js';
import { DEFAULT_PROTECTION } from '../src/text/perturbation/protected-spans.js';
import { DEFAULT_STOPWORDS } from '../src/text/perturbation/stopwords.js';
import { WordNetSynonyms } from '../src/text/perturbation/synonyms.js';
import { attackText } from '../src/text/attacks/harness.js';
import { TextFoolerAttack } from '../src/text/attacks/textfooler.js';
import { OnnxTextModel } from '../src/text/onnx-text-model.js';
import { bindVocabulary, vocabularyOfModel, withVocabulary } from '../src/text/vocabulary.js';
import { buildTextArchitecture } from '../src/training/text-architectures.js';
import { textClassifierMetrics, trainTextModel } from '../src/training/text-training.js';
import { deriveSeed } from '../src/random.js';
import { textAcceptance } from './text-acceptance.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '5' }, n: { type: 'string', default: '100' }, out: { type: 'string' } } });
const bundled = join(ROOT, 'models', 'spam-bag.onnx');
const vocabulary = vocabularyOfModel(loadModel(bundled))!;
const train = spamAssassinSplit('train');
const test = spamAssassinSplit('test');
const synonyms = new WordNetSynonyms();
const attack = new TextFoolerAttack({ maxSynonyms: 8, maxWordsTried: 15, rankQueries: 24 });
const perturbation = { edits: new Set(['synonym'] as const), budget: { wordFraction: 0.1 }, stopwords: DEFAULT_STOPWORDS, protection: DEFAULT_PROTECTION };
let batchIndex = 0;
let added = 0;
const batchesPerEpoch = Math.ceil(train.texts.length / 32);
const model = withVocabulary(
  buildTextArchitecture('text-bag', { vocabularySize: vocabulary.tokens.length, maxLength: vocabulary.maxLength, numClasses: 2, seed: 0 }),
  vocabulary,
);
bindVocabulary(model, vocabulary);
const started = performance.now();
const result = await trainTextModel(model, train, undefined, {
  epochs: Number(values.epochs),
  batchSize: 32,
  lr: 0.01,
  optimizer: { type: 'adam' },
  seed: 0,
  threads: 1,
  augment: async (texts, labels, current) => {
    const k = batchIndex++;
    if (k < batchesPerEpoch) return texts.map(() => null);
    const out: (string | null)[] = [];
    for (const [i, text] of texts.entries()) {
      if (labels[i] !== 1) {
        out.push(null);
        continue;
      }
      const o = await attackText(attack, current, text, 1, { perturbation, queryBudget: 200, synonyms, seed: deriveSeed(0, 'a2t', k, i) });
      out.push(o.status === 'success' ? o.adversarial! : null);
      if (o.status === 'success') added++;
    }
    return out;
  },
});
const trainSeconds = (performance.now() - started) / 1000;
const hardened = values.out ?? join(tmpdir(), 'spam-bag-a2t.onnx');
saveModel(result.model, hardened);
for (const [name, path] of [
  ['before (bundled)', bundled],
  ['after (A2T)', hardened],
] as const) {
  const m = await OnnxTextModel.open(path, { threads: 1 });
  const clean = await textClassifierMetrics(m, test);
  await m.dispose();
  const [pwws] = await textAcceptance(Number(values.n), ['pwws'], path);
  const robust = ((1 - pwws!.successRate) * pwws!.attacked) / Number(values.n);
  console.log(
    `${name.padEnd(17)} clean accuracy ${(100 * clean.accuracy).toFixed(2)}% (spam recall ${(100 * clean.recall).toFixed(1)}%)  ` +
      `PWWS ≤ 10% words: success ${(100 * pwws!.successRate).toFixed(1)}%, robust accuracy ${(100 * robust).toFixed(1)}% of ${values.n} spam`,
  );
}
console.log(`A2T training: ${trainSeconds.toFixed(0)} s, ${added} adversarial texts added; model ${hardened}`);
