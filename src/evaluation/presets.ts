/**
 * Attack ensembles as data. A preset name maps to a list of attack configs (registry name plus
 * options); the runner builds a fresh attack from each config for every batch and ε, so no
 * configuration is shared or changed between stages. The list is a cascade: each stage attacks
 * only the examples every earlier stage left robust, and per example the first success counts.
 *
 * - `auto`: AutoAttack's standard version (Croce & Hein 2020, arXiv:2003.01690): APGD-CE, then
 *   APGD-T (targeted DLR against the 9 most likely other classes), both 100 iterations, then FAB-T
 *   (minimum-norm boundary search towards the same 9 classes, 100 iterations each; arXiv:1907.02044),
 *   then the score-based Square attack (5000 queries), last as in AutoAttack: it needs no gradients,
 *   so it catches robustness that only masked gradients produced. The runner keeps the stages the
 *   threat model's knowledge allows (white-box: all four; scores: Square, with the threat model's
 *   query budget) and leaves out, with a note, those that cannot run on the model (APGD-T on 2–3
 *   classes); with decisions only, HopSkipJump runs instead (a fallback stage).
 * - `fast`: PGD-20 with one random start, step 2.5·ε/20 (Madry et al. 2018's step rule), for CI gates.
 * - or a comma list of registry names, e.g. `apgd-ce,pgd,fgsm`, each with its paper's defaults.
 *
 * Which stages a threat model allows is decided by the runner (the threat model's knowledge).
 */
import { ATTACK_NAMES, attackEntry } from '../attacks/registry.js';
import { GibbonError } from '../errors.js';
import type { OracleKind } from '../model/oracles.js';

export interface AttackConfig {
  /** Label in reports and tables (unique within an ensemble), e.g. 'pgd-20'. */
  readonly label: string;
  /** Registry name, e.g. 'pgd'. */
  readonly attack: string;
  /** Options overriding the paper's defaults. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Run only when the threat model allows none of the ensemble's other stages (e.g. HopSkipJump in 'auto'). */
  readonly fallback?: boolean;
}

export interface Ensemble {
  /** 'auto', 'fast', or the comma list as given. */
  readonly name: string;
  /** True for a named preset: stages the threat model does not allow are left out instead of refused. */
  readonly preset: boolean;
  readonly stages: readonly AttackConfig[];
}

function config(label: string, attack: string, options: Record<string, unknown> = {}, fallback = false): AttackConfig {
  return Object.freeze({ label, attack, options: Object.freeze({ ...options }), ...(fallback ? { fallback } : {}) });
}

const PGD_FAST_STEPS = 20;

export const ENSEMBLE_PRESETS: ReadonlyMap<string, readonly AttackConfig[]> = new Map([
  [
    'auto',
    Object.freeze([
      config('apgd-ce', 'apgd-ce'),
      config('apgd-t', 'apgd-t'),
      config('fab-t', 'fab-t'),
      config('square', 'square'),
      config('hsj', 'hsj', {}, true),
    ]),
  ],
  ['fast', Object.freeze([config('pgd-20', 'pgd', { steps: PGD_FAST_STEPS, relStepsize: 2.5 / PGD_FAST_STEPS, restarts: 1, randomStart: true })])],
]);

export const DEFAULT_ENSEMBLE = 'auto';

/**
 * The ensemble for `spec`: a preset name or a comma list of attack names. Unknown names fail
 * naming the option and listing what is valid; every config is checked by building its attack once.
 */
export function resolveEnsemble(spec: string, option = 'attacks'): Ensemble {
  const trimmed = spec.trim();
  const preset = ENSEMBLE_PRESETS.get(trimmed);
  if (preset) return Object.freeze({ name: trimmed, preset: true, stages: preset });
  const names = trimmed.split(',').map((s) => s.trim());
  if (names.length === 0 || names.some((n) => n === '')) {
    throw new GibbonError('invalid_option', `${option} must be ${[...ENSEMBLE_PRESETS.keys()].join(', ')} or a comma list of attacks; got '${spec}'`, {
      option,
    });
  }
  const seen = new Set<string>();
  const stages: AttackConfig[] = [];
  for (const name of names) {
    if (!ATTACK_NAMES.includes(name)) {
      const presets = [...ENSEMBLE_PRESETS.keys()].join(', ');
      throw new GibbonError('invalid_option', `unknown attack '${name}' in ${option}; valid: ${presets}, or a comma list of ${ATTACK_NAMES.join(', ')}`, {
        option,
      });
    }
    if (seen.has(name)) throw new GibbonError('invalid_option', `attack '${name}' is listed twice in ${option}`, { option });
    seen.add(name);
    stages.push(config(name, name));
  }
  return Object.freeze({ name: trimmed, preset: false, stages: Object.freeze(stages) });
}

/** The oracle an ensemble stage needs (from the registry). */
export function oracleKindOf(stage: AttackConfig): OracleKind {
  return attackEntry(stage.attack).oracleKind;
}
