import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE_DIR } from '../attacks/testing/reference-data.js';
import { GibbonError } from '../errors.js';
import { learningRate, parseSchedule, type ScheduleSpec } from './schedules.js';

interface ScheduleCase {
  name: string;
  spec: ScheduleSpec;
  baseLr: number;
  totalSteps: number;
  /** torch's lr before each of the totalSteps updates, then after the last. */
  lrs: number[];
}

test('learningRate equals torch.optim.lr_scheduler (StepLR, CosineAnnealingLR, OneCycleLR) to 1e-9', (t) => {
  const file = join(REFERENCE_DIR, '..', 'optimizer', 'reference.json');
  const { schedules } = JSON.parse(readFileSync(file, 'utf8')) as { schedules: ScheduleCase[] };
  assert.equal(schedules.length, 7);
  for (const c of schedules) {
    assert.equal(c.lrs.length, c.totalSteps + 1);
    let worst = 0;
    c.lrs.forEach((expected, k) => {
      const got = learningRate(c.spec, c.baseLr, k, c.totalSteps);
      const dev = Math.abs(got - expected);
      worst = Math.max(worst, dev / c.baseLr);
      assert.ok(dev <= 1e-9 * Math.abs(expected) + 1e-15, `${c.name} step ${k}: gibbon ${got} vs torch ${expected}`);
    });
    t.diagnostic(`${c.name}: max |lr − torch| / baseLr = ${worst.toExponential(2)}`);
  }
});

test('closed forms, defaults and edge cases', () => {
  assert.equal(learningRate({ type: 'constant' }, 0.3, 17, 20), 0.3);
  assert.equal(learningRate({ type: 'step', stepSize: 5 }, 1, 4, 20), 1);
  assert.ok(Math.abs(learningRate({ type: 'step', stepSize: 5 }, 1, 5, 20) - 0.1) < 1e-15, 'gamma defaults to 0.1');
  assert.equal(learningRate({ type: 'cosine' }, 0.1, 0, 10), 0.1);
  assert.ok(Math.abs(learningRate({ type: 'cosine' }, 0.1, 5, 10) - 0.05) < 1e-15);
  assert.equal(learningRate({ type: 'cosine', etaMin: 0.01 }, 0.1, 10, 10), 0.01);
  // One-cycle defaults: starts at max/25, peaks at max, ends at max/25/1e4.
  assert.ok(Math.abs(learningRate({ type: 'one-cycle' }, 0.1, 0, 100) - 0.004) < 1e-15);
  assert.ok(Math.abs(learningRate({ type: 'one-cycle' }, 0.1, 29, 100) - 0.1) < 1e-15);
  assert.ok(Math.abs(learningRate({ type: 'one-cycle' }, 0.1, 99, 100) - 4e-7) < 1e-18);
  // Where torch divides by zero (a zero-length phase) the lr is the phase's end value.
  assert.equal(learningRate({ type: 'one-cycle', pctStart: 0.1 }, 0.1, 0, 10), 0.1);
  assert.ok(Math.abs(learningRate({ type: 'one-cycle', pctStart: 1 }, 0.1, 10, 10) - 4e-7) < 1e-18);
  for (let k = 0; k <= 10; k++) assert.ok(Number.isFinite(learningRate({ type: 'one-cycle', pctStart: 0 }, 0.1, k, 10)));
});

