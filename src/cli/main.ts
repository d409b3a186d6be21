#!/usr/bin/env node
/**
 * The `gibbon` executable. The only place that renders errors and sets the exit code:
 * 0 success; 1 the command failed (a GibbonError: bad file, bad model, bad data, runtime failure);
 * 2 the command line itself is wrong (usage); 3 `eval --fail-under`: robust accuracy is below the
 * bar. Every error is ONE line on stderr.
 * Commands are imported only when they run, so `gibbon --help` stays fast.
 */
import { GibbonError } from '../errors.js';
import { BelowThresholdError } from './below-threshold.js';
import { formatCliError } from './option-flags.js';
import type { CommandName } from './options.js';
import { packageVersion } from './package-root.js';
import { parseArgs, UsageError } from './parse-args.js';
import { processTerminal, type Terminal } from './terminal.js';
import { cappedThreads } from '../runtime/threads.js';

type CommandModule = { run(values: never, terminal: Terminal): Promise<void> };

const COMMAND_MODULES: Record<CommandName, () => Promise<CommandModule>> = {
  info: () => import('./commands/info.js'),
  predict: () => import('./commands/predict.js'),
  grad: () => import('./commands/grad.js'),
  demo: () => import('./commands/demo.js'),
  eval: () => import('./commands/eval.js'),
  train: () => import('./commands/train.js'),
  defend: () => import('./commands/defend.js'),
  certify: () => import('./commands/certify.js'),
  detect: () => import('./commands/detect.js'),
  'ctc-attack': () => import('./commands/ctc-attack.js'),
  'serve-playground': () => import('./commands/serve-playground.js'),
  patch: () => import('./commands/patch.js'),
  uap: () => import('./commands/uap.js'),
  'text-eval': () => import('./commands/text-eval.js'),
  guard: () => import('./commands/guard.js'),
  probe: () => import('./commands/probe.js'),
  simulator: () => import('./commands/simulator.js'),
  worker: () => import('./commands/worker.js'),
};

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;
const EXIT_BELOW_THRESHOLD = 3;

/** Runs the CLI on argv (without node and script) and returns the exit code. */
async function main(argv: readonly string[], terminal: Terminal = processTerminal()): Promise<number> {
  let command: CommandName | undefined;
  try {
    const parsed = parseArgs(argv, { version: packageVersion() });
    if (parsed.kind === 'print') {
      terminal.out(parsed.text.trimEnd());
      return EXIT_OK;
    }
    command = parsed.command;
    const threads = (parsed.values as { threads?: number }).threads;
    if (threads !== undefined && threads > cappedThreads(threads))
      terminal.note(`--threads ${threads} is more than this machine's ${cappedThreads(threads)} cores; using ${cappedThreads(threads)}`);
    const module = await COMMAND_MODULES[parsed.command]();
    await module.run(parsed.values as never, terminal);
    return EXIT_OK;
  } catch (e) {
    if (e instanceof BelowThresholdError) {
      process.stderr.write(`✖ ${e.message}\n`);
      return EXIT_BELOW_THRESHOLD;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`✖ ${e.message} (see gibbon ${e.command ? `${e.command} ` : ''}--help)\n`);
      return EXIT_USAGE;
    }
    const line = formatCliError(e, command).replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`${line}${e instanceof GibbonError ? '' : ' (unexpected error; set GIBBON_DEBUG=1 for the stack trace)'}\n`);
    if (process.env.GIBBON_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv.slice(2));
