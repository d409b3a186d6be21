/** Norms by name, for options and threat models. */
import { GibbonError } from '../errors.js';
import { l2 } from './l2.js';
import { linf } from './linf.js';
import type { Norm, NormName } from './norm.js';

export const NORMS: ReadonlyMap<NormName, Norm> = new Map<NormName, Norm>([
  ['linf', linf],
  ['l2', l2],
]);

/** The norm called `name` ('linf' | 'l2'); errors list the valid names. */
export function normByName(name: string): Norm {
  const norm = NORMS.get(name as NormName);
  if (!norm) throw new GibbonError('invalid_option', `unknown norm '${name}'; valid: ${[...NORMS.keys()].join(', ')}`, { option: 'norm' });
  return norm;
}
