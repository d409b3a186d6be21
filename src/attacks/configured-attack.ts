/**
 * The part every attack class shares: what it declares about itself (name, kind, oracle, norms,
 * whether it takes targets) and its options, resolved once from the paper's defaults by the rules of
 * src/options.ts and frozen. An attack class extends this and adds only its own `run`.
 *
 * @example
 * ```ts
 * class MyAttack extends ConfiguredAttack<GradientOracle, MyOptions> {
 *   constructor(options: Partial<MyOptions> = {}) {
 *     super({ name: 'mine', kind: 'fixed-epsilon', oracleKind: 'gradient', norms: ['linf'], targeted: false }, MY_DEFAULTS, options, { steps: positiveInteger });
 *   }
 *   async run(oracle: GradientOracle, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult> { … }
 * }
 * ```
 */
import type { Criterion } from '../criteria/criterion.js';
import type { Oracle } from '../model/oracles.js';
import type { NormName } from '../norms/norm.js';
import { resolveOptions, type OptionRule } from '../options.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Attack, AttackContext, AttackKind, AttackResult } from './attack.js';

/** What an attack says about itself (the fields of `Attack` besides its options). */
export interface AttackDeclaration<O extends Oracle> {
  /** Registry name; also names the attack in option errors ("pgd: option steps must be …"). */
  readonly name: string;
  readonly kind: AttackKind;
  readonly oracleKind: O['kind'];
  readonly norms: readonly NormName[];
  readonly targeted: boolean;
}

/** One rule per option. */
export type OptionRules<T> = { readonly [K in keyof T]: OptionRule };

export abstract class ConfiguredAttack<O extends Oracle, T extends object> implements Attack<O> {
  readonly name: string;
  readonly kind: AttackKind;
  readonly oracleKind: O['kind'];
  readonly norms: readonly NormName[];
  readonly targeted: boolean;
  readonly options: Readonly<T>;

  protected constructor(declaration: AttackDeclaration<O>, defaults: T, given: Partial<T> | undefined, rules: OptionRules<T>) {
    this.name = declaration.name;
    this.kind = declaration.kind;
    this.oracleKind = declaration.oracleKind;
    this.norms = declaration.norms;
    this.targeted = declaration.targeted;
    this.options = resolveOptions(declaration.name, defaults, given, rules);
  }

  abstract run(oracle: O, x: Tensor, criterion: Criterion, ctx: AttackContext): Promise<AttackResult>;
}
