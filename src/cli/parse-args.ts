/**
 * argv → which command to run with which values, without side effects: no printing, no exiting,
 * no file access. Built with commander from the declarative table in options.ts. A command line
 * that cannot be run (unknown command or option, missing or invalid value, options that do not go
 * together) is a UsageError; help and version requests come back as text to print.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isTargetedLoss, type LossName } from '../autodiff/loss-heads.js';
import { COMMANDS, InvalidValue, type CommandName, type CommandSpec } from './options.js';

/** The command line is wrong; the CLI exits with code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command it concerns, for the "see gibbon <command> --help" hint. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type ParseResult =
  | { readonly kind: 'run'; readonly command: CommandName; readonly values: Readonly<Record<string, unknown>> }
  | { readonly kind: 'print'; readonly text: string };

function addCommand(program: Command, spec: CommandSpec, onRun: (command: CommandName, values: Record<string, unknown>) => void): void {
  const cmd = program.command(spec.name).description(spec.summary);
  for (const a of spec.arguments) cmd.argument(a.optional ? `[${a.name}]` : `<${a.name}>`, a.description);
  for (const o of spec.options) {
    // Commander shows a default only when there is a value, so described-only defaults go in the text.
    const described = o.defaultValue === undefined && o.defaultDescription ? ` (default: ${o.defaultDescription})` : '';
    const option = new Option(o.flags, `${o.description}${o.required ? ' (required)' : ''}${described}`);
    if (o.required) option.makeOptionMandatory();
    if (o.choices) option.choices(o.choices);
    if (o.defaultValue !== undefined) option.default(o.defaultValue, o.defaultDescription);
    const parse = o.parse;
    if (parse || o.repeatable) {
      option.argParser((raw: string, previous: unknown) => {
        try {
          const value = parse ? parse(raw) : raw;
          return o.repeatable ? [...((previous as unknown[] | undefined) ?? []), value] : value;
        } catch (e) {
          if (e instanceof InvalidValue) throw new InvalidArgumentError(e.message);
          throw e;
        }
      });
    }
    cmd.addOption(option);
  }
  cmd.action((...args: unknown[]) => {
    const values: Record<string, unknown> = { ...(args[spec.arguments.length] as Record<string, unknown>) };
    spec.arguments.forEach((a, i) => (values[a.name] = args[i]));
    onRun(spec.name, values);
  });
}

/** Checks between options that commander cannot express. */
function checkCombinations(command: CommandName, values: Readonly<Record<string, unknown>>): void {
  if (command === 'eval') {
    const data = values.data as string | undefined;
    if (data !== undefined && data !== 'mnist-test' && values.labels === undefined) {
      throw new UsageError(`--data ${data} needs the true classes: add --labels Y.npy`, command);
    }
    if (values.labels !== undefined && (data === undefined || data === 'mnist-test')) {
      throw new UsageError('--labels goes with --data X.npy (mnist-test brings its own labels)', command);
    }
    return;
  }
  if (command === 'train') {
    if ((values.arch === undefined) === (values.model === undefined))
      throw new UsageError('give exactly one of --arch NAME (train from scratch) or --model FILE (fine-tune)', command);
    const data = values.data as string;
    const named = data === 'mnist' || data === 'fashion-mnist' || data === 'spam-assassin' || /\.jsonl$/i.test(data);
    if (!named && values.labels === undefined) throw new UsageError(`--data ${data} needs the true classes: add --labels Y.npy`, command);
    if (named && values.labels !== undefined) throw new UsageError(`--labels goes with --data X.npy (${data} brings its own labels)`, command);
    return;
  }
  if ((command === 'predict' || command === 'grad') && (values.mean === undefined) !== (values.std === undefined)) {
    throw new UsageError('--mean and --std go together (the model takes (x − mean) / std)', command);
  }
  if (command !== 'grad') return;
  const loss = values.loss as LossName;
  if ((loss as string) === 'embedding') {
    if (values.reference === undefined)
      throw new UsageError("loss 'embedding' needs the reference embeddings: add --reference E.npy (predict --out on the clean inputs writes them)", command);
    if (values.wrt === 'params') throw new UsageError("--wrt params supports the classification losses only, not 'embedding'", command);
    if (values.target !== undefined) throw new UsageError("--target is only used by the targeted losses, not 'embedding'", command);
    return;
  }
  if (values.reference !== undefined) throw new UsageError(`--reference goes with --loss embedding, not '${loss}'`, command);
  if (values.labels === undefined) throw new UsageError(`loss '${loss}' needs the true classes: add --labels Y.npy`, command);
  if (isTargetedLoss(loss) && values.target === undefined) {
    throw new UsageError(`loss '${loss}' needs target classes: add --target T.npy`, command);
  }
  if (!isTargetedLoss(loss) && values.target !== undefined) {
    throw new UsageError(`--target is only used by the targeted losses (ce-targeted, margin-targeted, dlr-targeted), not '${loss}'`, command);
  }
  if (values.wrt === 'params' && isTargetedLoss(loss)) {
    throw new UsageError(`--wrt params supports the untargeted losses only (ce, margin, dlr), not '${loss}'`, command);
  }
}

/** Commander's message as one line without its "error: " prefix. */
function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/, '')
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .join(' ');
}

export function parseArgs(argv: readonly string[], options: { version?: string } = {}): ParseResult {
  let printed = '';
  let chosen: { command: CommandName; values: Record<string, unknown> } | undefined;
  const program = new Command('gibbon')
    .description('Attack and evaluate ONNX classifiers: exact gradients of ONNX graphs, computed in TypeScript.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => (printed += s), writeErr: (s) => (printed += s), outputError: () => undefined })
    .showSuggestionAfterError(true);
  if (options.version) program.version(options.version, '-V, --version');
  for (const spec of COMMANDS) addCommand(program, spec, (command, values) => (chosen = { command, values }));

  if (argv.length === 0) throw new UsageError(`no command given; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return { kind: 'print', text: printed };
    const command = program.commands.find((c) => c.name() === argv.find((a) => !a.startsWith('-')))?.name();
    throw new UsageError(oneLine(e.message), command);
  }
  if (!chosen) throw new UsageError(`no command given; commands: ${COMMANDS.map((c) => c.name).join(', ')}`);
  checkCombinations(chosen.command, chosen.values);
  return { kind: 'run', command: chosen.command, values: chosen.values };
}
