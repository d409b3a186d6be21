/**
 * Text attacks by name, for threat models and the CLI: a plain table, nothing registers itself.
 */
import { GibbonError } from '../../errors.js';
import { DeepWordBugAttack } from './deepwordbug.js';
import { HotFlipAttack } from './hotflip.js';
import { PwwsAttack } from './pwws.js';
import { RandomEditAttack } from './random-edit.js';
import type { TextAttack } from './text-attack.js';
import { TextBuggerAttack } from './textbugger.js';
import { TextFoolerAttack } from './textfooler.js';

export const TEXT_ATTACK_NAMES = ['pwws', 'textfooler', 'deepwordbug', 'textbugger', 'hotflip', 'random'] as const;
export type TextAttackName = (typeof TEXT_ATTACK_NAMES)[number];

const MAKERS: Readonly<Record<TextAttackName, (options: Readonly<Record<string, unknown>>) => TextAttack>> = Object.freeze({
  pwws: (o) => new PwwsAttack(o),
  textfooler: (o) => new TextFoolerAttack(o),
  deepwordbug: (o) => new DeepWordBugAttack(o),
  textbugger: (o) => new TextBuggerAttack(o),
  hotflip: (o) => new HotFlipAttack(o),
  random: (o) => new RandomEditAttack(o),
});

/** The attack called `name` with `options` (validated by the attack). */
export function makeTextAttack(name: string, options: Readonly<Record<string, unknown>> = {}): TextAttack {
  const make = MAKERS[name as TextAttackName];
  if (!make) throw new GibbonError('invalid_option', `unknown text attack '${name}'; valid: ${TEXT_ATTACK_NAMES.join(', ')}`, { option: 'attacks' });
  return make(options);
}
