/** The command line parser is pure: argv in, command and values (or a UsageError) out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOSS_NAMES } from '../autodiff/loss-heads.js';
import { COMMANDS, DEFAULT_EPSILONS } from './options.js';
import { parseArgs, UsageError, type ParseResult } from './parse-args.js';

function run(argv: string[]): { command: string; values: Readonly<Record<string, unknown>> } {
  const r: ParseResult = parseArgs(argv);
  assert.equal(r.kind, 'run');
  return r as Extract<ParseResult, { kind: 'run' }>;
}

function usage(argv: string[], pattern: RegExp): void {
  assert.throws(
    () => parseArgs(argv),
    (e: unknown) => e instanceof UsageError && pattern.test(e.message) && !e.message.includes('\n'),
  );
}

test('values come typed: numbers parsed, defaults filled, arguments named', () => {
  const g = run(['grad', 'm.onnx', '--input', 'x.npy', '--labels', 'y.npy', '--loss', 'dlr', '--out', 'g.npy', '--batch-size', '64']);
  assert.equal(g.command, 'grad');
  assert.deepEqual(g.values, { model: 'm.onnx', input: 'x.npy', labels: 'y.npy', loss: 'dlr', out: 'g.npy', batchSize: 64, wrt: 'input' });
  const d = run(['demo']);
  assert.deepEqual(d.values, { n: 1000, eps: DEFAULT_EPSILONS });
  assert.deepEqual(run(['demo', '--eps', '0.1, 0.3', '--n', '50']).values, { n: 50, eps: [0.1, 0.3] });
  assert.deepEqual(run(['info', 'm.onnx', '--json']).values, { model: 'm.onnx', json: true });
});

test('every loss head is a --loss choice (and the embedding loss)', () => {
  const grad = COMMANDS.find((c) => c.name === 'grad')!;
  assert.deepEqual(grad.options.find((o) => o.flags.startsWith('--loss'))!.choices, [...LOSS_NAMES, 'embedding']);
});

test('bad command lines are one-line UsageErrors', () => {
  usage([], /no command given/);
  usage(['frobnicate'], /unknown command 'frobnicate'/);
  usage(['info'], /missing required argument 'model'/);
  usage(['info', 'a.onnx', 'b.onnx'], /too many arguments/);
  usage(['predict', 'm.onnx', '--input', 'x.npy', '--batch-size', '0'], /batch size must be an integer from 1/);
  usage(['predict', 'm.onnx', '--input', 'x.npy', '--threads', '2.5'], /threads must be an integer/);
  usage(['predict', 'm.onnx', '--input', 'x.npy', '--bogus'], /unknown option '--bogus'/);
  usage(['demo', '--n', '10001'], /n must be an integer from 1 to 10000/);
  usage(['demo', '--eps', '-0.1'], /ε must be a comma-separated list of numbers ≥ 0/);
  usage(['demo', '--eps', '0.1,,0.2'], /ε must be a comma-separated list/);
  const grad = ['grad', 'm.onnx', '--input', 'x.npy', '--labels', 'y.npy', '--out', 'o'];
  usage([...grad, '--loss', 'ce-targeted'], /needs target classes/);
  usage([...grad, '--loss', 'ce', '--target', 't.npy'], /--target is only used by the targeted losses/);
  usage([...grad, '--loss', 'margin-targeted', '--target', 't.npy', '--wrt', 'params'], /--wrt params supports the untargeted losses only/);
  usage([...grad, '--loss', 'ce', '--wrt', 'weights'], /argument 'weights' is invalid/);
});

test('help and version are text to print', () => {
  const help = parseArgs(['--help']);
  assert.equal(help.kind, 'print');
  assert.match((help as { text: string }).text, /Usage: gibbon/);
  const grad = parseArgs(['grad', '--help']) as { kind: string; text: string };
  assert.match(grad.text, /--loss <name>.*\(required\)/s);
  assert.match(grad.text, /--threads <n>.*default: number of cores/s);
  assert.equal((parseArgs(['--version'], { version: '1.2.3' }) as { text: string }).text.trim(), '1.2.3');
});
