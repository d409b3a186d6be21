/**
 * OnnxTextModel: scores match a hand computation of the embedding bag; the embedding-output
 * gradient of every architecture matches central finite differences of the cross-entropy (moving
 * one embedding row of a token that occurs once); padding and truncation; a vocabulary that does
 * not fit the model is refused with one line naming the mismatch.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { cloneModel, parseModel, serializeModel, type ModelIR } from '../onnx/model.js';
import { decodeTensor, encodeTensor } from '../onnx/tensor-proto.js';
import { DataType as DT } from '../onnx/dtypes.js';
import { buildTextArchitecture, TEXT_ARCHITECTURES, TEXT_ARCHITECTURE_UNIT, type TextArchitectureName } from '../training/text-architectures.js';
import { OnnxTextModel } from './onnx-text-model.js';
import { buildVocabulary, withVocabulary, type TextVocabulary } from './vocabulary.js';

const CORPUS = ['free money now, click here', 'the meeting is at noon', 'win free money', 'lunch at noon? the usual place', 'click here to win'];

function tiny(arch: TextArchitectureName, maxLength = arch === 'char-cnn' ? 40 : 12): { model: ModelIR; vocabulary: TextVocabulary } {
  const vocabulary = buildVocabulary(CORPUS, { unit: TEXT_ARCHITECTURE_UNIT[arch], maxLength, minCount: 1, classes: ['ham', 'spam'] });
  const model = withVocabulary(buildTextArchitecture(arch, { vocabularySize: vocabulary.tokens.length, maxLength, dim: 6, seed: 3 }), vocabulary);
  return { model: parseModel(serializeModel(model)), vocabulary };
}

function ce(logits: Float32Array, y: number): number {
  const m = Math.max(...logits);
  const lse = m + Math.log(logits.reduce((s, v) => s + Math.exp(v - m), 0));
  return lse - logits[y]!;
}

function withRowShift(model: ModelIR, row: number, k: number, h: number): ModelIR {
  const out = cloneModel(model);
  const t = decodeTensor(out.graph.initializers.get('embedding.weight')!);
  const data = Float32Array.from(t.data as Float32Array);
  const dim = Number(t.dims[1]);
  data[row * dim + k]! += h;
  out.graph.initializers.set('embedding.weight', encodeTensor('embedding.weight', DT.FLOAT, t.dims.map(Number), data));
  return out;
}

describe('OnnxTextModel', () => {
  test('text-bag scores are the mean of the token embeddings through the linear layer; padding changes nothing', async () => {
    const { model } = tiny('text-bag');
    const m = await OnnxTextModel.fromModel(model, { threads: 1 });
    try {
      const text = 'free money, the noon';
      const tokens = m.tokenize(text);
      assert.deepEqual(
        tokens.map((t) => text.slice(t.start, t.end)),
        ['free', 'money', ',', 'the', 'noon'],
      );
      const E = m.embedding.values;
      const d = m.embedding.dim;
      const W = decodeTensor(model.graph.initializers.get('fc.weight')!).data as Float32Array;
      const b = decodeTensor(model.graph.initializers.get('fc.bias')!).data as Float32Array;
      const mean = new Float64Array(d);
      for (const t of tokens) for (let k = 0; k < d; k++) mean[k]! += E[t.id * d + k]! / tokens.length;
      const [scores] = await m.scores([text]);
      for (let c = 0; c < 2; c++) {
        let z = b[c]!;
        for (let k = 0; k < d; k++) z += W[c * d + k]! * mean[k]!;
        assert.ok(Math.abs(scores![c]! - z) < 1e-5, `class ${c}: ${scores![c]} vs ${z}`);
      }
      // The same text in a batch with a longer one (more padding for it) scores the same.
      const [again] = await m.scores([text, 'click here to win free money now at the usual place']);
      assert.deepEqual(Array.from(again!), Array.from(scores!));
    } finally {
      await m.dispose();
    }
  });

  for (const arch of TEXT_ARCHITECTURES) {
    test(`${arch}: embedding-output gradient matches finite differences`, async () => {
      const { model } = tiny(arch);
      const m = await OnnxTextModel.fromModel(model, { threads: 1 });
      try {
        const text = arch === 'char-cnn' ? 'win big' : 'win free money now';
        const label = 1;
        const [g] = await m.tokenGradients([text], [label]);
        assert.equal(g!.gradient.length, g!.tokens.length * m.embedding.dim);
        const [direct] = await m.scores([text]);
        assert.deepEqual(Array.from(g!.logits), Array.from(direct!));
        // A token whose id occurs once in the text: d loss / d table[id] = its embedding-output gradient.
        const counts = new Map<number, number>();
        for (const t of g!.tokens) counts.set(t.id, (counts.get(t.id) ?? 0) + 1);
        const i = g!.tokens.findIndex((t) => counts.get(t.id) === 1 && t.id > 1);
        assert.ok(i >= 0);
        const id = g!.tokens[i]!.id;
        const h = 1e-2;
        let checked = 0;
        for (let k = 0; k < m.embedding.dim; k++) {
          const losses: number[] = [];
          for (const s of [h, -h]) {
            const shifted = await OnnxTextModel.fromModel(withRowShift(model, id, k, s), { threads: 1 });
            losses.push(ce((await shifted.scores([text]))[0]!, label));
            await shifted.dispose();
          }
          const fd = (losses[0]! - losses[1]!) / (2 * h);
          const analytic = g!.gradient[i * m.embedding.dim + k]!;
          assert.ok(Math.abs(fd - analytic) < 2e-3 + 2e-2 * Math.abs(fd), `${arch} token ${i} dim ${k}: finite differences ${fd}, gradient ${analytic}`);
          if (Math.abs(analytic) > 1e-4) checked++;
        }
        assert.ok(checked > 0, 'some gradient entries are non-zero');
      } finally {
        await m.dispose();
      }
    });
  }

  test('a text longer than the model accepts is cut to its first maxLength tokens, or refused with overflow "error"', async () => {
    const { model, vocabulary } = tiny('text-bag', 4);
    const m = await OnnxTextModel.fromModel(model, { threads: 1 });
    const strict = await OnnxTextModel.fromModel(model, { threads: 1, vocabulary: { ...vocabulary, overflow: 'error' } });
    try {
      assert.equal(m.tokenize('one two three four five six').length, 4);
      const [a, b] = await m.scores(['win free money now', 'win free money now and more words here']);
      assert.deepEqual(Array.from(a!), Array.from(b!));
      await assert.rejects(strict.scores(['one two three four five']), (e: GibbonError) => e.code === 'invalid_input' && /more than 4 words/.test(e.message));
      // Empty text: all padding, a defined answer.
      const [empty] = await m.scores(['']);
      assert.ok(empty!.every(Number.isFinite));
      // Unknown words map to the unknown id.
      assert.deepEqual(
        m.tokenize('zzzq free').map((t) => t.id),
        [vocabulary.unknownId, vocabulary.tokens.indexOf('free')],
      );
    } finally {
      await m.dispose();
      await strict.dispose();
    }
  });

  test('a vocabulary that does not fit the model is one error naming the mismatch', async () => {
    const { model, vocabulary } = tiny('text-bag');
    const cases: [Partial<TextVocabulary>, RegExp][] = [
      [{ tokens: [...vocabulary.tokens, 'extra'] }, /has \d+ rows but the vocabulary has \d+ tokens/],
      [{ maxLength: 99 }, /takes 12 tokens but the vocabulary's maxLength is 99/],
    ];
    for (const [change, message] of cases) {
      await assert.rejects(OnnxTextModel.fromModel(model, { vocabulary: { ...vocabulary, ...change } }), (e: GibbonError) => {
        assert.equal(e.code, 'invalid_model');
        assert.match(e.message, message);
        assert.ok(!e.message.includes('\n'));
        return true;
      });
    }
    const bare = cloneModel(model);
    const noVocab = { ...bare, proto: { ...bare.proto, metadataProps: [] } };
    await assert.rejects(OnnxTextModel.fromModel(noVocab), /no vocabulary/);
    const floatInput = cloneModel(model);
    floatInput.graph.inputs[0] = { ...floatInput.graph.inputs[0]!, dataType: DT.FLOAT };
    await assert.rejects(OnnxTextModel.fromModel(floatInput), /must be int64 token ids/);
  });
});
