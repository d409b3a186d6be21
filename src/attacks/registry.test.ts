import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { ApgdAttack } from './apgd.js';
import { ATTACK_NAMES, ATTACKS, attackEntry, createAttack } from './registry.js';

test('the registry has the white-box and black-box attacks under short names, each with its oracle', () => {
  const oracles: Record<string, string> = {
    fgsm: 'gradient',
    pgd: 'gradient',
    'mi-fgsm': 'gradient',
    apgd: 'gradient',
    'apgd-ce': 'gradient',
    'apgd-dlr': 'gradient',
    'apgd-t': 'gradient',
    cw: 'gradient',
    deepfool: 'gradient',
    fab: 'gradient',
    'fab-t': 'gradient',
    square: 'score',
    nes: 'score',
    spsa: 'score',
    hsj: 'decision',
  };
  assert.deepEqual([...ATTACK_NAMES].sort(), Object.keys(oracles).sort());
  for (const e of ATTACKS) {
    const attack = e.create();
    assert.equal(attack.oracleKind, oracles[e.name], e.name);
    assert.equal(attack.kind, e.kind);
    assert.ok(Object.isFrozen(attack.options));
  }
  assert.equal(attackEntry('cw').kind, 'minimization');
  assert.equal(attackEntry('hsj').kind, 'minimization');
  assert.equal(attackEntry('fab-t').kind, 'minimization');
  assert.deepEqual(attackEntry('cw').norms, ['l2']);
});

test('variants fix their defining options', () => {
  const t = createAttack('apgd-t') as ApgdAttack;
  assert.equal(t.options.targetClasses, 9);
  assert.equal(t.options.loss, 'dlr');
  assert.equal((createAttack('apgd-t', { targetClasses: 3 }) as ApgdAttack).options.targetClasses, 3);
  assert.throws(() => createAttack('apgd-ce', { loss: 'dlr' }), /apgd-ce: option loss is fixed to "ce"/);
  assert.throws(() => createAttack('apgd-t', { loss: 'ce' }), /apgd-t: option loss is fixed to "dlr"/);
});

test('unknown names and options are refused with the valid ones', () => {
  assert.throws(
    () => createAttack('boundary'),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && /unknown attack 'boundary'; valid: fgsm, pgd/.test(e.message),
  );
  assert.throws(() => createAttack('pgd', { stepz: 3 }), /pgd: unknown option 'stepz'; valid: steps, relStepsize, absStepsize, randomStart, restarts, loss/);
  assert.equal(createAttack('pgd', { steps: 7 }).options.constructor, Object);
  assert.notEqual(createAttack('pgd'), createAttack('pgd'), 'a fresh attack per call');
});
