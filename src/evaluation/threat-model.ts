/**
 * The threat model: what the attacker knows and may change, written down before any attack runs.
 * A YAML or JSON file (or a built-in preset) is validated with a zod schema; every error names
 * the field (`eps[2]`, `input.bounds`) and says what would be valid. Field names are snake_case
 * because this is a file format (like report.json).
 *
 * ```yaml
 * knowledge: white-box          # white-box | scores | decision | transfer
 * norm: linf                    # linf | l2
 * eps: [0.1, 0.2, 0.3]          # budgets, sorted and de-duplicated when read
 * targeted: false               # or { targets: random } or { targets: least-likely }
 * input:
 *   bounds: [0, 1]              # the input domain; every adversarial example stays inside
 *   shape: [1, 28, 28]          # one example, no batch dimension (optional; checked against the model)
 *   preprocessing: pixels / 255 # free text, recorded in the report
 * query_budget: 5000            # black-box knowledge only: queries per example and attack
 * surrogate: surrogate.onnx     # transfer knowledge only: the model the attacker differentiates
 * endpoint:                     # black-box knowledge only: the model is an HTTP endpoint, not a file
 *   url: http://127.0.0.1:8080/predict
 *   outputs: logits             # logits | probabilities | label (docs/remote-models.md has every field)
 * data: mnist-test              # or { x: x.npy, labels: y.npy } (paths relative to this file)
 * n: 1000                       # first n examples (default: all)
 * seed: 0
 * ```
 *
 * Targets of a targeted threat model are chosen per example: `random` draws a class other than the
 * label from a stream derived from (seed, example index), so every run and every resumed run picks
 * the same targets; `least-likely` takes the class with the lowest clean score. (Attacking every
 * class in turn is what the `apgd-t` attack does inside an untargeted evaluation.)
 *
 * With `endpoint`, the model under evaluation answers over HTTP (model/remote/http-model.ts):
 * it gives scores or decisions, never gradients, so white-box knowledge is refused, and a
 * label-only endpoint (`outputs: label`) allows decision knowledge only. `input.shape` is then
 * required (an endpoint cannot say what it expects). Fields the endpoint section leaves out take
 * HttpModel's defaults; the section is recorded in reports as written, so secrets belong in
 * `auth.env` (the name of an environment variable), never in `url` or `headers`.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { GibbonError } from '../errors.js';
import type { NormName } from '../norms/norm.js';
import { MNIST_TEST, THREAT_MODEL_LIMITS as L, threatModelError, WHOLE_FILE, type InputDomain, type ThreatModel } from './threat-model-schema.js';
import { validateThreatModel } from './threat-model-validation.js';

export {
  ALLOWED_ORACLES,
  DEFAULT_QUERY_BUDGET,
  KNOWLEDGE,
  MNIST_TEST,
  TARGET_CHOICES,
  THREAT_MODEL_FIELDS,
  THREAT_MODEL_LIMITS,
  type DataSource,
  type Endpoint,
  type InputDomain,
  type Knowledge,
  type ModelInterface,
  type TargetChoice,
  type ThreatModel,
} from './threat-model-schema.js';
export { checkThreatModelFitsModel, threatModelRecord, validateThreatModel, withOverrides, type ModelFacts } from './threat-model-validation.js';

/** Parses the text of a threat-model file: JSON for `.json`, YAML otherwise (YAML also reads JSON). */
export function parseThreatModel(text: string, where = '', options: { baseDir?: string; path?: string; json?: boolean } = {}): ThreatModel {
  return validateThreatModel(parseThreatModelValue(text, where, options), where, options);
}

/** The value of a threat-model file's text (JSON or YAML, size, depth and alias limits checked), not yet validated. */
export function parseThreatModelValue(text: string, where = '', options: { path?: string; json?: boolean } = {}): unknown {
  let value: unknown;
  if (options.json) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw threatModelError(where, '', `is not valid JSON: ${(e as Error).message}`, options.path);
    }
  } else {
    const tooDeep = (): GibbonError =>
      threatModelError(where, '', `nests lists or mappings too deeply (a threat model is at most ${L.depth} levels deep)`, options.path);
    // The yaml library is super-linear in the depth of flow collections ({a: {a: …}}); one linear
    // scan refuses deep nesting before it parses.
    if (flowDepth(text) > 2 * L.depth) throw tooDeep();
    let doc: ReturnType<typeof parseDocument>;
    try {
      doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
    } catch (e) {
      if (e instanceof RangeError) throw tooDeep();
      throw e;
    }
    if (doc.errors.length > 0) {
      const error = doc.errors[0]!;
      if (/call stack/i.test(error.message)) throw tooDeep();
      const pos = error.linePos?.[0];
      const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw threatModelError(where, '', `is not valid YAML: ${message}${pos ? ` (line ${pos.line}, column ${pos.col})` : ''}`, options.path);
    }
    try {
      value = doc.toJS({ maxAliasCount: L.yamlAliases });
    } catch (e) {
      if (e instanceof RangeError) throw tooDeep();
      // The yaml library stops expanding aliases past maxAliasCount (a "billion laughs" file).
      if (e instanceof ReferenceError && /excessive alias count/i.test(e.message)) {
        throw threatModelError(
          where,
          '',
          `expands YAML aliases (*name) more than ${L.yamlAliases} times, as a "billion laughs" file does; write the values out instead`,
          options.path,
        );
      }
      throw threatModelError(where, '', `is not valid YAML: ${(e as Error).message}`, options.path);
    }
  }
  if (value === null || value === undefined) throw threatModelError(where, '', `is empty; it must be ${WHOLE_FILE}`, options.path);
  if (nestingDepth(value) > L.depth) {
    throw threatModelError(where, '', `nests lists or mappings more than ${L.depth} levels deep; a threat model needs a few`, options.path);
  }
  return value;
}

