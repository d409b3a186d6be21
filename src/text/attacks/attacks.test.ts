import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveSeed } from '../../random.js';
import { DEFAULT_PROTECTION } from '../perturbation/protected-spans.js';
import { DEFAULT_STOPWORDS } from '../perturbation/stopwords.js';
import { TEXT_EDITS, type TextBudget, type TextPerturbation } from '../perturbation/text-budget.js';
import { toySpamModel, toySpamTexts, toySynonyms } from '../testing/bag-model.js';
import { DeepWordBugAttack } from './deepwordbug.js';
import { attackText, type TextAttackOutcome } from './harness.js';
import { HotFlipAttack } from './hotflip.js';
import { PwwsAttack } from './pwws.js';
import { RandomEditAttack } from './random-edit.js';
import type { TextAttack } from './text-attack.js';
import { TextBuggerAttack } from './textbugger.js';
import { TextFoolerAttack } from './textfooler.js';
import { makeTextAttack } from './registry.js';

const SPAM = 1;

function perturbation(budget: TextBudget): TextPerturbation {
  return { edits: new Set(TEXT_EDITS), budget, stopwords: DEFAULT_STOPWORDS, protection: DEFAULT_PROTECTION };
}

async function runAll(attack: TextAttack, budget: TextBudget, n = 30): Promise<TextAttackOutcome[]> {
  const model = toySpamModel();
  const texts = toySpamTexts(n, 7);
  const out: TextAttackOutcome[] = [];
  for (const [i, text] of texts.entries()) {
    const [logits] = await model.scores([text]);
    assert.ok(logits![1]! > logits![0]!, `toy text ${i} is spam to the toy model`);
    out.push(
      await attackText(attack, model, text, SPAM, {
        perturbation: perturbation(budget),
        queryBudget: 500,
        synonyms: toySynonyms(),
        seed: deriveSeed(1, attack.name, i),
      }),
    );
  }
  return out;
}

const rate = (o: readonly TextAttackOutcome[]): number => o.filter((x) => x.status === 'success').length / o.length;

test('every attack flips toy spam within budget, and the harness accepted each text only after re-checking it', async () => {
  const words = { wordFraction: 0.25 };
  const chars = { charEdits: 5 };
  const cases: [TextAttack, TextBudget][] = [
    [new PwwsAttack(), words],
    [new TextFoolerAttack(), words],
    [new DeepWordBugAttack(), chars],
    [new TextBuggerAttack(), chars],
    [new HotFlipAttack(), chars],
  ];
  for (const [attack, budget] of cases) {
    const outcomes = await runAll(attack, budget);
    const r = rate(outcomes);
    assert.ok(r >= 0.8, `${attack.name}: success ${r}`);
    for (const o of outcomes.filter((x) => x.status === 'success')) {
      assert.equal(o.adversarialLabel, 0);
      if (budget.charEdits !== undefined) assert.ok(o.measure!.charEdits <= budget.charEdits, `${attack.name}: ${o.measure!.charEdits} edits`);
      if (budget.wordFraction !== undefined) assert.ok(o.measure!.wordFraction <= budget.wordFraction + 1e-9);
      assert.ok(!o.adversarial!.includes('http') || o.adversarial!.includes('http://shop.example/item'), 'the URL is intact');
      assert.ok(o.queries > 0 && o.queries <= 500);
    }
    assert.equal(outcomes.filter((x) => x.status === 'rejected').length, 0, `${attack.name} returned only valid texts`);
  }
});

test('the random baseline does worse than a ranked attack at the same budget', async () => {
  const budget = { charEdits: 3 };
  const random = rate(await runAll(new RandomEditAttack({ trials: 20 }), budget));
  const dwb = rate(await runAll(new DeepWordBugAttack(), budget));
  assert.ok(dwb > random + 0.2, `deepwordbug ${dwb} vs random ${random}`);
});

test('the same seed gives the same adversarial texts', async () => {
  const a = await runAll(new DeepWordBugAttack(), { charEdits: 5 }, 5);
  const b = await runAll(new DeepWordBugAttack(), { charEdits: 5 }, 5);
  assert.deepEqual(
    a.map((o) => o.adversarial),
    b.map((o) => o.adversarial),
  );
});

test('the query budget ends an attack: a failure with its reason, never more queries than allowed', async () => {
  const model = toySpamModel();
  const text = toySpamTexts(1, 3)[0]!;
  const o = await attackText(new PwwsAttack(), model, text, SPAM, {
    perturbation: perturbation({ wordFraction: 0.5 }),
    queryBudget: 3,
    synonyms: toySynonyms(),
    seed: 1,
  });
  assert.equal(o.status, 'failed');
  assert.equal(o.reason, 'query budget used up');
  assert.equal(o.queries, 3);
});

test('a white-box attack on a black box is refused, naming the attack', async () => {
  const model = toySpamModel();
  const blackBox = { classes: 2, scores: (t: readonly string[]) => model.scores(t) };
  await assert.rejects(
    attackText(new HotFlipAttack(), blackBox, 'free cash now', SPAM, {
      perturbation: perturbation({ charEdits: 3 }),
      queryBudget: 10,
      synonyms: toySynonyms(),
      seed: 1,
    }),
    /hotflip is a white-box attack/,
  );
});

test('awkward texts: empty, only a protected URL, only stopwords — every attack fails cleanly, nothing edited', async () => {
  const model = toySpamModel();
  const texts = ['', 'http://free.example/cash', 'the of and to'];
  for (const name of ['pwws', 'textfooler', 'deepwordbug', 'textbugger', 'hotflip', 'random'] as const) {
    for (const text of texts) {
      const o = await attackText(makeTextAttack(name), model, text, 0, {
        perturbation: perturbation({ charEdits: 5, wordFraction: 0.5 }),
        queryBudget: 100,
        synonyms: toySynonyms(),
        seed: 2,
      });
      assert.equal(o.status, 'failed', `${name} on ${JSON.stringify(text)}`);
    }
  }
  assert.throws(() => makeTextAttack('bae'), /unknown text attack 'bae'; valid: pwws, textfooler/);
  assert.throws(() => makeTextAttack('pwws', { maxSynonyms: 0 }), /pwws: option maxSynonyms must be a positive integer/);
});
