/**
 * The masking checks' reference runs (Carlini et al. 2019), kept apart from the ensemble's cascade:
 * one FGSM step (an iterative attack should beat it), random noise in the ε-ball (attacks should
 * beat it), PGD with a budget covering the whole input domain (it should reach ~0%), and a repeated
 * forward pass (the model should be deterministic). Each runs on every correctly classified example
 * of a batch; their successes count towards robust accuracy like the ensemble's.
 */
import { runAttack, type Attack } from '../attacks/attack.js';
import { createAttack } from '../attacks/registry.js';
import { adversarialMask } from '../criteria/criterion.js';
import type { Oracle } from '../model/oracles.js';
import { Rng } from '../random.js';
import { gatherRows, rowSize, subset } from '../tensor/rows.js';
import type { Tensor } from '../tensor/tensor.js';
import { stageSeed } from './plan.js';
import { criterionFor, gradientOracleOf, whiteOf, type BatchInputs, type RunContext } from './run-context.js';
import { emptyRun, emptyStage, stageRun, type StageIdentity, type StageRecord, type StageRun } from './stage.js';
import type { ThreatModel } from './threat-model.js';

/** Random points of the ε-ball tried per example by the noise check. */
export const NOISE_SAMPLES = 10;
/** Label of the single-step reference run. */
export const SINGLE_STEP_LABEL = 'fgsm (check)';
export const NOISE_LABEL = 'noise (check)';
export const UNBOUNDED_LABEL = 'pgd (unbounded)';
/** Unbounded PGD: a budget covering the whole domain; step 2.5·ε/steps (Madry et al. 2018). */
const UNBOUNDED_STEPS = 50;

const SINGLE_STEP: StageIdentity = { label: SINGLE_STEP_LABEL, attack: 'fgsm', role: 'check', oracle: 'gradient' };
const NOISE: StageIdentity = { label: NOISE_LABEL, attack: 'noise', role: 'check', oracle: 'none' };
const UNBOUNDED: StageIdentity = { label: UNBOUNDED_LABEL, attack: 'pgd', role: 'check', oracle: 'gradient' };

/** The budget covering the whole input domain under the norm. */
function unboundedEps(tm: ThreatModel, exampleSize: number): number {
  const range = tm.input.bounds[1] - tm.input.bounds[0];
  return tm.norm === 'linf' ? range : range * Math.sqrt(exampleSize);
}

/** A white-box attack on the model itself, on the examples `indices` of the batch. */
async function gradientRun(
  ctx: RunContext,
  id: StageIdentity,
  attack: Attack<Oracle>,
  batch: BatchInputs,
  indices: Int32Array,
  eps: number,
): Promise<StageRun> {
  const { x, labels, targets } = subset(batch, indices);
  const outcome = await runAttack(attack, gradientOracleOf(ctx, whiteOf(ctx.options)), x, labels, {
    eps,
    norm: ctx.norm,
    targets,
    seed: stageSeed(ctx.tm, batch.index, id.label),
    signal: ctx.options.signal,
  });
  return stageRun(id, indices, outcome);
}

/** One FGSM step (Goodfellow et al. 2015) on the examples `indices`: the single-step reference. */
export async function runSingleStep(ctx: RunContext, batch: BatchInputs, indices: Int32Array, eps: number): Promise<StageRun> {
  if (indices.length === 0) return emptyRun(SINGLE_STEP);
  return gradientRun(ctx, SINGLE_STEP, createAttack('fgsm'), batch, indices, eps);
}

/** PGD with a budget covering the whole input domain on the examples `indices`. */
export async function runUnbounded(ctx: RunContext, batch: BatchInputs, indices: Int32Array): Promise<StageRecord & { eps: number }> {
  const eps = unboundedEps(ctx.tm, rowSize(batch.x));
  if (indices.length === 0) return { ...emptyStage(UNBOUNDED), eps };
  const attack = createAttack('pgd', { steps: UNBOUNDED_STEPS, relStepsize: 2.5 / UNBOUNDED_STEPS });
  return { ...(await gradientRun(ctx, UNBOUNDED, attack, batch, indices, eps)).record, eps };
}

/** Random points of the ε-ball (∩ bounds), NOISE_SAMPLES per example; the first adversarial one counts. */
export async function runNoise(ctx: RunContext, batch: BatchInputs, indices: Int32Array, eps: number): Promise<StageRun> {
  const { record, adversarial } = emptyRun(NOISE);
  if (indices.length === 0) return { record, adversarial };
  const started = performance.now();
  const rng = Rng.derive(ctx.tm.seed, 'batch', batch.index, 'stage', NOISE_LABEL, 'eps', eps);
  const { x, labels, targets } = subset(batch, indices);
  const criterion = criterionFor(labels, targets, ctx.numClasses);
  const row = rowSize(x);
  const found = new Map<number, { norm: number; point: Float32Array }>();
  let maxNorm = 0;
  let queries = 0;
  let remaining = Int32Array.from(indices.keys());
  for (let t = 0; t < NOISE_SAMPLES && remaining.length > 0; t++) {
    ctx.options.signal?.throwIfAborted();
    const x0 = gatherRows(x, remaining);
    const xr = ctx.norm.randomStart(x0, eps, rng, ctx.bounds);
    const verdict = adversarialMask(criterion.subset(remaining), await ctx.options.model.logits(xr));
    queries += remaining.length;
    const dist = ctx.norm.distance(xr, x0);
    const keep: number[] = [];
    for (let r = 0; r < remaining.length; r++) {
      maxNorm = Math.max(maxNorm, dist[r]!);
      if (verdict[r]) found.set(remaining[r]!, { norm: dist[r]!, point: xr.data.slice(r * row, (r + 1) * row) });
      else keep.push(remaining[r]!);
    }
    remaining = Int32Array.from(keep);
  }
  const broken: number[] = [];
  const norms: number[] = [];
  for (let j = 0; j < indices.length; j++) {
    const f = found.get(j);
    if (!f) continue;
    broken.push(indices[j]!);
    norms.push(f.norm);
    adversarial.set(indices[j]!, f.point);
  }
  return {
    record: { ...record, attacked: indices.length, broken, norms, maxNorm, queries, seconds: (performance.now() - started) / 1000 },
    adversarial,
  };
}

/** Largest difference between two forward passes on `x`, relative to the largest |logit| of the first (at least 1). */
export async function forwardDifference(ctx: RunContext, x: Tensor, clean: Tensor): Promise<number> {
  const again = await ctx.options.model.logits(x);
  let difference = 0;
  let scale = 1;
  for (let j = 0; j < again.data.length; j++) {
    difference = Math.max(difference, Math.abs(again.data[j]! - clean.data[j]!));
    scale = Math.max(scale, Math.abs(clean.data[j]!));
  }
  return difference / scale;
}
