/**
 * The vocabulary that travels with a text model: stored as JSON in the ONNX model's
 * metadata_props under the key `gibbon.text` (or in a sidecar JSON file of the same content).
 *
 * ```json
 * { "format": "gibbon.text/1", "unit": "word", "lowercase": true, "maxLength": 256,
 *   "overflow": "truncate", "padId": 0, "unknownId": 1, "tokens": ["<pad>", "<unk>", "the", …],
 *   "classes": ["ham", "spam"] }
 * ```
 *
 * Token id i is row i of the embedding table; `tokens[padId]` and `tokens[unknownId]` are
 * placeholders with no surface form. A text is split (tokenizer.ts), each token looked up (unknown
 * ones get `unknownId`), and the ids padded with `padId` to `maxLength`, the length the model
 * accepts. A longer text is cut to its first `maxLength` tokens (`overflow: "truncate"`, the
 * default) or refused (`"error"`). A text with no tokens is all padding.
 *
 * Loading checks the vocabulary against the model (`bindVocabulary`): one int64 input (batch,
 * length) whose length is `maxLength` or symbolic, read by a Gather from a float (rows, dim) table
 * with rows = the number of tokens. Anything else is a one-line error naming what does not fit.
 */
import { create } from '@bufbuild/protobuf';
import { StringStringEntryProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { ModelIR } from '../onnx/model.js';
import { decodeTensor } from '../onnx/tensor-proto.js';
import { readRegularFile } from '../tensor/regular-file.js';
import type { TextToken } from './classifier.js';
import { splitTokens, toTextTokens, type TokenUnit } from './tokenizer.js';

export const VOCABULARY_METADATA_KEY = 'gibbon.text';
export const VOCABULARY_FORMAT = 'gibbon.text/1';
export const PAD_TOKEN = '<pad>';
export const UNKNOWN_TOKEN = '<unk>';
/** Largest vocabulary and length gibbon accepts (rows of the table; tokens per text). */
export const MAX_VOCABULARY = 1 << 22;
export const MAX_TEXT_LENGTH = 1 << 16;
/** Largest sidecar vocabulary file (bytes). */
const MAX_VOCABULARY_BYTES = 256 * 1024 * 1024;

export interface TextVocabulary {
  readonly format: typeof VOCABULARY_FORMAT;
  readonly unit: TokenUnit;
  readonly lowercase: boolean;
  /** Tokens per text the model accepts (the input's length). */
  readonly maxLength: number;
  /** What a longer text gets: cut to maxLength tokens, or an error. */
  readonly overflow: 'truncate' | 'error';
  readonly padId: number;
  readonly unknownId: number;
  /** Surface form per id (placeholders at padId and unknownId). */
  readonly tokens: readonly string[];
  /** Class names, index = class id (optional). */
  readonly classes?: readonly string[];
}

export interface VocabularyBuildOptions {
  unit: TokenUnit;
  maxLength: number;
  /** Default true. */
  lowercase?: boolean;
  /** Keep at most this many tokens (most frequent first, ties by first appearance); default 20 000. */
  maxSize?: number;
  /** Keep tokens seen at least this often; default 2. */
  minCount?: number;
  overflow?: 'truncate' | 'error';
  classes?: readonly string[];
}

/** A vocabulary of the most frequent tokens of the (training) texts. */
export function buildVocabulary(texts: readonly string[], o: VocabularyBuildOptions): TextVocabulary {
  const lowercase = o.lowercase ?? true;
  const counts = new Map<string, number>();
  for (const text of texts) for (const t of splitTokens(text, o.unit, lowercase)) counts.set(t.text, (counts.get(t.text) ?? 0) + 1);
  const minCount = o.minCount ?? 2;
  const kept = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1]); // stable: first appearance breaks ties
  const tokens = [PAD_TOKEN, UNKNOWN_TOKEN, ...kept.slice(0, (o.maxSize ?? 20000) - 2).map(([t]) => t)];
  return checkVocabulary(
    {
      format: VOCABULARY_FORMAT,
      unit: o.unit,
      lowercase,
      maxLength: o.maxLength,
      overflow: o.overflow ?? 'truncate',
      padId: 0,
      unknownId: 1,
      tokens,
      classes: o.classes,
    },
    'vocabulary',
  );
}

