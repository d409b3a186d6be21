/**
 * The plan of an evaluation, fixed before any batch runs: which of the ensemble's stages run and
 * with which oracle (what the threat model allows and the model admits), whether the masking
 * checks run, and each example's target class under a targeted threat model.
 */
import type { AttackFacts } from '../attacks/attack.js';
import { attackEntry, createAttack } from '../attacks/registry.js';
import { GibbonError } from '../errors.js';
import type { OracleKind } from '../model/oracles.js';
import { deriveSeed, Rng } from '../random.js';
import { argmin } from '../tensor/scores.js';
import type { Tensor } from '../tensor/tensor.js';
import { oracleKindOf, type AttackConfig, type Ensemble } from './presets.js';
import { ALLOWED_ORACLES, type Knowledge, type ThreatModel } from './threat-model.js';

export interface PlannedStage {
  readonly config: AttackConfig;
  readonly oracle: OracleKind;
  /** Whether it is an iterative gradient attack (for the single-step check). */
  readonly iterative: boolean;
}

/** What each oracle gives the attacker, in messages. */
export const ORACLE_WORDS: Record<OracleKind, string> = {
  gradient: 'gradients (white-box)',
  score: 'scores (score-based black box)',
  decision: 'decisions (decision-based black box)',
};

function refuse(message: string): GibbonError {
  return new GibbonError('invalid_option', message, { option: 'attacks' });
}

/**
 * The ensemble's stages the threat model allows and the model admits; an explicit list may not ask
 * for more. A preset leaves out, with a note, a stage that cannot run on this model (APGD-T on two
 * classes, say); an explicit list refuses it.
 */
export function planStages(ensemble: Ensemble, tm: ThreatModel, facts: AttackFacts, notes: string[]): PlannedStage[] {
  const allowed = ALLOWED_ORACLES[tm.knowledge];
  const planned: PlannedStage[] = [];
  const leftOut = (config: AttackConfig, why: string): void => void notes.push(`'${config.label}' left out of the '${ensemble.name}' ensemble: ${why}`);
  const primary = ensemble.stages.some((c) => !c.fallback && allowed.includes(oracleKindOf(c)));
  for (const config of ensemble.stages) {
    if (config.fallback && primary) continue;
    const entry = attackEntry(config.attack);
    const oracle = oracleKindOf(config);
    if (!allowed.includes(oracle)) {
      if (!ensemble.preset) {
        const words = allowed.map((k) => ORACLE_WORDS[k]).join(', ');
        throw refuse(`attack '${config.label}' needs ${ORACLE_WORDS[oracle]}, but the threat model's knowledge '${tm.knowledge}' allows only ${words}`);
      }
      leftOut(config, `it needs ${ORACLE_WORDS[oracle]}, which knowledge '${tm.knowledge}' does not allow`);
      continue;
    }
    if (!entry.norms.includes(tm.norm))
      throw refuse(`attack '${config.label}' supports the norms ${entry.norms.join(', ')}, not the threat model's ${tm.norm}`);
    const probe = createAttack(config.attack, config.options);
    const unfit = probe.inapplicable?.(facts);
    if (unfit !== undefined) {
      if (!ensemble.preset) throw refuse(`attack '${config.label}' cannot run on this model: ${unfit}`);
      leftOut(config, unfit);
      continue;
    }
    if (tm.targeted && !probe.targeted) {
      if (!ensemble.preset) throw refuse(`attack '${config.label}' is untargeted; the threat model is targeted (targets: ${tm.targeted.targets})`);
      leftOut(config, 'it is untargeted and the threat model is targeted');
      continue;
    }
    planned.push({ config, oracle, iterative: oracle === 'gradient' && config.attack !== 'fgsm' });
  }
  if (planned.length === 0) {
    throw refuse(
      `the '${ensemble.name}' ensemble has no attack that knowledge '${tm.knowledge}' allows (its attacks need ${ORACLE_WORDS.gradient}); choose attacks that use ${allowed.map((k) => ORACLE_WORDS[k]).join(' or ')}`,
    );
  }
  return planned;
}

/** The masking checks' reference runs need gradients of the model itself. */
export function knowledgeAllowsChecks(knowledge: Knowledge): boolean {
  return knowledge === 'white-box';
}

/** Target classes for a targeted threat model (per example, independent of batching); `start` is the batch's first example. */
export function chooseTargets(tm: ThreatModel, numClasses: number, start: number, labels: Int32Array, logits: Tensor): Int32Array | undefined {
  const targeted = tm.targeted;
  if (!targeted) return undefined;
  const c = numClasses;
  return Int32Array.from(labels, (y, i) => {
    if (targeted.targets === 'least-likely') {
      const row = logits.data.slice(i * c, (i + 1) * c);
      row[y] = Infinity;
      return argmin(row);
    }
    const k = Rng.derive(tm.seed, 'target', start + i).integer(c - 1);
    return k >= y ? k + 1 : k;
  });
}

/** The seed of a stage's run on a batch (the same in a resumed run). */
export function stageSeed(tm: ThreatModel, batch: number, label: string): number {
  return deriveSeed(tm.seed, 'batch', batch, 'stage', label);
}
