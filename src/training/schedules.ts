/**
 * Learning-rate schedules for gibbon's trainer, equal to torch.optim.lr_scheduler stepped once per
 * optimizer step: `learningRate(spec, baseLr, k, totalSteps)` is the lr torch's optimizer holds for
 * update k (0-based), and k = totalSteps gives the lr after the last update.
 *
 * - `constant`: baseLr.
 * - `step` (StepLR): baseLr · gamma^⌊k / stepSize⌋; gamma defaults to 0.1.
 * - `cosine` (CosineAnnealingLR, T_max = totalSteps): etaMin + (baseLr − etaMin)·(1 + cos(πk/T))/2;
 *   etaMin defaults to 0. torch's recursive form agrees with this closed form to ~1e-16.
 * - `one-cycle` (OneCycleLR, max_lr = baseLr, three_phase = false): from baseLr/divFactor up to baseLr
 *   until step pctStart·T − 1, then down to baseLr/divFactor/finalDivFactor at step T − 1; defaults
 *   pctStart 0.3, divFactor 25, finalDivFactor 1e4, annealStrategy 'cos'. Only the lr is scheduled:
 *   torch's default cycle_momentum (momentum/beta1 cycled between 0.95 and 0.85) is not reproduced.
 *   Where torch divides by zero (a phase of zero length: pctStart·T = 1 at k = 0, or pctStart = 1 at
 *   k = T) the lr is the phase's end value.
 *
 * @example
 * const spec = parseSchedule('step:1000:0.5');
 * for (let k = 0; k < total; k++) optimizer.step(params, grads, learningRate(spec, 0.01, k, total));
 */
import { checkOption, numberIn, nonNegativeNumber, oneOf, positiveInteger, positiveNumber, resolveOptions, type OptionRule } from '../options.js';
import { GibbonError } from '../errors.js';

export type ScheduleSpec =
  | { type: 'constant' }
  | { type: 'step'; stepSize: number; gamma?: number } // stepSize in optimizer steps (the trainer converts epochs)
  | { type: 'cosine'; etaMin?: number } // CosineAnnealingLR with T_max = totalSteps
  | { type: 'one-cycle'; pctStart?: number; divFactor?: number; finalDivFactor?: number; annealStrategy?: 'cos' | 'linear' }; // OneCycleLR (max_lr = base lr), three_phase=false

const TYPES = ['constant', 'step', 'cosine', 'one-cycle'] as const;
const SYNTAX = "'constant', 'step:STEP_SIZE[:GAMMA]', 'cosine', 'one-cycle[:PCT_START]'";

/** lr at optimizer step `step` (0-based: the lr used for the first update is lrAt(0)), for base lr and totalSteps updates. */
export function learningRate(spec: ScheduleSpec, baseLr: number, step: number, totalSteps: number): number {
  if (typeof baseLr !== 'number' || !Number.isFinite(baseLr) || baseLr < 0) {
    throw new GibbonError('invalid_option', `learning rate must be a finite number ≥ 0; got ${baseLr}`, { option: 'lr' });
  }
  checkOption('totalSteps', totalSteps, positiveInteger);
  if (!Number.isInteger(step) || step < 0 || step > totalSteps) {
    throw new GibbonError('invalid_option', `schedule: step must be an integer in [0, totalSteps = ${totalSteps}]; got ${step}`, { option: 'step' });
  }
  const type = typeof spec === 'object' && spec !== null ? spec.type : undefined;
  switch (type) {
    case 'constant':
      resolveOptions('constant schedule', {}, rest(spec), {});
      return baseLr;
    case 'step': {
      const s = resolveOptions('step schedule', { stepSize: undefined as unknown as number, gamma: 0.1 }, rest(spec), {
        stepSize: positiveInteger,
        gamma: positiveNumber,
      });
      return baseLr * s.gamma ** Math.floor(step / s.stepSize);
    }
    case 'cosine': {
      const s = resolveOptions('cosine schedule', { etaMin: 0 }, rest(spec), { etaMin: nonNegativeNumber });
      return s.etaMin + ((baseLr - s.etaMin) * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
    }
    case 'one-cycle': {
      const s = resolveOptions(
        'one-cycle schedule',
        { pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4, annealStrategy: 'cos' as 'cos' | 'linear' },
        rest(spec),
        { pctStart: numberIn(0, 1), divFactor: positiveNumber, finalDivFactor: positiveNumber, annealStrategy: oneOf(['cos', 'linear']) },
      );
      const initialLr = baseLr / s.divFactor;
      const minLr = initialLr / s.finalDivFactor;
      const anneal =
        s.annealStrategy === 'cos'
          ? (start: number, end: number, pct: number) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
          : (start: number, end: number, pct: number) => (end - start) * pct + start;
      // Phase ends as torch computes them: step pctStart·T − 1 (a float) and step T − 1.
      const warmEnd = s.pctStart * totalSteps - 1;
      const fraction = (start: number, end: number): number => (end > start ? (step - start) / (end - start) : 1);
      if (step <= warmEnd) return anneal(initialLr, baseLr, fraction(0, warmEnd));
      return anneal(baseLr, minLr, fraction(warmEnd, totalSteps - 1));
    }
    default:
      throw new GibbonError('invalid_option', `schedule type must be one of ${TYPES.map((t) => `'${t}'`).join(', ')}; got ${JSON.stringify(type ?? spec)}`, {
        option: 'type',
      });
  }
}

function rest(spec: ScheduleSpec): Record<string, unknown> {
  const { type: _type, ...others } = spec;
  return others;
}

/** CLI syntax: 'constant', 'step:STEP_SIZE[:GAMMA]', 'cosine', 'one-cycle[:PCT_START]'. */
export function parseSchedule(text: string): ScheduleSpec {
  const fail = (why: string): never => {
    throw new GibbonError('invalid_option', `invalid schedule ${JSON.stringify(text)}: ${why}; expected ${SYNTAX}`, { option: 'schedule' });
  };
  if (typeof text !== 'string') return fail('not a string');
  const [name, ...args] = text.trim().split(':');
  const number = (field: string, value: string, rule: OptionRule): number => {
    const x = value.trim() === '' ? NaN : Number(value);
    if (!Number.isFinite(x) || !rule.valid(x)) fail(`${field} must be ${rule.expected}; got ${JSON.stringify(value)}`);
    return x;
  };
  const arity = (max: number): void => {
    if (args.length > max) fail(`'${name}' takes ${max === 0 ? 'no arguments' : `at most ${max} argument${max > 1 ? 's' : ''}`}, got ${args.length}`);
  };
  switch (name) {
    case 'constant':
    case 'cosine':
      arity(0);
      return { type: name };
    case 'step': {
      if (args.length === 0) fail('step needs STEP_SIZE (in optimizer steps), e.g. step:1000 or step:1000:0.5');
      arity(2);
      const stepSize = number('STEP_SIZE', args[0]!, positiveInteger);
      if (args.length === 1) return { type: 'step', stepSize };
      return { type: 'step', stepSize, gamma: number('GAMMA', args[1]!, positiveNumber) };
    }
    case 'one-cycle': {
      arity(1);
      if (args.length === 0) return { type: 'one-cycle' };
      return { type: 'one-cycle', pctStart: number('PCT_START', args[0]!, numberIn(0, 1)) };
    }
    default:
      return fail(`unknown schedule '${name}'`);
  }
}
