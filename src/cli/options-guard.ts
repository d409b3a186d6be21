/** The CLI table's `guard` command: serve a model behind detectors, or export the reviewed items. */
import { integerIn, positiveInteger } from './option-values.js';
import { threadsOption, type CommandSpec } from './option-specs.js';

export const GUARD_COMMAND: CommandSpec = {
  name: 'guard',
  summary: "'serve' a model behind detectors (verdicts, review queue, metrics; docs/guard.md), or 'export' the reviewed items as a training set",
  arguments: [
    { name: 'action', description: "'serve' (HTTP service) or 'export' (reviewed items → X.npy, Y.npy)" },
    { name: 'model', description: 'serve: ONNX classifier', optional: true },
  ],
  options: [
    { flags: '--detector <file>', description: 'serve: detector.json from gibbon detect fit (repeatable)', repeatable: true },
    {
      flags: '--policy <file>',
      description: 'serve: policy file (YAML/JSON): thresholds and actions per detector, flag action, stateful detection, rate limit',
    },
    { flags: '--db <url>', description: 'review database: sqlite:PATH (or a path) or postgres://USER@HOST/DB', defaultValue: 'sqlite:guard-review.db' },
    { flags: '--host <address>', description: 'serve: address to listen on', defaultValue: '127.0.0.1' },
    { flags: '--port <n>', description: 'serve: port (0: any free one)', parse: integerIn(0, 65535, 'port'), defaultValue: 8080 },
    { flags: '--max-body-bytes <n>', description: 'serve: largest request body', parse: positiveInteger('max-body-bytes'), defaultValue: 4 * 1024 * 1024 },
    { flags: '--quiet', description: 'serve: no JSON request logs on stdout' },
    { flags: '--out <dir>', description: 'export: folder for X.npy and Y.npy' },
    threadsOption,
  ],
};
