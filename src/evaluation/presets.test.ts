import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAttack } from '../attacks/registry.js';
import { GibbonError } from '../errors.js';
import { ENSEMBLE_PRESETS, oracleKindOf, resolveEnsemble } from './presets.js';

test('auto is APGD-CE, APGD-T, FAB-T, Square (HopSkipJump as the decision-only fallback); fast is PGD-20 with one restart', () => {
  const auto = resolveEnsemble('auto');
  assert.equal(auto.preset, true);
  assert.deepEqual(
    auto.stages.map((s) => s.attack),
    ['apgd-ce', 'apgd-t', 'fab-t', 'square', 'hsj'],
  );
  assert.deepEqual(
    auto.stages.map((s) => oracleKindOf(s)),
    ['gradient', 'gradient', 'gradient', 'score', 'decision'],
  );
  assert.deepEqual(
    auto.stages.map((s) => s.fallback ?? false),
    [false, false, false, false, true],
  );
  const apgdT = createAttack(auto.stages[1]!.attack, auto.stages[1]!.options);
  assert.equal((apgdT.options as { targetClasses?: number }).targetClasses, 9);
  assert.equal((apgdT.options as { steps: number }).steps, 100);
  const fabT = createAttack(auto.stages[2]!.attack, auto.stages[2]!.options).options as { steps: number; targetClasses: number; restarts: number };
  assert.deepEqual([fabT.steps, fabT.targetClasses, fabT.restarts], [100, 9, 1]);
  const fast = resolveEnsemble('fast');
  assert.equal(fast.stages.length, 1);
  assert.equal(fast.stages[0]!.label, 'pgd-20');
  const pgd = createAttack(fast.stages[0]!.attack, fast.stages[0]!.options).options as { steps: number; restarts: number; relStepsize: number };
  assert.deepEqual([pgd.steps, pgd.restarts, pgd.relStepsize], [20, 1, 0.125]);
  assert.equal(oracleKindOf(fast.stages[0]!), 'gradient');
});

test('configs are frozen: no stage can change another', () => {
  for (const stages of ENSEMBLE_PRESETS.values()) {
    assert.ok(Object.isFrozen(stages));
    for (const s of stages) assert.ok(Object.isFrozen(s) && Object.isFrozen(s.options));
  }
  assert.throws(() => {
    (resolveEnsemble('fast').stages[0]!.options as Record<string, unknown>)['steps'] = 1;
  }, TypeError);
});

test('comma lists: registry names in order; unknown or repeated names are refused, naming the option', () => {
  const list = resolveEnsemble(' fgsm, pgd ,apgd-dlr');
  assert.equal(list.preset, false);
  assert.deepEqual(
    list.stages.map((s) => s.label),
    ['fgsm', 'pgd', 'apgd-dlr'],
  );
  assert.throws(
    () => resolveEnsemble('pgd,sqare', '--attacks'),
    (e: unknown) =>
      e instanceof GibbonError &&
      e.location.option === '--attacks' &&
      /unknown attack 'sqare' in --attacks; valid: auto, fast, or a comma list of fgsm, pgd/.test(e.message),
  );
  assert.throws(() => resolveEnsemble('pgd,pgd'), /listed twice/);
  assert.throws(() => resolveEnsemble('pgd,,fgsm'), /must be auto, fast or a comma list/);
});
