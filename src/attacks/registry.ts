/**
 * Attacks by short name, for the CLI, threat models and evaluation presets. Built from a plain
 * list; each entry makes a fresh attack from (validated) options, so no configuration is shared
 * or mutated between uses.
 */
import { GibbonError } from '../errors.js';
import type { Oracle, OracleKind } from '../model/oracles.js';
import type { NormName } from '../norms/norm.js';
import { ApgdAttack, type ApgdOptions } from './apgd.js';
import type { Attack, AttackKind } from './attack.js';
import { CwAttack } from './cw.js';
import { DeepFoolAttack } from './deepfool.js';
import { FabAttack } from './fab.js';
import { FgsmAttack } from './fgsm.js';
import { HopSkipJumpAttack } from './hop-skip-jump.js';
import { MiFgsmAttack } from './mi-fgsm.js';
import { NesAttack } from './nes.js';
import { PgdAttack } from './pgd.js';
import { SpsaAttack } from './spsa.js';
import { SquareAttack } from './square.js';

export interface AttackEntry {
  readonly name: string;
  /** One line for help texts. */
  readonly summary: string;
  /** The defining paper. */
  readonly paper: string;
  readonly kind: AttackKind;
  readonly oracleKind: OracleKind;
  readonly norms: readonly NormName[];
  /** A new attack; options override the paper's defaults (unknown keys are refused). */
  create(options?: Readonly<Record<string, unknown>>): Attack<Oracle>;
}

type Options = Readonly<Record<string, unknown>>;

function entry(name: string, summary: string, paper: string, make: (options: Options) => Attack<Oracle>): AttackEntry {
  const probe = make({});
  return Object.freeze({
    name,
    summary,
    paper,
    kind: probe.kind,
    oracleKind: probe.oracleKind,
    norms: probe.norms,
    create: (options: Options = {}) => make(options),
  });
}

/** APGD variants fix some options; passing them again must agree. */
function apgdVariant(name: string, fixed: Partial<ApgdOptions>): (options: Options) => Attack<Oracle> {
  return (options) => {
    for (const [key, value] of Object.entries(fixed)) {
      if (key in options && options[key] !== undefined && options[key] !== value) {
        throw new GibbonError('invalid_option', `${name}: option ${key} is fixed to ${JSON.stringify(value) ?? 'unset'}; use 'apgd' to choose it`, {
          option: key,
        });
      }
    }
    return new ApgdAttack({ ...(options as Partial<ApgdOptions>), ...fixed }) as Attack<Oracle>;
  };
}

