/**
 * The body of POST /v1/predict as a batch of examples: JSON in the shape gibbon's own HTTP model
 * sends (`{"inputs": …}`: one example or a batch, nested like the example or flat), or a binary
 * .npy (one example, or a batch first). Bodies are untrusted: the walk never goes deeper than an
 * example's rank + 1, nothing is allocated before the row count is known to be within `maxBatch`,
 * and every value must be a finite number. Errors are `BadRequest`s whose message says what was
 * found and what is expected; the server answers them with 400.
 */
import { parseNpy, toFloat32 } from '../tensor/npy.js';
import { size, type Tensor } from '../tensor/tensor.js';

export class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'BadRequest';
  }
}

export interface BodyLimits {
  /** One example's shape (no batch axis), e.g. [1, 28, 28]. */
  readonly exampleShape: readonly number[];
  readonly maxBatch: number;
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** Lengths along the first axes of a nested array, descending at most `maxDepth` levels (first element only). */
function leadingDims(value: unknown, maxDepth: number): number[] {
  const dims: number[] = [];
  let v = value;
  while (Array.isArray(v) && dims.length < maxDepth) {
    dims.push(v.length);
    v = v[0];
  }
  return dims;
}

/** Copies a nested array of exactly `shape` into out at offset, checking every length and value. */
function fill(value: unknown, shape: readonly number[], out: Float32Array, offset: number, path: string): number {
  if (shape.length === 0) {
    if (typeof value !== 'number') throw new BadRequest(`${path} is ${value === null ? 'null (NaN?)' : typeof value}, not a number`);
    if (!Number.isFinite(value)) throw new BadRequest(`${path} is ${value}; inputs must be finite`);
    out[offset] = value;
    return offset + 1;
  }
  if (!Array.isArray(value) || value.length !== shape[0]) {
    const found = Array.isArray(value) ? `a list of ${value.length}` : value === null ? 'null' : typeof value;
    throw new BadRequest(`${path} is ${found}, expected a list of ${shape[0]}`);
  }
  const rest = shape.slice(1);
  for (let i = 0; i < value.length; i++) offset = fill(value[i], rest, out, offset, `${path}[${i}]`);
  return offset;
}

/** The examples of a JSON body: `{"inputs": X}` with X one example or a batch, nested or flat. */
export function examplesFromJson(body: unknown, limits: BodyLimits): Tensor {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequest('the body must be a JSON object with an "inputs" field');
  const inputs = (body as Record<string, unknown>)['inputs'];
  if (inputs === undefined) throw new BadRequest(`the body has no "inputs" field (found ${Object.keys(body).slice(0, 5).join(', ') || 'no fields'})`);
  const example = limits.exampleShape;
  const flat = size(example);
  const dims = leadingDims(inputs, example.length + 1);
  if (dims.length === 0) throw new BadRequest('"inputs" must be a list (one example or a batch of examples)');
  // Which layout: a batch of nested examples, one nested example, a batch of flat rows, one flat row.
  const matches = (d: readonly number[], s: readonly number[]): boolean => d.length === s.length && d.every((v, i) => v === s[i]);
  let rows: number;
  let rowShape: readonly number[];
  let single = false;
  if (dims.length === example.length + 1 && matches(dims.slice(1), example)) [rows, rowShape] = [dims[0]!, example];
  else if (matches(dims, example)) [rows, rowShape, single] = [1, example, true];
  else if (dims.length === 2 && dims[1] === flat && example.length !== 1) [rows, rowShape] = [dims[0]!, [flat]];
  else if (dims.length === 1 && dims[0] === flat) [rows, rowShape, single] = [1, [flat], true];
  else
    throw new BadRequest(
      `"inputs" has shape ${shapeText(dims)}...; expected one example ${shapeText(example)} (or ${flat} flat values), or a batch [N, ${example.join(', ')}] (or [N, ${flat}])`,
    );
  checkRows(rows, limits.maxBatch);
  const out = new Float32Array(rows * flat);
  if (single) fill(inputs, rowShape, out, 0, 'inputs');
  else fill(inputs, [rows, ...rowShape], out, 0, 'inputs');
  return { data: out, shape: [rows, ...example] };
}

function checkRows(rows: number, maxBatch: number): void {
  if (rows === 0) throw new BadRequest('"inputs" holds no examples');
  if (rows > maxBatch) throw new BadRequest(`the request holds ${rows} examples; at most ${maxBatch} per request`, 413);
}

/** The examples of a binary .npy body: one example shaped like it, or a batch first. */
export function examplesFromNpy(bytes: Uint8Array, limits: BodyLimits): Tensor {
  let t;
  try {
    t = parseNpy(bytes, 'the .npy body');
  } catch (e) {
    throw new BadRequest((e as Error).message);
  }
  if (t.type !== 'float32' && t.type !== 'float64') throw new BadRequest(`the .npy body has dtype ${t.type}; send float32 or float64`);
  const example = limits.exampleShape;
  const same = (a: readonly number[]): boolean => a.length === example.length && a.every((v, i) => v === example[i]);
  let rows: number;
  if (same(t.shape)) rows = 1;
  else if (same(t.shape.slice(1))) rows = t.shape[0]!;
  else throw new BadRequest(`the .npy body has shape ${shapeText(t.shape)}; expected ${shapeText(example)} or [N, ${example.join(', ')}]`);
  checkRows(rows, limits.maxBatch);
  const data = toFloat32(t);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw new BadRequest(`the .npy body holds ${data[i]} at flat index ${i}; inputs must be finite`);
  }
  return { data, shape: [rows, ...example] };
}
