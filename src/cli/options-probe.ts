/** The CLI table's `probe` and `simulator` commands (docs/probes.md). */
import { integerIn, positiveInteger, positiveNumber, accuracyBar } from './option-values.js';
import type { CommandSpec } from './option-specs.js';

const defenseHelp = 'simulator defenses, comma-separated: none, keyword, guard, output';
const guardHelp = "the simulator's classifier guard: an ONNX text model or llm_guardrail-style TF-IDF JSON weights";

export const PROBE_COMMANDS: readonly CommandSpec[] = [
  {
    name: 'probe',
    summary:
      'prompt-injection and jailbreak probes against an OpenAI-compatible chat endpoint (or the built-in assistant simulator): success per family with 95% CIs',
    arguments: [],
    options: [
      {
        flags: '--target <url>',
        description: "chat completions URL (http://…/v1/chat/completions), or 'simulator' for the in-process assistant simulator",
        required: true,
      },
      { flags: '--defense <list>', description: `(--target simulator) ${defenseHelp}`, defaultValue: 'none' },
      { flags: '--guard <file>', description: `(--target simulator) ${guardHelp}`, defaultDescription: 'models/injection-guard.onnx' },
      {
        flags: '--probes <file>',
        description: 'probe file (YAML/JSON, format gibbon-probes/1)',
        defaultDescription: "gibbon's built-in probes/gibbon-probes.yaml",
      },
      { flags: '--families <list>', description: 'only these families, comma-separated' },
      {
        flags: '--repetitions <n>',
        description: 'repetitions per probe (each its own seeded rendering)',
        parse: integerIn(1, 100_000, 'repetitions'),
        defaultValue: 30,
      },
      { flags: '--seed <n>', description: 'random seed (renderings, bootstrap)', parse: integerIn(0, 0xffffffff, 'seed'), defaultValue: 0 },
      { flags: '--concurrency <n>', description: 'conversations in flight at once', parse: integerIn(1, 256, 'concurrency'), defaultValue: 4 },
      {
        flags: '--budget <n>',
        description: 'hard cap on HTTP requests sent (retries included); attempts beyond it are skipped',
        parse: positiveInteger('budget'),
      },
      { flags: '--rate-limit <r>', description: 'requests per second at most', parse: positiveNumber('rate limit') },
      { flags: '--timeout <ms>', description: 'time for one answer', parse: positiveInteger('timeout'), defaultValue: 60_000 },
      {
        flags: '--retries <n>',
        description: 'retries of a failed, timed-out or rate-limited (429) request',
        parse: integerIn(0, 10, 'retries'),
        defaultValue: 2,
      },
      { flags: '--model <name>', description: "the request's model field", defaultValue: 'gibbon-probe' },
      { flags: '--token-env <var>', description: 'environment variable holding the bearer token (never pass a token on the command line)' },
      {
        flags: '--canary <token>',
        description: "the secret in the endpoint's own system prompt; without it gibbon sends a system prompt holding a canary of its own",
      },
      { flags: '--forbidden-tool <name>', description: 'a tool the assistant must never call (repeatable)', repeatable: true },
      { flags: '--out <dir>', description: 'folder for report.json and report.html', defaultValue: 'gibbon-probe-report' },
      { flags: '--fail-under <rate>', description: 'exit 3 when a family resists less than this share of attempts (0.9 or 90%)', parse: accuracyBar },
      { flags: '--junit <file>', description: 'write JUnit XML: one test case per family (failing below --fail-under)' },
    ],
  },
  {
    name: 'simulator',
    summary:
      'serve the assistant simulator as an OpenAI-compatible chat endpoint (system prompt with a canary, tools, defenses) to try gibbon probe without an LLM',
    arguments: [],
    options: [
      { flags: '--defense <list>', description: defenseHelp, defaultValue: 'none' },
      { flags: '--guard <file>', description: guardHelp, defaultDescription: 'models/injection-guard.onnx' },
      {
        flags: '--seed <n>',
        description: 'seed of the simulated sampling (and of the default canary)',
        parse: integerIn(0, 0xffffffff, 'seed'),
        defaultValue: 0,
      },
      { flags: '--canary <token>', description: 'the secret in its system prompt', defaultDescription: 'derived from the seed' },
      { flags: '--host <address>', description: 'address to listen on', defaultValue: '127.0.0.1' },
      { flags: '--port <n>', description: 'port (0: any free one)', parse: integerIn(0, 65535, 'port'), defaultValue: 8400 },
    ],
  },
];