export const ATTACKS: readonly AttackEntry[] = Object.freeze([
  entry('fgsm', 'one signed-gradient step of size ε', 'Goodfellow et al. 2015, arXiv:1412.6572', (o) => new FgsmAttack(o) as Attack<Oracle>),
  entry('pgd', 'projected gradient ascent with random start and restarts', 'Madry et al. 2018, arXiv:1706.06083', (o) => new PgdAttack(o) as Attack<Oracle>),
  entry('mi-fgsm', 'iterative FGSM with gradient momentum', 'Dong et al. 2018, arXiv:1710.06081', (o) => new MiFgsmAttack(o) as Attack<Oracle>),
  entry('apgd', 'auto-PGD with any loss family (options as apgd-ce)', 'Croce & Hein 2020, arXiv:2003.01690', (o) => new ApgdAttack(o) as Attack<Oracle>),
  entry(
    'apgd-ce',
    'auto-PGD on cross-entropy: adaptive step size, momentum',
    'Croce & Hein 2020, arXiv:2003.01690',
    apgdVariant('apgd-ce', { loss: 'ce', targetClasses: undefined }),
  ),
  entry('apgd-dlr', 'auto-PGD on the DLR loss', 'Croce & Hein 2020, arXiv:2003.01690', apgdVariant('apgd-dlr', { loss: 'dlr', targetClasses: undefined })),
  entry(
    'apgd-t',
    'auto-PGD on targeted DLR against the top-9 other classes',
    'Croce & Hein 2020, arXiv:2003.01690',
    (o) =>
      new ApgdAttack({
        ...(o as Partial<ApgdOptions>),
        targetClasses: (o['targetClasses'] as number | undefined) ?? 9,
        loss: apgdTargetLoss(o),
      }) as Attack<Oracle>,
  ),
  entry(
    'cw',
    'Carlini–Wagner L2: smallest perturbation by Adam and a binary search over c',
    'Carlini & Wagner 2017, arXiv:1608.04644',
    (o) => new CwAttack(o) as Attack<Oracle>,
  ),
  entry(
    'deepfool',
    'steps to the nearest linearised decision boundary',
    'Moosavi-Dezfooli et al. 2016, arXiv:1511.04599',
    (o) => new DeepFoolAttack(o) as Attack<Oracle>,
  ),
  entry(
    'fab',
    'fast adaptive boundary: smallest perturbation via projections onto the nearest linearised boundary',
    'Croce & Hein 2020, arXiv:1907.02044',
    (o) => new FabAttack({ ...o, search: fabSearch('fab', o, 'closest') }) as Attack<Oracle>,
  ),
  entry(
    'fab-t',
    'targeted fast adaptive boundary: smallest perturbation via projections onto linearised boundaries of the top-9 other classes',
    'Croce & Hein 2020, arXiv:1907.02044',
    (o) => new FabAttack({ ...o, search: fabSearch('fab-t', o, 'targets') }) as Attack<Oracle>,
  ),
  entry(
    'nes',
    'score-based: PGD on an antithetic Gaussian (NES) gradient estimate',
    'Ilyas et al. 2018, arXiv:1804.08598',
    (o) => new NesAttack(o) as Attack<Oracle>,
  ),
  entry(
    'spsa',
    'score-based: Adam on an SPSA (Rademacher) gradient estimate',
    'Uesato et al. 2018, arXiv:1802.05666',
    (o) => new SpsaAttack(o) as Attack<Oracle>,
  ),
  entry(
    'square',
    'score-based random search over square-shaped updates (black box)',
    'Andriushchenko et al. 2020, arXiv:1912.00049',
    (o) => new SquareAttack(o) as Attack<Oracle>,
  ),
  entry(
    'hsj',
    'decision-only: boundary search, Monte-Carlo gradient direction, geometric steps',
    'Chen, Jordan & Wainwright 2020, arXiv:1904.02144',
    (o) => new HopSkipJumpAttack(o) as Attack<Oracle>,
  ),
]);

function fabSearch(name: string, options: Options, search: 'targets' | 'closest'): 'targets' | 'closest' {
  if (options['search'] !== undefined && options['search'] !== search) {
    throw new GibbonError('invalid_option', `${name}: option search is fixed to "${search}"`, { option: 'search' });
  }
  return search;
}

function apgdTargetLoss(options: Options): ApgdOptions['loss'] {
  const loss = options['loss'];
  if (loss !== undefined && loss !== 'dlr') {
    throw new GibbonError('invalid_option', `apgd-t: option loss is fixed to "dlr"; use 'apgd' with targetClasses to choose it`, { option: 'loss' });
  }
  return 'dlr';
}

const BY_NAME: ReadonlyMap<string, AttackEntry> = new Map(ATTACKS.map((e) => [e.name, e]));

export const ATTACK_NAMES: readonly string[] = Object.freeze(ATTACKS.map((e) => e.name));

/** The registry entry called `name`; errors list the valid names. */
export function attackEntry(name: string): AttackEntry {
  const found = BY_NAME.get(name);
  if (!found) throw new GibbonError('invalid_option', `unknown attack '${name}'; valid: ${ATTACK_NAMES.join(', ')}`, { option: 'attack' });
  return found;
}

/** A new attack by short name, e.g. `createAttack('pgd', { steps: 100 })`. */
export function createAttack(name: string, options: Options = {}): Attack<Oracle> {
  return attackEntry(name).create(options);
}