test('learningRate rejects bad specs and arguments, naming the field', () => {
  const fails = (f: () => unknown, field: string, pattern: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && e.location.option === field && pattern.test(e.message));
  fails(() => learningRate({ type: 'step' } as ScheduleSpec, 0.1, 0, 10), 'stepSize', /step schedule: option stepSize must be a positive integer/);
  fails(() => learningRate({ type: 'step', stepSize: 2.5 }, 0.1, 0, 10), 'stepSize', /stepSize/);
  fails(() => learningRate({ type: 'step', stepSize: 2, gamma: 0 }, 0.1, 0, 10), 'gamma', /gamma must be a finite number > 0/);
  fails(() => learningRate({ type: 'cosine', etaMin: -1 }, 0.1, 0, 10), 'etaMin', /etaMin/);
  fails(() => learningRate({ type: 'one-cycle', pctStart: 1.5 }, 0.1, 0, 10), 'pctStart', /pctStart must be a number in \[0, 1\]/);
  fails(() => learningRate({ type: 'one-cycle', annealStrategy: 'exp' as 'cos' }, 0.1, 0, 10), 'annealStrategy', /'cos', 'linear'/);
  fails(() => learningRate({ type: 'one-cycle', divFactor: 0 }, 0.1, 0, 10), 'divFactor', /divFactor/);
  fails(() => learningRate({ type: 'cosine', gamma: 0.1 } as ScheduleSpec, 0.1, 0, 10), 'gamma', /unknown option 'gamma'/);
  fails(() => learningRate({ type: 'linear' } as unknown as ScheduleSpec, 0.1, 0, 10), 'type', /schedule type must be one of/);
  fails(() => learningRate({ type: 'constant' }, -0.1, 0, 10), 'lr', /learning rate/);
  fails(() => learningRate({ type: 'constant' }, 0.1, 11, 10), 'step', /step must be an integer in \[0, totalSteps = 10\]; got 11/);
  fails(() => learningRate({ type: 'constant' }, 0.1, 1.5, 10), 'step', /step/);
  fails(() => learningRate({ type: 'constant' }, 0.1, 0, 0), 'totalSteps', /totalSteps must be a positive integer/);
});

test('parseSchedule reads the CLI syntax and names bad text', () => {
  assert.deepEqual(parseSchedule('constant'), { type: 'constant' });
  assert.deepEqual(parseSchedule('cosine'), { type: 'cosine' });
  assert.deepEqual(parseSchedule('step:1000'), { type: 'step', stepSize: 1000 });
  assert.deepEqual(parseSchedule('step:30:0.5'), { type: 'step', stepSize: 30, gamma: 0.5 });
  assert.deepEqual(parseSchedule('one-cycle'), { type: 'one-cycle' });
  assert.deepEqual(parseSchedule('one-cycle:0.25'), { type: 'one-cycle', pctStart: 0.25 });
  assert.deepEqual(parseSchedule(' step:10:1e-1 '), { type: 'step', stepSize: 10, gamma: 0.1 });
  const bad: [string, RegExp][] = [
    ['', /unknown schedule ''/],
    ['linear', /invalid schedule "linear": unknown schedule 'linear'; expected 'constant', 'step:STEP_SIZE\[:GAMMA\]', 'cosine', 'one-cycle\[:PCT_START\]'/],
    ['step', /step needs STEP_SIZE/],
    ['step:', /STEP_SIZE must be a positive integer; got ""/],
    ['step:0', /STEP_SIZE must be a positive integer; got "0"/],
    ['step:2.5', /STEP_SIZE/],
    ['step:10:abc', /GAMMA must be a finite number > 0; got "abc"/],
    ['step:10:-1', /GAMMA/],
    ['step:10:0.1:3', /at most 2 arguments, got 3/],
    ['cosine:0.1', /'cosine' takes no arguments/],
    ['constant:1', /'constant' takes no arguments/],
    ['one-cycle:1.5', /PCT_START must be a number in \[0, 1\]; got "1.5"/],
    ['one-cycle:Infinity', /PCT_START/],
    ['one-cycle:0.3:2', /at most 1 argument, got 2/],
    ['Cosine', /unknown schedule 'Cosine'/],
  ];
  for (const [text, pattern] of bad) {
    assert.throws(
      () => parseSchedule(text),
      (e: unknown) => e instanceof GibbonError && e.code === 'invalid_option' && e.message.includes(JSON.stringify(text)) && pattern.test(e.message),
      `parseSchedule(${JSON.stringify(text)})`,
    );
  }
  // Everything parseSchedule accepts is a valid spec.
  for (const text of ['constant', 'cosine', 'step:3:0.5', 'one-cycle:0']) assert.ok(Number.isFinite(learningRate(parseSchedule(text), 0.1, 5, 10)));
});
