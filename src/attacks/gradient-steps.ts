/**
 * The loop that PGD (pgd.ts) and MI-FGSM (mi-fgsm.ts) share: a fixed number of projected steps on
 * the gradient oracle's loss over the examples still robust. Each step asks for the loss and
 * gradient at the current points, records them in `BestSoFar`, drops the examples that became
 * adversarial, and moves the rest to Π(x0, next(state, gradient)); the last iterate needs only a
 * forward pass. The attack supplies `next`: PGD a normalised gradient step, MI-FGSM a momentum step.
 */
import type { LossName } from '../autodiff/loss-heads.js';
import type { GradientOracle } from '../model/oracles.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ActiveSet, ActiveState } from './active-set.js';
import type { AttackContext } from './attack.js';
import type { BestSoFar } from './best-so-far.js';

/** What every stepped example carries: its clean input, its current point, and its labels (and targets). */
export interface SteppedState extends ActiveState {
  x0: Tensor;
  xk: Tensor;
  /** The gradient at xk, once asked for. */
  grad: Tensor | undefined;
  labels: Int32Array;
  targets: Int32Array | undefined;
}

export interface GradientSteps<S extends SteppedState> {
  readonly steps: number;
  readonly loss: LossName;
  /** Shown with progress (e.g. "restart 1/5"). */
  readonly stage?: string;
  /** The next point before projection, from the state of the examples left (their `grad` included). */
  readonly next: (state: S) => Tensor;
}

/** Runs the steps on `set` (which shrinks as examples succeed); results go to `best`. */
export async function runGradientSteps<S extends SteppedState>(
  oracle: GradientOracle,
  set: ActiveSet<S>,
  best: BestSoFar,
  ctx: AttackContext,
  { steps, loss, stage, next }: GradientSteps<S>,
): Promise<void> {
  const s = set.state;
  for (let step = 0; step <= steps && set.size > 0; step++) {
    ctx.signal?.throwIfAborted();
    if (step === steps) {
      best.observe(set.examples, s.xk, await oracle.logits(s.xk, set.examples));
      break;
    }
    const r = await oracle.lossAndGrad(s.xk, s.labels, loss, s.targets, set.examples);
    best.steps++;
    s.grad = r.grad;
    const remaining = set.dropFlagged(best.observe(set.examples, s.xk, r.logits, r.loss, r.grad));
    ctx.onProgress?.(stage === undefined ? { step, steps, remaining } : { step, steps, remaining, stage });
    if (remaining === 0) break;
    s.xk = ctx.norm.project(s.x0, next(s), ctx.eps, oracle.bounds);
  }
}
