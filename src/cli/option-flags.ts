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
 * The error as the command `command` shows it: its option as that command's flag, in its location,
 * where the message opens with it ("stepSize must be …" → "--step-size must be …") and where the
 * message says "option NAME" ("give its shape (option inputShapes)" → "(--input-shape)"); anything
 * else as the library said it.
 */
export function withFlags(error: unknown, command: CommandName | undefined): unknown {
  if (!(error instanceof GibbonError) || command === undefined || error.location.option === undefined) return error;
  const option = error.location.option;
  const flag = flagFor(command, option);
  if (flag === undefined) return error;
  const name = escapeRegExp(option);
  const message = error.message.replace(new RegExp(`^${name}(?![\\w-])`), flag).replace(new RegExp(`\\boption ${name}(?![\\w-])`, 'g'), flag);
  return new GibbonError(error.code, message, { ...error.location, option: flag });
}

/** One line for the terminal, with flags in place of API option names. */
export function formatCliError(error: unknown, command: CommandName | undefined): string {
  return formatError(withFlags(error, command));
}
