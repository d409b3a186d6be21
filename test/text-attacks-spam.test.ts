/**
 * The text attacks against the bundled spam filter (models/spam-bag.onnx) on the first 30 held-out
 * SpamAssassin spam emails: every accepted adversarial text passed the harness's re-check (no
 * rejections), HotFlip is at least as successful as DeepWordBug at the same 5-edit budget, and the
 * ranked attacks are at least as successful as the random baseline at their budgets. The full
 * 500-email measurement is `npm run text-acceptance` (docs/text-attacks.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { textAcceptance } from '../bench/text-acceptance.js';

test('text attacks on the bundled spam filter: re-checked, HotFlip ≥ DeepWordBug, ranked ≥ random', { timeout: 180_000 }, async () => {
  const rows = await textAcceptance(30, ['pwws', 'deepwordbug', 'hotflip', 'random']);
  const rate = (attack: string, budget: string): number => rows.find((r) => r.attack === attack && r.budget.includes(budget))!.successRate;
  for (const r of rows) {
    assert.equal(r.rejected, 0, `${r.attack}: every returned text passed the re-check`);
    assert.ok(r.attacked >= 28, `${r.attack}: the model gets most of the spam right (${r.attacked} of 30)`);
  }
  assert.ok(rate('hotflip', 'char') >= rate('deepwordbug', 'char'), 'HotFlip ≥ DeepWordBug at ≤ 5 char edits');
  assert.ok(rate('deepwordbug', 'char') >= rate('random', 'char'), 'DeepWordBug ≥ random at ≤ 5 char edits');
  assert.ok(rate('pwws', 'words') >= rate('random', 'words'), 'PWWS ≥ random at ≤ 10% words');
  assert.ok(rate('hotflip', 'char') > 0 && rate('pwws', 'words') > 0, 'the attacks flip some spam');
  const pwws = rows.find((r) => r.attack === 'pwws')!;
  assert.ok(pwws.medianQueries <= 200, `PWWS median queries ${pwws.medianQueries}`);
});
