/**
 * Text models from the command line, as a user runs them: `gibbon train` on a JSONL corpus with a
 * text architecture (the vocabulary goes into the model), `gibbon info` showing the tokenizer
 * facts, `gibbon predict --text` and `--input FILE.jsonl` (accuracy), the bundled spam filter, and
 * bad input: a JSONL line without a label, an empty text, a vocabulary that does not fit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFails, assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const { work, gibbon } = cliWorkspace('gibbon-text-cli-');

const HAM = ['see you at lunch tomorrow', 'the meeting moved to noon', 'notes from the call today', 'lunch at the usual place', 'call me after the meeting'];
const SPAM = ['win free money now', 'free money click here now', 'click here to win cash', 'cheap pills free shipping', 'win a free prize today'];

function corpus(): string {
  const lines: string[] = [];
  for (let r = 0; r < 4; r++) {
    for (const t of HAM) lines.push(JSON.stringify({ text: `${t} ${r}`, label: 'ham' }));
    for (const t of SPAM) lines.push(JSON.stringify({ text: `${t} ${r}`, label: 'spam' }));
  }
  return `${lines.join('\n')}\n`;
}

describe('gibbon on text models', () => {
  test('train text-bag on JSONL, then info and predict read the vocabulary from the model', async () => {
    writeFileSync(join(work, 'train.jsonl'), corpus());
    const r = await gibbon(
      'train',
      '--arch',
      'text-bag',
      '--data',
      'train.jsonl',
      '--heldout',
      '8',
      '--epochs',
      '20',
      '--lr',
      '0.05',
      '--batch-size',
      '8',
      '--max-length',
      '16',
      '--threads',
      '1',
      '--out',
      'tiny.onnx',
    );
    assertOk(r);
    assert.match(r.stdout, /held-out 8: accuracy 100\.0%/);
    assert.ok(existsSync(join(work, 'tiny.log.jsonl')));

    const info = await gibbon('info', 'tiny.onnx');
    assertOk(info);
    assert.match(info.stdout, /input  int64 \[batch, 16\]/);
    assert.match(info.stdout, /word tokens, lower-cased; \d+ in the vocabulary \(pad id 0, unknown id 1\)/);
    assert.match(info.stdout, /classes: 0 ham, 1 spam/);
    const json = JSON.parse((await gibbon('info', 'tiny.onnx', '--json')).stdout) as { text: { maxLength: number; unit: string } };
    assert.equal(json.text.maxLength, 16);
    assert.equal(json.text.unit, 'word');

    const p = await gibbon('predict', 'tiny.onnx', '--text', 'free money, click here', '--text', 'lunch after the meeting?', '--out', 'p.npy');
    assertOk(p);
    const rows = p.stdout.split('\n').filter((l) => l.startsWith('  '));
    assert.match(rows[0]!, /^ {2}spam /);
    assert.match(rows[1]!, /^ {2}ham /);
    assert.ok(existsSync(join(work, 'p.npy')));

    writeFileSync(join(work, 'eval.jsonl'), `${JSON.stringify({ text: 'win cash now', label: 'spam' })}\n${JSON.stringify({ text: 'see you at noon' })}\n`);
    const labelled = await gibbon('predict', 'tiny.onnx', '--input', 'eval.jsonl');
    assertOk(labelled);
    assert.match(labelled.stdout, /accuracy: 100\.00% \(1\/1 labelled\)/);
  });

  test('the bundled spam filter flags an advance-fee email and passes a work email', async () => {
    const model = join(ROOT, 'models', 'spam-bag.onnx');
    const r = await gibbon(
      'predict',
      model,
      '--text',
      'URGENT: I am a bank manager with $15 million to transfer, reply with your account details',
      '--text',
      'Re: the build failed again on the release branch, can you check the patch?',
    );
    assertOk(r);
    assert.match(r.stdout, /predicted classes: ham:1 spam:1/);
    assert.match(
      r.stdout.split('\n').find((l) => l.includes('URGENT'))!,
      /^ {2}spam /,
    );
  });

  test('bad input: a JSONL line without a label, an empty text, a vocabulary that does not fit', async () => {
    writeFileSync(join(work, 'nolabel.jsonl'), `${JSON.stringify({ text: 'a', label: 0 })}\n${JSON.stringify({ text: 'b' })}\n`);
    assertFails(
      await gibbon('train', '--arch', 'text-bag', '--data', 'nolabel.jsonl', '--heldout', '0', '--epochs', '1', '--out', 'x.onnx'),
      /nolabel\.jsonl line 2: no "label" field/,
    );
    assertFails(await gibbon('predict', join(ROOT, 'models', 'spam-bag.onnx'), '--text', '  '), /text 1 is empty/);
    const vocab = {
      format: 'gibbon.text/1',
      unit: 'word',
      lowercase: true,
      maxLength: 256,
      overflow: 'truncate',
      padId: 0,
      unknownId: 1,
      tokens: ['<pad>', '<unk>', 'a'],
    };
    writeFileSync(join(work, 'small-vocab.json'), JSON.stringify(vocab));
    assertFails(
      await gibbon('predict', join(ROOT, 'models', 'spam-bag.onnx'), '--vocab', 'small-vocab.json', '--text', 'hello'),
      /has 10000 rows but the vocabulary has 3 tokens/,
    );
  });
});
