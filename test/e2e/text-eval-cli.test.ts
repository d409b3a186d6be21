/**
 * `gibbon text-eval` and `gibbon eval` on a `perturbation: text` threat model, end to end on the
 * bundled spam filter: the tables and TextAttack summaries are printed, report.json/report.html
 * written, --resume reuses the checkpoint; a bad threat model is one line naming the field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertFails, assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const { work, gibbon } = cliWorkspace('gibbon-text-eval-cli-');
const MODEL = join(ROOT, 'models', 'spam-bag.onnx');
const threat = join(work, 'spam.yaml');
writeFileSync(
  threat,
  [
    'perturbation: text',
    'attacks: [deepwordbug, random]',
    'edits: [swap, substitute, delete, insert]',
    'budgets: [{ char_edits: 5 }]',
    'data: spam-assassin-test',
    'label: spam',
    'n: 6',
    'seed: 0',
  ].join('\n'),
);

test('gibbon eval on a text threat model: tables, summaries, report files, resume', async () => {
  const out = join(work, 'out');
  const r = await gibbon('eval', MODEL, '--threat', threat, '--out', out, '--threads', '1');
  assertOk(r);
  assert.match(r.stdout, /6 examples; clean accuracy 100\.0%/);
  assert.match(r.stdout, /≤ 5 char edits: robust accuracy \d+\.\d%/);
  assert.match(r.stdout, /\| Attack success rate: +\| \d+\.\d% +\|/);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  assert.equal(report.format, 'gibbon-text-report');
  assert.equal(report.budgets[0].attacks.length, 2);
  assert.ok(existsSync(join(out, 'report.html')));
  const again = await gibbon('text-eval', MODEL, '--threat', threat, '--out', out, '--resume', '--threads', '1');
  assertOk(again);
  assert.match(again.stdout, /resumed 2 finished batch\(es\)/);
});

test('a bad text threat model is one line naming the field', async () => {
  const bad = join(work, 'bad.yaml');
  writeFileSync(bad, 'perturbation: text\nbudgets: [{ char_edits: 0 }]\ndata: spam-assassin-test\nseed: 0\n');
  const r = await gibbon('text-eval', MODEL, '--threat', bad, '--out', join(work, 'bad-out'));
  assertFails(r, /budgets\[0\]\.char_edits/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
