/**
 * Which loss head a gradient attack ascends. Options name a loss family; a targeted criterion
 * selects the family's targeted head (every head increases towards success, see
 * autodiff/loss-heads.ts).
 */
import type { LossName } from '../autodiff/loss-heads.js';
import type { Criterion } from '../criteria/criterion.js';
import { GibbonError } from '../errors.js';

export const LOSS_FAMILIES = ['ce', 'margin', 'dlr'] as const;
export type LossFamily = (typeof LOSS_FAMILIES)[number];

/** The head for `family` under `criterion`: 'ce' or 'ce-targeted', and so on. */
export function lossFor(family: LossFamily, criterion: Criterion): LossName {
  return criterion.targets ? `${family}-targeted` : family;
}

/** Classes a loss head needs: DLR needs the 3 (untargeted) or 4 (targeted) largest logits. */
export function classesNeededBy(loss: LossName): number {
  return loss === 'dlr' ? 3 : loss === 'dlr-targeted' ? 4 : 2;
}

/** Why `loss` cannot be used with `numClasses` classes, or undefined. */
export function classShortfall(loss: LossName, numClasses: number, attack: string): string | undefined {
  const need = classesNeededBy(loss);
  return numClasses < need ? `${attack}: loss '${loss}' needs at least ${need} classes; the model has ${numClasses}` : undefined;
}

export function checkClassesFor(loss: LossName, numClasses: number, attack: string): void {
  const shortfall = classShortfall(loss, numClasses, attack);
  if (shortfall) throw new GibbonError('invalid_option', shortfall, { option: 'loss' });
}
