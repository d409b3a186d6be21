/** The `text-eval` command's line in the CLI table (text threat models: docs/text-attacks.md). */
import { batchSizeOption, threadsOption, type CommandSpec } from './option-specs.js';
import { integerIn, positiveInteger } from './option-values.js';

export const TEXT_EVAL_COMMAND: CommandSpec = {
  name: 'text-eval',
  summary: 'attack a text classifier under a text threat model (perturbation: text): success rates, queries, report.json and report.html',
  arguments: [{ name: 'model', description: 'ONNX text model (vocabulary in its metadata, or --vocab)' }],
  options: [
    { flags: '--threat <file>', description: 'text threat model (YAML/JSON with perturbation: text)', required: true },
    { flags: '--out <dir>', description: 'folder for report.json, report.html and text-checkpoint.json', defaultValue: 'gibbon-text-report' },
    { flags: '--resume', description: 'continue the run checkpointed in --out (same model and threat model)' },
    { flags: '--n <count>', description: "first N examples (overrides the threat model's n)", parse: positiveInteger('n') },
    { flags: '--seed <n>', description: "random seed (overrides the threat model's seed)", parse: integerIn(0, 0xffffffff, 'seed') },
    { flags: '--vocab <file>', description: 'vocabulary sidecar file, when the model has none in its metadata' },
    { ...batchSizeOption, description: 'texts per onnxruntime run', defaultDescription: '64' },
    threadsOption,
  ],
};
