/**
 * Library errors name API options (`stepSize`, `n0`, `eotSamples`); the command line has flags
 * (`--step-size`, `--n0`, `--eot`). This is the one place that maps the first to the second, so
 * that a message printed by the CLI names the flag the user typed. A name is translated only for a
 * command that declares the flag: an `eps` error met by `eval` (whose ε come from the threat model)
 * keeps its API name.
 */
import { formatError, GibbonError } from '../errors.js';
import { COMMANDS, type CommandName } from './options.js';

/** API option → flag, where the flag is not simply the kebab-case of the name. */
const RENAMED: Readonly<Record<string, string>> = Object.freeze({
  eotSamples: '--eot',
  inputShapes: '--input-shape',
  targetFpr: '--fpr',
});

/** Per command, where one API name means another flag there. */
const RENAMED_IN: Readonly<Partial<Record<CommandName, Readonly<Record<string, string>>>>> = Object.freeze({
  certify: Object.freeze({ n: '--samples' }),
});

function declaredFlags(command: CommandName): Set<string> {
  const spec = COMMANDS.find((c) => c.name === command);
  return new Set((spec?.options ?? []).map((o) => o.flags.split(/[\s,]+/).find((f) => f.startsWith('--'))!));
}

/** The flag of `command` that sets API option `option`, if it has one. */
export function flagFor(command: CommandName, option: string): string | undefined {
  const flag = RENAMED_IN[command]?.[option] ?? RENAMED[option] ?? `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return declaredFlags(command).has(flag) ? flag : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The error as the command `command` shows it, with that command's flags for API options: in its
 * location, where the message opens with its option ("stepSize must be …" → "--step-size must be
 * …"), and wherever the message says "option NAME" ("lower option lr or set option clipGrad" →
 * "lower --lr or set --clip-grad"). Names the command has no flag for stay as the library said them.
 */
export function withFlags(error: unknown, command: CommandName | undefined): unknown {
  if (!(error instanceof GibbonError) || command === undefined) return error;
  const option = error.location.option;
  const flag = option === undefined ? undefined : flagFor(command, option);
  let message = error.message.replace(/\boption ([A-Za-z]\w*(?:\.\w+)*)(?![\w-])/g, (said, name: string) => flagFor(command, name) ?? said);
  if (flag !== undefined) message = message.replace(new RegExp(`^${escapeRegExp(option!)}(?![\\w-])`), flag);
  if (message === error.message && flag === undefined) return error;
  return new GibbonError(error.code, message, { ...error.location, option: flag ?? option });
}

/** One line for the terminal, with flags in place of API option names. */
export function formatCliError(error: unknown, command: CommandName | undefined): string {
  return formatError(withFlags(error, command));
}
