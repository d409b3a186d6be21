/**
 * A threat model's checks beyond its fields' own (budgets inside the input domain, knowledge that
 * fits the surrogate, the endpoint and the query budget), the resolution of its paths against the
 * file's folder, and the checks against the model it is applied to.
 */
import { checkChannelsFitModel, checkInputBounds } from './channel-bounds.js';
import { isAbsolute, resolve } from 'node:path';
import { checkEndpointFields } from '../model/remote/endpoint.js';
import {
  checkedFields,
  DEFAULT_QUERY_BUDGET,
  MNIST_TEST,
  THREAT_MODEL_LIMITS as L,
  threatModelError,
  type DataSource,
  type ThreatModel,
  type ThreatModelFields,
} from './threat-model-schema.js';

/**
 * Validates a parsed threat model (a plain object from YAML/JSON or code). `where` names the
 * source in messages; relative data and surrogate paths are resolved against `baseDir`.
 */
export function validateThreatModel(input: unknown, where = '', options: { baseDir?: string; path?: string } = {}): ThreatModel {
  const tm = checkedFields(input, where, options.path);
  const fail = (field: string, message: string): never => {
    throw threatModelError(where, field, message, options.path);
  };
  const checked = checkInputBounds(tm.input, fail);
  const [lower, upper] = checked.bounds;
  const range = upper - lower;
  const eps = [...new Set(tm.eps)].sort((a, b) => a - b);
  if (tm.norm === 'linf') {
    const i = tm.eps.findIndex((e) => e > range);
    if (i >= 0) {
      fail(
        `eps[${i}]`,
        `eps[${i}] = ${tm.eps[i]} is outside the input domain: an L∞ budget of ${range} (input.bounds [${lower}, ${upper}]) already allows every input; valid: 0 ≤ ε ≤ ${range}`,
      );
    }
  }
  const floor = L.relativeEps * range;
  const tiny = tm.eps.findIndex((e) => e > 0 && e < floor);
  if (tiny >= 0) {
    fail(
      `eps[${tiny}]`,
      `eps[${tiny}] = ${tm.eps[tiny]} is below what float32 inputs in [${lower}, ${upper}] can resolve; valid: 0, or ${floor.toPrecision(3)} ≤ ε ≤ ${range}`,
    );
  }
  const blackBox = tm.knowledge !== 'white-box';
  if (tm.query_budget !== undefined && !blackBox) {
    fail('query_budget', `query_budget applies to black-box knowledge (scores, decision, transfer), not white-box; remove it or change knowledge`);
  }
  if (tm.knowledge === 'transfer' && tm.surrogate === undefined) {
    fail('surrogate', `knowledge 'transfer' needs a surrogate: the path of the ONNX model whose gradients the attacker uses`);
  }
  if (tm.surrogate !== undefined && tm.knowledge !== 'transfer') {
    fail('surrogate', `surrogate is only used with knowledge 'transfer' (knowledge is '${tm.knowledge}')`);
  }
  if (tm.endpoint) checkEndpoint(tm, fail);
  if ((tm.input.mean === undefined) !== (tm.input.std === undefined)) {
    fail(tm.input.mean === undefined ? 'input.mean' : 'input.std', 'input.mean and input.std go together: the model takes (x − mean) / std');
  }
  if (tm.input.mean && tm.input.std && tm.input.mean.length !== tm.input.std.length) {
    fail('input.std', `input.std has ${tm.input.std.length} values but input.mean has ${tm.input.mean.length}; give one per channel`);
  }
  if (tm.model && tm.endpoint) fail('model', 'model describes how an ONNX file is read; an endpoint has no such file');
  const base = options.baseDir;
  const at = (p: string): string => (base && !isAbsolute(p) ? resolve(base, p) : p);
  const data: DataSource = tm.data === MNIST_TEST ? MNIST_TEST : { x: at(tm.data.x), labels: at(tm.data.labels) };
  const out: ThreatModel = {
    ...(tm.name !== undefined ? { name: tm.name } : {}),
    knowledge: tm.knowledge,
    norm: tm.norm,
    eps,
    targeted: tm.targeted === false ? false : { targets: tm.targeted.targets },
    input: {
      bounds: [lower, upper],
      ...(tm.input.shape ? { shape: [...tm.input.shape] } : {}),
      ...(tm.input.preprocessing !== undefined ? { preprocessing: tm.input.preprocessing } : {}),
      ...(tm.input.mean && tm.input.std ? { mean: [...tm.input.mean], std: [...tm.input.std] } : {}),
      ...checked.fields,
    },
    ...(tm.model
      ? {
          model: {
            ...tm.model,
            ...(tm.model.feeds ? { feeds: Object.fromEntries(Object.entries(tm.model.feeds).map(([k, v]) => [k, typeof v === 'string' ? at(v) : v])) } : {}),
          },
        }
      : {}),
    ...(blackBox ? { query_budget: tm.query_budget ?? DEFAULT_QUERY_BUDGET } : {}),
    ...(tm.surrogate !== undefined ? { surrogate: at(tm.surrogate) } : {}),
    ...(tm.endpoint ? { endpoint: tm.endpoint } : {}),
    data,
    ...(tm.n !== undefined ? { n: tm.n } : {}),
    seed: tm.seed,
  };
  return deepFreeze(out);
}