/** Validates a parsed vocabulary JSON (from metadata or a sidecar); `where` names its source. */
export function checkVocabulary(v: unknown, where: string): TextVocabulary {
  const fail = (what: string): never => {
    throw new GibbonError('invalid_model', `${where}: ${what}`);
  };
  if (typeof v !== 'object' || v === null) return fail('the vocabulary is not a JSON object');
  const o = v as Record<string, unknown>;
  if (o.format !== VOCABULARY_FORMAT) fail(`format must be '${VOCABULARY_FORMAT}'; found ${JSON.stringify(o.format)}`);
  if (o.unit !== 'word' && o.unit !== 'char') fail(`unit must be 'word' or 'char'; found ${JSON.stringify(o.unit)}`);
  if (typeof o.lowercase !== 'boolean') fail('lowercase must be true or false');
  if (o.overflow !== 'truncate' && o.overflow !== 'error') fail(`overflow must be 'truncate' or 'error'; found ${JSON.stringify(o.overflow)}`);
  const int = (name: string, low: number, high: number): number => {
    const x = o[name];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < low || x > high)
      fail(`${name} must be an integer in [${low}, ${high}]; found ${JSON.stringify(x)}`);
    return x as number;
  };
  int('maxLength', 1, MAX_TEXT_LENGTH);
  if (!Array.isArray(o.tokens) || o.tokens.length < 2 || o.tokens.length > MAX_VOCABULARY || o.tokens.some((t) => typeof t !== 'string')) {
    fail(`tokens must be an array of 2 to ${MAX_VOCABULARY} strings`);
  }
  const rows = (o.tokens as string[]).length;
  const pad = int('padId', 0, rows - 1);
  const unk = int('unknownId', 0, rows - 1);
  if (pad === unk) fail('padId and unknownId must differ');
  if (o.classes !== undefined && (!Array.isArray(o.classes) || o.classes.some((c) => typeof c !== 'string'))) fail('classes must be an array of strings');
  return o as unknown as TextVocabulary;
}

/** The vocabulary stored in a model's metadata, or undefined when there is none. */
export function vocabularyOfModel(model: ModelIR): TextVocabulary | undefined {
  const entry = model.proto.metadataProps.find((p) => p.key === VOCABULARY_METADATA_KEY);
  if (!entry) return undefined;
  const where = `${model.path ?? 'model'} metadata '${VOCABULARY_METADATA_KEY}'`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry.value);
  } catch (e) {
    throw new GibbonError('invalid_model', `${where} is not valid JSON (${(e as Error).message})`, { path: model.path });
  }
  return checkVocabulary(parsed, where);
}

/** Reads a sidecar vocabulary JSON file. */
export function readVocabularyFile(path: string, option?: string): TextVocabulary {
  const bytes = readRegularFile(path, { what: 'vocabulary file', maxBytes: MAX_VOCABULARY_BYTES, option });
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new GibbonError('invalid_model', `${path} is not a UTF-8 JSON vocabulary (${(e as Error).message})`, { path, option });
  }
  return checkVocabulary(parsed, path);
}

/** A copy of the model with the vocabulary in its metadata (replacing one already there). */
export function withVocabulary(model: ModelIR, vocabulary: TextVocabulary): ModelIR {
  const metadataProps = [
    ...model.proto.metadataProps.filter((p) => p.key !== VOCABULARY_METADATA_KEY),
    create(StringStringEntryProtoSchema, { key: VOCABULARY_METADATA_KEY, value: JSON.stringify(vocabulary) }),
  ];
  return { proto: { ...model.proto, metadataProps }, graph: model.graph, opset: model.opset };
}

/** Where a vocabulary meets its model: the token-id input and the embedding lookup. */
export interface VocabularyBinding {
  readonly input: string;
  /** The Gather's table (an initializer) and its output, the embedded tokens (batch, length, dim). */
  readonly table: string;
  readonly embeddingOutput: string;
  readonly rows: number;
  readonly dim: number;
}

