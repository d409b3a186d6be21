import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderTextReportHtml } from '../report/text-html.js';
import { textAttackSummaryLines } from '../report/text-report.js';
import { toySpamModel, toySpamTexts, toySynonyms } from '../text/testing/bag-model.js';
import { evaluateText, TEXT_CHECKPOINT_FILE } from './text-runner.js';
import { validateTextThreatModel } from './text-threat-model.js';

const tm = validateTextThreatModel(
  { perturbation: 'text', attacks: ['pwws', 'deepwordbug', 'random'], budgets: [{ words: 0.3 }, { char_edits: 4 }], data: 'spam-assassin-test', seed: 3 },
  'test.yaml',
);

test('text evaluation: robust accuracy per budget, resumable from its checkpoint with the same numbers', async () => {
  const out = mkdtempSync(join(tmpdir(), 'gibbon-text-eval-'));
  try {
    const examples = [...toySpamTexts(12, 11).map((text) => ({ text, label: 1 })), { text: 'meeting agenda and project notes', label: 1 }];
    const model = toySpamModel();
    const options = {
      model,
      modelName: 'toy',
      modelId: 'toy-1',
      examples,
      threatModel: tm,
      synonyms: toySynonyms(),
      out,
      resume: true,
      batch: 5,
      gibbonVersion: '0',
    };
    const { report: first } = await evaluateText(options);
    assert.equal(first.examples, 13);
    assert.ok(Math.abs(first.cleanAccuracy - 12 / 13) < 1e-9);
    for (const b of first.budgets) {
      const pwwsOrDwb = b.attacks.find((s) => s.attack !== 'random')!;
      assert.equal(pwwsOrDwb.skipped, 1);
      assert.ok(b.robustAccuracy <= first.cleanAccuracy && b.robustAccuracy >= 0);
    }
    assert.ok(first.budgets[0]!.attacks[0]!.successRate >= 0.8, 'pwws flips the toy spam');
    const attackQueries = model.scored;
    const again = toySpamModel();
    const { report: second, resumed } = await evaluateText({ ...options, model: again });
    assert.equal(resumed, 2 * 3 * 3);
    assert.equal(again.scored, examples.length, 'the resumed run only re-scores the clean texts');
    assert.deepEqual(
      second.budgets.map((b) => b.attacks.map((s) => [s.successRate, s.medianQueries])),
      first.budgets.map((b) => b.attacks.map((s) => [s.successRate, s.medianQueries])),
    );
    assert.ok(attackQueries > examples.length);
    // Another threat model does not resume this checkpoint.
    await assert.rejects(evaluateText({ ...options, threatModel: { ...tm, seed: 4 } }), /text-checkpoint\.json is of another run \(threatModel/);
    // A damaged record is dropped and computed again.
    const path = join(out, TEXT_CHECKPOINT_FILE);
    const file = JSON.parse(readFileSync(path, 'utf8'));
    file.records[0].results[0].outcome.queries = 1;
    writeFileSync(path, JSON.stringify(file));
    const third = toySpamModel();
    await evaluateText({ ...options, model: third });
    assert.ok(third.scored > examples.length && third.scored < attackQueries, `${third.scored} vs ${attackQueries}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the text report page escapes hostile texts and shows invisible characters', async () => {
  const hostile = 'free cash <script>alert(1)</script> "><img src=x onerror=alert(2)> win prize now';
  const { report } = await evaluateText({
    model: toySpamModel(),
    modelName: '<b>model</b>',
    modelId: 'x',
    examples: [{ text: hostile, label: 1 }],
    threatModel: { ...tm, attacks: [{ name: 'deepwordbug', options: {} }], budgets: [{ charEdits: 6 }], edits: ['invisible'] },
    synonyms: toySynonyms(),
    gibbonVersion: '0',
  });
  assert.equal(report.budgets[0]!.attacks[0]!.succeeded, 1, 'invisible characters break the toy words');
  const page = renderTextReportHtml(report);
  assert.ok(!page.includes('<script>'));
  assert.ok(!page.includes('<img'));
  assert.ok(!page.includes('<b>model'));
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.match(page, /⟨U\+(200B|200C|200D|2060)⟩/);
  const lines = textAttackSummaryLines(report.budgets[0]!.attacks[0]!, report.cleanAccuracy, '≤ 6 char edits');
  assert.ok(lines.some((l) => /\| Attack success rate: +\| 100\.0% +\|/.test(l)));
});

test('text threat models: errors name the field', () => {
  assert.throws(() => validateTextThreatModel({ perturbation: 'text', budgets: [], data: 'spam-assassin-test', seed: 0 }, 't.yaml'), /budgets/);
  assert.throws(
    () => validateTextThreatModel({ perturbation: 'text', budgets: [{}], data: 'spam-assassin-test', seed: 0 }, 't.yaml'),
    /words and\/or char_edits/,
  );
  assert.throws(
    () => validateTextThreatModel({ perturbation: 'text', budgets: [{ words: 0.1 }], data: 'spam-assassin-test', seed: 0, attacks: ['nope'] }, 't.yaml'),
    /attacks\[0\]/,
  );
  assert.throws(
    () => validateTextThreatModel({ perturbation: 'text', budgets: [{ words: 0.1 }], data: 'spam-assassin-test', seed: 0, colour: 1 }, 't.yaml'),
    /unknown field 'colour'/,
  );
  assert.throws(
    () =>
      validateTextThreatModel(
        { perturbation: 'text', budgets: [{ words: 0.1 }], data: 'spam-assassin-test', seed: 0, protect: { patterns: ['(('] } },
        't.yaml',
      ),
    /protect\.patterns\[0\] is not a valid regular expression/,
  );
});