/** What an endpoint can answer must fit the knowledge, and the endpoint needs a declared input shape. */
function checkEndpoint(tm: ThreatModelFields, fail: (field: string, message: string) => never): void {
  const endpoint = tm.endpoint!;
  if (tm.knowledge === 'white-box') {
    fail(
      'endpoint',
      `an endpoint gives scores or decisions, not gradients, so knowledge 'white-box' cannot be evaluated through it; use knowledge scores or decision, or evaluate the ONNX file`,
    );
  }
  if ((endpoint.outputs ?? 'logits') === 'label' && tm.knowledge === 'scores') {
    fail('endpoint.outputs', `the endpoint gives labels only (outputs: label), which allows knowledge 'decision' (or 'transfer'), not 'scores'`);
  }
  if (!tm.input.shape) {
    fail('input.shape', `input.shape is missing; with an endpoint it must give one example's shape (an endpoint cannot say what it expects), e.g. [1, 28, 28]`);
  }
  checkEndpointFields(endpoint, (field) => `endpoint.${field}`, fail);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The threat model with some fields replaced (e.g. from the command line), validated again. */
export function withOverrides(tm: ThreatModel, overrides: { n?: number; data?: DataSource; seed?: number }, where = 'command line'): ThreatModel {
  const merged = { ...tm, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  return validateThreatModel(merged, where);
}

/** What the model-dependent checks need to know. */
export interface ModelFacts {
  /** Input shape with the batch dimension first (null: dynamic). */
  readonly inputShape: readonly (number | null)[];
  readonly numClasses: number;
}

/**
 * Checks the threat model against a model: input.shape must be the model's example shape, and an
 * L2 budget must not exceed the diameter of the input domain.
 */
export function checkThreatModelFitsModel(tm: ThreatModel, model: ModelFacts, modelPath: string): void {
  const where = tm.name ? `'${tm.name}'` : '';
  const modelShape = model.inputShape.slice(1);
  const shape = tm.input.shape;
  if (shape) {
    const fits = shape.length === modelShape.length && shape.every((d, i) => modelShape[i] === null || modelShape[i] === d);
    if (!fits) {
      throw threatModelError(
        where,
        'input.shape',
        `input.shape [${shape.join(', ')}] does not fit ${modelPath}, whose input is [N, ${modelShape.map((d) => d ?? '?').join(', ')}]`,
      );
    }
  }
  checkChannelsFitModel(tm.input, model.inputShape, modelPath);
  if (tm.norm === 'l2') {
    const dims = (shape ?? modelShape).reduce<number>((a, d) => a * (d ?? 1), 1);
    const [lower, upper] = tm.input.bounds;
    const diameter = (upper - lower) * Math.sqrt(dims);
    const i = tm.eps.findIndex((e) => e > diameter);
    if (i >= 0) {
      throw threatModelError(
        where,
        `eps[${i}]`,
        `eps[${i}] = ${tm.eps[i]} is outside the input domain: the largest L2 distance between two inputs of ${dims} values in [${lower}, ${upper}] is ${diameter.toPrecision(4)}; valid: 0 ≤ ε ≤ ${diameter.toPrecision(4)}`,
      );
    }
  }
}

/** The threat model as a plain JSON object (for report.json and checkpoints). */
export function threatModelRecord(tm: ThreatModel): Record<string, unknown> {
  return JSON.parse(JSON.stringify(tm)) as Record<string, unknown>;
}