/** Checks that the vocabulary fits the model (see the file comment) and says where the embedding is. */
export function bindVocabulary(model: ModelIR, v: TextVocabulary): VocabularyBinding {
  const g = model.graph;
  const where = model.path ?? 'the model';
  const fail = (what: string): never => {
    throw new GibbonError('invalid_model', `vocabulary does not fit ${where}: ${what}`, { path: model.path });
  };
  const inputs = g.inputs.filter((i) => !g.initializers.has(i.name));
  if (inputs.length !== 1) fail(`a text model has one input (token ids); found ${inputs.length} (${inputs.map((i) => i.name).join(', ')})`);
  const input = inputs[0]!;
  if (input.dataType !== DT.INT64) fail(`input '${input.name}' must be int64 token ids; it has ONNX type ${input.dataType}`);
  const shape = input.shape;
  if (shape && shape.length !== 2) fail(`input '${input.name}' must be (batch, length); it has rank ${shape.length}`);
  const length = shape?.[1];
  if (typeof length === 'number' && length !== v.maxLength)
    fail(`input '${input.name}' takes ${length} tokens but the vocabulary's maxLength is ${v.maxLength}`);
  const gather = g.nodes.find((n) => n.opType === 'Gather' && n.domain === '' && n.inputs[1] === input.name);
  if (!gather) return fail(`no Gather node looks up input '${input.name}' in an embedding table`);
  const table = g.initializers.get(gather.inputs[0]!);
  if (!table) return fail(`the embedding table '${gather.inputs[0]}' of Gather '${gather.name}' is not an initializer`);
  if (table.dataType !== DT.FLOAT || table.dims.length !== 2)
    fail(`the embedding table '${table.name}' must be float32 (rows, dim); found type ${table.dataType}, rank ${table.dims.length}`);
  const axis = gather.attributes.find((a) => a.name === 'axis');
  if (axis && Number(axis.i) !== 0) fail(`Gather '${gather.name}' must look up rows (axis 0)`);
  const rows = Number(table.dims[0]);
  if (rows !== v.tokens.length) fail(`the embedding table '${table.name}' has ${rows} rows but the vocabulary has ${v.tokens.length} tokens`);
  return { input: input.name, table: table.name, embeddingOutput: gather.outputs[0]!, rows, dim: Number(table.dims[1]) };
}

/** The embedding table's values (rows × dim). */
export function embeddingValues(model: ModelIR, binding: VocabularyBinding): Float32Array {
  return Float32Array.from(decodeTensor(model.graph.initializers.get(binding.table)!).data as Float32Array);
}

/** A text's tokens as the model reads them: split, looked up, cut to maxLength (or refused, per `overflow`). */
export function tokenizeText(v: TextVocabulary, ids: ReadonlyMap<string, number>, text: string): TextToken[] {
  const surface = splitTokens(text, v.unit, v.lowercase, v.maxLength + 1);
  if (surface.length > v.maxLength) {
    if (v.overflow === 'error') {
      throw new GibbonError(
        'invalid_input',
        `text has more than ${v.maxLength} ${v.unit === 'word' ? 'words' : 'characters'}, the most the model accepts (${JSON.stringify(text.slice(0, 40))}…)`,
      );
    }
    surface.length = v.maxLength;
  }
  return toTextTokens(surface, ids, v.unknownId);
}

/** Token → id map of a vocabulary (placeholders excluded). */
export function tokenIds(v: TextVocabulary): Map<string, number> {
  const ids = new Map<string, number>();
  v.tokens.forEach((t, i) => {
    if (i !== v.padId && i !== v.unknownId && !ids.has(t)) ids.set(t, i);
  });
  return ids;
}

/** The (n, maxLength) int64 ids of tokenized texts, padded with padId. */
export function idMatrix(v: TextVocabulary, tokens: readonly (readonly TextToken[])[]): BigInt64Array {
  const out = new BigInt64Array(tokens.length * v.maxLength).fill(BigInt(v.padId));
  tokens.forEach((row, r) => row.forEach((t, j) => (out[r * v.maxLength + j] = BigInt(t.id))));
  return out;
}
