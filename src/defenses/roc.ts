/**
 * Detection metrics from scores where higher means "more suspicious": positives are the inputs a
 * detector should flag (adversarial or out-of-distribution), negatives the clean ones.
 *
 * - `auroc`: the area under the ROC curve, computed as the Mann–Whitney statistic
 *   P(s⁺ > s⁻) + ½·P(s⁺ = s⁻) from mid-ranks, so ties count half (a detector that gives everyone
 *   the same score has AUROC exactly 0.5, whatever the order of the inputs).
 * - `rocCurve`: the (FPR, TPR) points of the rule "flag when s ≥ t" for every distinct score t,
 *   from (0, 0) to (1, 1); tied scores give one diagonal step, whose trapezoid area is the ½ above.
 * - `thresholdAtFpr` / `rates`: the calibrated rule "flag when s > τ" with τ chosen on clean
 *   scores so that at most a fraction α of them is flagged; `tprAtFpr` applies it to positives.
 */
import { GibbonError } from '../errors.js';

export interface RocPoint {
  readonly fpr: number;
  readonly tpr: number;
  /** Flag when s ≥ threshold (Infinity for the (0, 0) corner). */
  readonly threshold: number;
}

export interface DetectionRates {
  /** Fraction of negatives with s > τ. */
  readonly fpr: number;
  /** Fraction of positives with s > τ. */
  readonly tpr: number;
}

function checkScores(scores: ArrayLike<number>, what: string): void {
  if (scores.length === 0) throw new GibbonError('invalid_input', `${what}: no scores given`, { option: what });
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]!)) throw new GibbonError('invalid_input', `${what}[${i}] is NaN; detector scores must be numbers`, { option: what });
  }
}

/** Area under the ROC curve, ties counted half (Mann–Whitney U / (n⁺·n⁻)). */
export function auroc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  checkScores(positives, 'positives');
  checkScores(negatives, 'negatives');
  const np = positives.length;
  const nn = negatives.length;
  const all: { s: number; pos: boolean }[] = [];
  for (let i = 0; i < np; i++) all.push({ s: positives[i]!, pos: true });
  for (let i = 0; i < nn; i++) all.push({ s: negatives[i]!, pos: false });
  all.sort((a, b) => a.s - b.s);
  // Sum of the positives' mid-ranks (1-based): a group of ties shares the mean of its ranks.
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.s === all[i]!.s) j++;
    const midRank = (i + 1 + (j + 1)) / 2;
    for (let k = i; k <= j; k++) if (all[k]!.pos) rankSum += midRank;
    i = j + 1;
  }
  return (rankSum - (np * (np + 1)) / 2) / (np * nn);
}

/** ROC points for "flag when s ≥ t", t running over the distinct scores from high to low. */
export function rocCurve(positives: ArrayLike<number>, negatives: ArrayLike<number>): RocPoint[] {
  checkScores(positives, 'positives');
  checkScores(negatives, 'negatives');
  const all: { s: number; pos: boolean }[] = [];
  for (let i = 0; i < positives.length; i++) all.push({ s: positives[i]!, pos: true });
  for (let i = 0; i < negatives.length; i++) all.push({ s: negatives[i]!, pos: false });
  all.sort((a, b) => b.s - a.s);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < all.length;) {
    const t = all[i]!.s;
    while (i < all.length && all[i]!.s === t) {
      if (all[i]!.pos) tp++;
      else fp++;
      i++;
    }
    points.push({ fpr: fp / negatives.length, tpr: tp / positives.length, threshold: t });
  }
  return points;
}

/** Trapezoid area under ROC points (equals `auroc` for a full curve). */
export function areaUnder(points: readonly RocPoint[]): number {
  let area = 0;
  for (let i = 1; i < points.length; i++) area += ((points[i]!.fpr - points[i - 1]!.fpr) * (points[i]!.tpr + points[i - 1]!.tpr)) / 2;
  return area;
}

/**
 * The threshold τ for "flag when s > τ" that flags at most ⌊α·n⌋ of the clean scores: the
 * (⌊α·n⌋+1)-th largest clean score. Ties at τ are not flagged, so the clean FPR never exceeds α.
 */
export function thresholdAtFpr(negatives: ArrayLike<number>, alpha: number): number {
  checkScores(negatives, 'negatives');
  if (!(alpha >= 0 && alpha < 1)) throw new GibbonError('invalid_option', `the target false-positive rate must be in [0, 1); got ${alpha}`, { option: 'fpr' });
  const sorted = Float64Array.from(negatives).sort().reverse();
  return sorted[Math.floor(alpha * sorted.length)]!;
}

/** FPR and TPR of "flag when s > τ". */
export function rates(positives: ArrayLike<number>, negatives: ArrayLike<number>, threshold: number): DetectionRates {
  const above = (xs: ArrayLike<number>): number => {
    let k = 0;
    for (let i = 0; i < xs.length; i++) if (xs[i]! > threshold) k++;
    return xs.length === 0 ? NaN : k / xs.length;
  };
  return { fpr: above(negatives), tpr: above(positives) };
}

/** TPR at a false-positive rate α, with τ = thresholdAtFpr(negatives, α). */
export function tprAtFpr(positives: ArrayLike<number>, negatives: ArrayLike<number>, alpha: number): number {
  return rates(positives, negatives, thresholdAtFpr(negatives, alpha)).tpr;
}

/** At most `max` points of a curve, always keeping its ends (for charts). */
export function thinCurve(points: readonly RocPoint[], max = 200): RocPoint[] {
  if (points.length <= max) return [...points];
  const out: RocPoint[] = [];
  const step = (points.length - 1) / (max - 1);
  for (let k = 0; k < max; k++) out.push(points[Math.round(k * step)]!);
  return out;
}
