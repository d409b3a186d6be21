/**
 * Text training: a text-bag model learns a tiny corpus through the common trainer (token ids in,
 * embedding-table gradients through Gather), keeps its vocabulary, and the A2T-style augment hook
 * is called for every batch with the current model and adds its texts to the step.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TextDataset } from '../data/text-data.js';
import { OnnxTextModel } from '../text/onnx-text-model.js';
import { buildVocabulary, vocabularyOfModel, withVocabulary } from '../text/vocabulary.js';
import { buildTextArchitecture } from './text-architectures.js';
import { textClassifierMetrics, trainTextModel } from './text-training.js';

const HAM = ['see you at lunch', 'the meeting moved to noon', 'notes from the call', 'lunch at the usual place', 'call me after the meeting'];
const SPAM = ['win free money now', 'free money click here', 'click here to win', 'cheap pills free', 'win a free prize now'];
const data: TextDataset = { texts: [...HAM, ...SPAM], labels: Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]), classes: ['ham', 'spam'], source: 'tiny' };

describe('text training', () => {
  test('text-bag learns the corpus; the vocabulary stays in the model; augment sees every batch', async () => {
    const v = buildVocabulary(data.texts, { unit: 'word', maxLength: 8, minCount: 1, classes: data.classes });
    const model = withVocabulary(buildTextArchitecture('text-bag', { vocabularySize: v.tokens.length, maxLength: 8, dim: 8, seed: 1 }), v);
    const calls: { texts: number; spamScore: number }[] = [];
    const result = await trainTextModel(model, data, undefined, {
      epochs: 15,
      batchSize: 5,
      lr: 0.05,
      optimizer: { type: 'adam' },
      seed: 0,
      threads: 1,
      augment: async (texts, labels, current) => {
        assert.equal(texts.length, labels.length);
        assert.ok('tokenGradients' in current);
        const [s] = await current.scores(['win free money']);
        calls.push({ texts: texts.length, spamScore: s![1]! - s![0]! });
        // Spam with a ham word appended, labelled spam: a copy per spam text, none for ham.
        return texts.map((t, i) => (labels[i] === 1 ? `${t} lunch` : null));
      },
    });
    assert.equal(calls.length, 15 * 2);
    assert.ok(calls.at(-1)!.spamScore > calls[0]!.spamScore, 'the model handed to augment is the current one');
    assert.deepEqual(vocabularyOfModel(result.model)?.tokens, v.tokens);
    const trained = await OnnxTextModel.fromModel(result.model, { threads: 1 });
    try {
      const m = await textClassifierMetrics(trained, data);
      assert.equal(m.accuracy, 1);
      const [s] = await trained.scores(['free money lunch']);
      assert.ok(s![1]! > s![0]!, 'augmented copies taught spam + "lunch" is still spam');
    } finally {
      await trained.dispose();
    }
  });
});
