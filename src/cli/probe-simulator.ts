/** The assistant simulator as the CLI builds it from --defense, --guard, --seed and --canary (probe and simulator commands). */
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { AssistantSimulator, type SimulatorDefenses } from '../probes/simulator.js';
import type { TextClassifier } from '../text/classifier.js';
import { OnnxTextModel } from '../text/onnx-text-model.js';
import { TfidfLogisticModel } from '../text/tfidf-logistic-model.js';
import { packageRoot } from './package-root.js';

const DEFENSES = ['none', 'keyword', 'guard', 'output'] as const;

export interface BuiltSimulator {
  readonly simulator: AssistantSimulator;
  readonly guardPath?: string;
  dispose(): Promise<void>;
}

/** A text classifier from a file: JSON TF-IDF weights (llm_guardrail's format) or an ONNX text model. */
async function openGuard(path: string): Promise<{ model: TextClassifier; dispose(): Promise<void> }> {
  if (path.endsWith('.json')) return { model: TfidfLogisticModel.fromFile(path), dispose: async () => undefined };
  const model = await OnnxTextModel.open(path, { threads: 1 });
  return { model, dispose: () => model.dispose() };
}

export async function buildSimulator(values: { defense?: string; guard?: string; seed?: number; canary?: string }): Promise<BuiltSimulator> {
  const asked = (values.defense ?? 'none').split(',').map((s) => s.trim());
  for (const d of asked) {
    if (!(DEFENSES as readonly string[]).includes(d))
      throw new GibbonError('invalid_option', `--defense: unknown defense '${d}'; valid: ${DEFENSES.join(', ')} (comma-separated)`, { option: 'defense' });
  }
  if (values.guard !== undefined && !asked.includes('guard'))
    throw new GibbonError('invalid_option', '--guard needs --defense guard (or a list holding guard)', { option: 'guard' });
  const guardPath = asked.includes('guard') ? (values.guard ?? join(packageRoot(), 'models', 'injection-guard.onnx')) : undefined;
  const guard = guardPath !== undefined ? await openGuard(guardPath) : undefined;
  const defenses: SimulatorDefenses = {
    ...(asked.includes('keyword') ? { keywordFilter: true } : {}),
    ...(guard ? { guard: { model: guard.model } } : {}),
    ...(asked.includes('output') ? { outputFilter: true } : {}),
  };
  const simulator = new AssistantSimulator({ seed: values.seed ?? 0, defenses, ...(values.canary ? { canary: values.canary } : {}) });
  return { simulator, ...(guardPath ? { guardPath } : {}), dispose: async () => guard?.dispose() };
}
