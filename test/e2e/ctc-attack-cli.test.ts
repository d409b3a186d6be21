/**
 * `gibbon ctc-attack` on the CRNN digit recogniser: forcing strings on 6 rendered lines (the report
 * names each line's reading before and after, the adversarial lines stay within ε, the gradient file
 * is the library's), changing them untargeted, and one-line errors for bad options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SequenceOnnxModel } from '../../src/model/sequence-model.js';
import { readNpy, writeNpy } from '../../src/tensor/npy.js';
import { assertFails, assertOk, cliWorkspace } from '../helpers/cli.js';
import { CRNN_PATH, ctcLines, targetText } from '../helpers/ctc-fixture.js';

const { work, gibbon } = cliWorkspace('gibbon-ctc-cli-');
const lines = ctcLines();
const N = 6;
const row = 32 * 128;
const xPath = join(work, 'lines.npy');
writeNpy(xPath, { type: 'float32', data: lines.x.data.slice(0, N * row), shape: [N, 1, 32, 128] });
const targets = lines.texts.slice(0, N).map((t, i) => targetText(t, i, lines.charset));

test('ctc-attack --target-text forces the strings, writes lines within ε and the −CTC gradient', async () => {
  const out = join(work, 'adv.npy');
  const grad = join(work, 'grad.npy');
  const r = await gibbon(
    'ctc-attack',
    CRNN_PATH,
    '--input',
    xPath,
    '--charset',
    lines.charset,
    '--target-text',
    targets.join(','),
    '--eps',
    '0.15',
    '--out',
    out,
    '--grad',
    grad,
    '--threads',
    '2',
  );
  assertOk(r);
  const forced = Number(/target forced on (\d+)\/6 lines/.exec(r.stdout)?.[1]);
  assert.ok(forced >= 4, r.stdout);
  assert.match(r.stdout, new RegExp(`0: '${lines.predicted[0]}' → '`));
  const adv = readNpy(out);
  assert.deepEqual(adv.shape, [N, 1, 32, 128]);
  let worst = 0;
  for (let i = 0; i < adv.data.length; i++) worst = Math.max(worst, Math.abs(Number(adv.data[i]) - lines.x.data[i]!));
  assert.ok(worst <= 0.15 + 1e-6 && worst > 0.1, `L∞ ${worst}`);
  const model = await SequenceOnnxModel.load(CRNN_PATH, { charset: lines.charset, threads: 2 });
  const read = await model.transcribe({ data: adv.data as Float32Array, shape: adv.shape });
  assert.equal(read.filter((s, i) => s === targets[i]).length, forced);
  const expected = await model.lossAndGrad(
    { data: lines.x.data.slice(0, N * row), shape: [N, 1, 32, 128] },
    targets.map((t) => model.encode(t)),
    'ctc-targeted',
  );
  const g = readNpy(grad);
  let diff = 0;
  for (let i = 0; i < g.data.length; i++) diff = Math.max(diff, Math.abs(Number(g.data[i]) - expected.grad.data[i]!));
  assert.ok(diff < 1e-5 && expected.grad.data.some((v) => v !== 0), `gradient difference ${diff}`);
  await model.dispose();
});

test('ctc-attack without targets changes the transcriptions (labels shown as class ids without --charset)', async () => {
  const r = await gibbon('ctc-attack', CRNN_PATH, '--input', xPath, '--eps', '0.05', '--steps', '20', '--threads', '2');
  assertOk(r);
  assert.match(r.stdout, /transcription changed on 6\/6 lines/);
  assert.match(r.stdout, /^0: \[[0-9 ]+\] → \[[0-9 ]*\]$/m);
});

test('ctc-attack errors are one line naming the option or the character', async () => {
  assertFails(await gibbon('ctc-attack', CRNN_PATH, '--input', xPath, '--target-text', '123'), /--target-text needs the characters .* add --charset/);
  assertFails(
    await gibbon('ctc-attack', CRNN_PATH, '--input', xPath, '--charset', lines.charset, '--target-text', '12a4'),
    /string 1 '12a4' has 'a' at position 2, which is not in the model's charset/,
  );
  assertFails(
    await gibbon('ctc-attack', CRNN_PATH, '--input', xPath, '--charset', lines.charset, '--target-text', '1,2'),
    /--target-text has 2 strings but .* has 6 lines/,
  );
  assertFails(await gibbon('ctc-attack', CRNN_PATH, '--input', xPath, '--charset', '0123'), /charset has 4 characters but the model has 10 non-blank classes/);
  assertFails(
    await gibbon('ctc-attack', CRNN_PATH, '--input', xPath, '--charset', lines.charset, '--target-text', '1'.repeat(20)),
    /needs 39 frames but the model emits 32/,
  );
});