/** The deepest nesting of flow brackets ([ and {) outside quoted strings and comments, in one pass. */
function flowDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    // A quote opens a quoted scalar only where a token starts (not the apostrophe in it's).
    if ((c === '"' || c === "'") && (i === 0 || /[\s:,[{]/.test(text[i - 1]!))) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') deepest = Math.max(deepest, ++depth);
    else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return deepest;
}

/** How deeply arrays and objects nest in `value` (0 for a scalar), without recursion. */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    deepest = Math.max(deepest, d + 1);
    if (deepest > L.depth) return deepest;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** The text of a file of at most `limit` bytes (read no further, whatever its size says: it may be a device or still growing). */
function readSmallFile(path: string, limit: number): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (;;) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > limit) return undefined;
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/** Reads a threat-model file (YAML or JSON). */
export function readThreatModel(path: string): ThreatModel {
  const { text, baseDir, json } = readThreatModelText(path);
  return parseThreatModel(text, path, { baseDir, path, json });
}

/** The text of a threat-model file, its folder and whether it is JSON (existence, kind and size checked). */
export function readThreatModelText(path: string): { readonly text: string; readonly baseDir: string; readonly json: boolean } {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `threat model file not found: ${path}`, { path });
  const stat = statSync(path);
  if (stat.isDirectory()) throw new GibbonError('invalid_threat_model', `${path} is a directory, not a threat-model file`, { path });
  if (!stat.isFile())
    throw new GibbonError('invalid_threat_model', `${path} is not a regular file (a device, pipe or socket); a threat model is a YAML or JSON file`, { path });
  const text = stat.size <= L.fileBytes ? readSmallFile(path, L.fileBytes) : undefined;
  if (text === undefined) {
    throw new GibbonError(
      'invalid_threat_model',
      `${path} is larger than ${L.fileBytes / 1024 / 1024} MiB (${stat.size} bytes); a threat model is a short YAML or JSON file`,
      { path },
    );
  }
  return { text, baseDir: dirname(resolve(path)), json: extname(path).toLowerCase() === '.json' };
}

/** A threat-model file's parsed (not yet validated) value and folder; undefined when `path` cannot be read as one (a preset name, a missing file). */
export function readThreatModelValue(path: string): { readonly value: unknown; readonly baseDir: string } | undefined {
  let read: ReturnType<typeof readThreatModelText>;
  try {
    read = readThreatModelText(path);
  } catch {
    return undefined;
  }
  return { value: parseThreatModelValue(read.text, path, { path, json: read.json }), baseDir: read.baseDir };
}

const MNIST_INPUT: InputDomain = { bounds: [0, 1], shape: [1, 28, 28], preprocessing: 'pixels / 255 (MNIST IDX bytes); no mean/std normalisation' };

function preset(name: string, norm: NormName, eps: number[]): [string, ThreatModel] {
  return [
    name,
    validateThreatModel({ name, knowledge: 'white-box', norm, eps, targeted: false, input: MNIST_INPUT, data: MNIST_TEST, n: 1000, seed: 0 }, `preset ${name}`),
  ];
}

/** Built-in threat models: white-box, untargeted, the first 1000 MNIST test images, seed 0. */
export const THREAT_MODEL_PRESETS: ReadonlyMap<string, ThreatModel> = new Map([
  // Madry et al. 2018's MNIST budget, with two smaller budgets for the curve.
  preset('mnist-linf-0.3', 'linf', [0.1, 0.2, 0.3]),
  preset('mnist-linf-0.1', 'linf', [0.05, 0.1]),
  // Common L2 budgets for MNIST (e.g. Croce & Hein 2020 report ε = 2).
  preset('mnist-l2-2.0', 'l2', [0.5, 1, 1.5, 2]),
]);

export const DEFAULT_THREAT_MODEL = 'mnist-linf-0.3';

/** A preset by name, or else a file; errors list the presets. */
export function loadThreatModel(presetOrFile: string): ThreatModel {
  const found = THREAT_MODEL_PRESETS.get(presetOrFile);
  if (found) return found;
  if (!existsSync(presetOrFile)) {
    throw new GibbonError(
      'file_not_found',
      `'${presetOrFile}' is neither a threat-model preset (${[...THREAT_MODEL_PRESETS.keys()].join(', ')}) nor an existing file`,
      { path: presetOrFile, option: 'threat' },
    );
  }
  return readThreatModel(presetOrFile);
}
