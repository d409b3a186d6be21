/**
 * Acceptance test of the CTC head (issue 12, item 7): on the conv-only CRNN digit recogniser and its
 * 50 held-out rendered lines (test/fixtures/ctc), targeted L∞ PGD on −CTC(target) forces a chosen
 * string — a different digit at every position, same length — on at least 80% of the lines at
 * ε = EPS_TARGETED, and untargeted PGD on +CTC(transcription) changes the transcription. Success is
 * judged by the harness: greedy decoding of the clipped adversarial lines, on a fresh forward pass.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PgdAttack } from '../src/attacks/pgd.js';
import { runSequenceAttack } from '../src/attacks/sequence-attack.js';
import { SequenceOnnxModel } from '../src/model/sequence-model.js';
import { linf } from '../src/norms/linf.js';
import { CRNN_PATH, ctcLines, targetText } from './helpers/ctc-fixture.js';

const EPS_TARGETED = 0.15;
const EPS_UNTARGETED = 0.03;
const lines = ctcLines();
let model: SequenceOnnxModel;

before(async () => {
  model = await SequenceOnnxModel.load(CRNN_PATH, { blank: lines.blank, charset: lines.charset, threads: 2 });
});
after(() => model.dispose());

test('the ONNX recogniser reads the 50 lines as PyTorch does, and mostly right', async () => {
  assert.equal(model.layout, 'TNC');
  assert.equal(model.frames, lines.frames);
  const read = await model.transcribe(lines.x);
  assert.deepEqual(read, lines.predicted);
  const correct = read.filter((s, i) => s === lines.texts[i]).length;
  assert.ok(correct >= 45, `clean line accuracy ${correct}/50`);
});

test(`targeted PGD with the CTC head forces the chosen string on ≥ 80% of 50 lines at L∞ ε = ${EPS_TARGETED}`, async () => {
  const targetTexts = lines.texts.map((t, i) => targetText(t, i, lines.charset));
  const targets = targetTexts.map((t, i) => model.encode(t, `target ${i}`));
  const attack = new PgdAttack({ steps: 100, relStepsize: 0.05, randomStart: false });
  const r = await runSequenceAttack(attack, model, lines.x, { eps: EPS_TARGETED, norm: 'linf', targets, seed: 1 });
  const forced = r.adversarial.filter((s, i) => model.charset!.decode(s) === targetTexts[i]).length;
  const reported = r.outcome.success.reduce((a, b) => a + b, 0);
  assert.equal(reported, forced, 'the harness counts exactly the lines that now read their target');
  assert.ok(forced >= 40, `target forced on ${forced}/50 lines`);
  const worst = Math.max(...linf.distance(r.outcome.clipped, lines.x));
  assert.ok(worst <= EPS_TARGETED + 1e-6, `largest L∞ perturbation ${worst}`);
});

test(`untargeted PGD with the CTC head changes the transcription at L∞ ε = ${EPS_UNTARGETED}`, async () => {
  const attack = new PgdAttack({ steps: 20, relStepsize: 0.1, randomStart: false });
  const r = await runSequenceAttack(attack, model, lines.x, { eps: EPS_UNTARGETED, norm: 'linf', seed: 1 });
  const changed = r.adversarial.filter((s, i) => s.join() !== r.original[i]!.join()).length;
  assert.equal(
    r.outcome.success.reduce((a, b) => a + b, 0),
    changed,
  );
  assert.ok(changed >= 45, `transcription changed on ${changed}/50 lines`);
});

test('zoo crnn_ctc_op12 (dynamic width, BiLSTM): layout, frames and classes follow the width given', async () => {
  const zoo = new URL('../../test/fixtures/zoo/crnn_ctc_op12.onnx', import.meta.url).pathname;
  for (const width of [64, 48]) {
    const m = await SequenceOnnxModel.load(zoo, { threads: 1, inputShapes: { image: [null, 1, 16, width] } });
    try {
      assert.deepEqual([m.layout, m.frames, m.numClasses], ['TNC', width / 2, 11]);
      const decoded = await m.decode({ data: new Float32Array(3 * 16 * width).fill(0.5), shape: [3, 1, 16, width] });
      assert.equal(decoded.length, 3);
      assert.ok(
        decoded.every((s) => s.every((k) => k > 0 && k < 11)),
        `decoded ${JSON.stringify(decoded)}`,
      );
    } finally {
      await m.dispose();
    }
  }
});
