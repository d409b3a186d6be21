/**
 * The oracle of a transfer attacker: a surrogate model's gradients plus the target's decisions
 * (DESIGN.md, "Oracles"). Any gradient attack given it climbs the surrogate's loss and sees the
 * target only through its predicted class, so it stops where the target is fooled and the harness
 * judges success on the target.
 *
 * The target's decision reaches the attack through the logits: they are the surrogate's, except
 * where the surrogate's top class differs from the target's decision, which is then raised just
 * above the surrogate's maximum. Success checks (top class) thus follow the target, while the
 * ranking of the other classes (APGD-T's target choice) stays the surrogate's. Losses and
 * gradients are the surrogate's, unchanged.
 *
 * Queries: every call asks the target for one decision per row, charged to the target's account
 * (and its budget, the threat model's `query_budget`); `queries` counts target queries only,
 * since the surrogate is the attacker's own.
 *
 * @example
 * ```ts
 * const oracle = transferOracle(gradientOracle(surrogate), decisionOracle(target, { queryBudget: 5000 }));
 * const outcome = await runAttack(new PgdAttack(), oracle, x, labels, { eps: 0.3, norm: 'linf' });
 * ```
 */
import type { LossName } from '../autodiff/loss-heads.js';
import { GibbonError } from '../errors.js';
import { argmaxRows, type Tensor } from '../tensor/tensor.js';
import { HARNESS_SCORES, type DecisionOracle, type GradientOracle, type LabelArray, type LossAndGrad } from './oracles.js';

/** Surrogate logits whose top class is the target's decision (row by row). */
function aligned(logits: Tensor, decisions: Int32Array): Tensor {
  const c = logits.shape[1]!;
  const out = Float32Array.from(logits.data);
  const tops = argmaxRows(logits);
  for (let i = 0; i < decisions.length; i++) {
    const row = out.subarray(i * c, (i + 1) * c);
    const top = tops[i]!;
    const d = decisions[i]!;
    if (top === d) continue;
    // Raise d just above the maximum (a relative step survives float32 rounding).
    const m = row[top]!;
    row[d] = m + Math.max(1e-3, Math.abs(m) * 1e-3);
  }
  return { data: out, shape: [...logits.shape] };
}

class TransferOracle implements GradientOracle {
  readonly kind = 'gradient' as const;

  constructor(
    private readonly surrogate: GradientOracle,
    private readonly target: DecisionOracle,
  ) {}

  get bounds(): GradientOracle['bounds'] {
    return this.target.bounds;
  }
  get numClasses(): number {
    return this.target.numClasses;
  }
  get exampleShape(): GradientOracle['exampleShape'] {
    return this.target.exampleShape;
  }
  get queries(): number {
    return this.target.queries;
  }
  get queryBudget(): number | undefined {
    return this.target.queryBudget;
  }
  remainingQueries(index: number): number {
    return this.target.remainingQueries(index);
  }

  async logits(x: Tensor, rows?: ArrayLike<number>): Promise<Tensor> {
    const z = await this.surrogate.logits(x, rows);
    return aligned(z, await this.target.predict(x, rows));
  }

  async lossAndGrad(x: Tensor, labels: LabelArray, loss: LossName, targets?: LabelArray, rows?: ArrayLike<number>): Promise<LossAndGrad> {
    const r = await this.surrogate.lossAndGrad(x, labels, loss, targets, rows);
    return { ...r, logits: aligned(r.logits, await this.target.predict(x, rows)) };
  }

  forExamples(indices: ArrayLike<number>): GradientOracle {
    return new TransferOracle(this.surrogate.forExamples(indices), this.target.forExamples(indices));
  }

  // The harness judges on the target.
  readonly [HARNESS_SCORES] = (x: Tensor): Promise<Tensor> => this.target[HARNESS_SCORES](x);
}

/** Gradients (and losses) of `surrogate`, decisions of `target`: a transfer attacker's view. */
export function transferOracle(surrogate: GradientOracle, target: DecisionOracle): GradientOracle {
  if (surrogate.numClasses !== target.numClasses) {
    throw new GibbonError('invalid_option', `the surrogate has ${surrogate.numClasses} classes but the target has ${target.numClasses}`, {
      option: 'surrogate',
    });
  }
  const a = surrogate.exampleShape;
  const b = target.exampleShape;
  if (a.length !== b.length || a.some((d, i) => d !== null && b[i] !== null && d !== b[i])) {
    throw new GibbonError('invalid_option', `the surrogate takes examples of shape [${a.join(', ')}] but the target [${b.join(', ')}]`, {
      option: 'surrogate',
    });
  }
  return new TransferOracle(surrogate, target);
}
