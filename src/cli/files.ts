/**
 * The CLI's files: reading inputs and labels from .npy with checks that name the file and the
 * option, and making sure an output path can be written before any long computation starts.
 */
import { closeSync, existsSync, mkdirSync, openSync, statSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { GibbonError } from '../errors.js';
import { describeChannelDomain, uint8OntoChannels, type ChannelDomain } from '../model/channel-domain.js';
import { acquireLock, heldByThisProcess, LOCK_FILE, lockOutputFolder, type OutputLock } from '../storage/output-lock.js';
import { inputValues } from '../tensor/input-values.js';
import { readNpy } from '../tensor/npy.js';
import type { AnyTensor, Tensor } from '../tensor/tensor.js';

/** What the checks need to know about a model (OnnxModel has it). */
export interface ModelInputFacts {
  /** Input shape, batch first; null for dynamic dimensions. */
  readonly inputShape: readonly (number | null)[];
  readonly inputName: string;
  readonly numClasses: number;
}

function withOption(e: unknown, option: string): unknown {
  if (e instanceof GibbonError && !e.location.option) return new GibbonError(e.code, e.message, { ...e.location, option }, { cause: e });
  return e;
}

function readNpyFor(path: string, option: string): AnyTensor {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path}`, { path, option });
  if (statSync(path).isDirectory()) throw new GibbonError('invalid_npy', `${path} is a directory, not an .npy file`, { path, option });
  try {
    return readNpy(path);
  } catch (e) {
    throw withOption(e, option);
  }
}

function shapeText(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => d ?? '?').join(', ')}]`;
}

/** The position of flat index i in a C-order array of the given shape. */
function multiIndex(i: number, shape: readonly number[]): number[] {
  const out: number[] = [];
  for (let k = shape.length - 1; k >= 0; k--) {
    out.unshift(i % shape[k]!);
    i = Math.floor(i / shape[k]!);
  }
  return out;
}

export interface ModelInputs {
  readonly x: Tensor;
  /** Things worth telling the user (e.g. that uint8 pixels were scaled). */
  readonly notes: readonly string[];
}

/**
 * Reads model inputs: float32 or float64 values as they are, uint8 as pixels scaled by 1/255 (gibbon's
 * images live in [0, 1]). The shape must match the model input and every value must be finite.
 */
export function readModelInputs(path: string, option: string, model: ModelInputFacts, domain: readonly [number, number] | ChannelDomain = [0, 1]): ModelInputs {
  const t = readNpyFor(path, option);
  const channels = Array.isArray(domain) ? undefined : (domain as ChannelDomain);
  const values =
    t.type === 'uint8' && channels
      ? {
          data: uint8OntoChannels(t.data as Uint8Array, t.shape, channels),
          note: `note: ${path} holds uint8 values; mapped from 0…255 onto ${describeChannelDomain(channels)}`,
        }
      : inputValues(t, path, channels ? [0, 1] : (domain as readonly [number, number]));
  if (!values)
    throw new GibbonError('invalid_input', `${path} has dtype ${t.type}; inputs must be float32, float64 or uint8 (pixels, scaled by 1/255)`, { path, option });
  const { data } = values;
  const notes = values.note ? [values.note] : [];
  const expected = model.inputShape;
  const fits = t.shape.length === expected.length && expected.every((d, i) => i === 0 || d === null || d === t.shape[i]);
  if (!fits) {
    throw new GibbonError(
      'invalid_input',
      `${path} has shape ${shapeText(t.shape)} but model input '${model.inputName}' is ${shapeText(['N', ...expected.slice(1)])}`,
      { path, option },
    );
  }
  if (t.shape[0] === 0) throw new GibbonError('invalid_input', `${path} holds no examples (shape ${shapeText(t.shape)})`, { path, option });
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      throw new GibbonError(
        'invalid_input',
        `${path} contains ${Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf'} at index [${multiIndex(i, t.shape).join(', ')}]; inputs must be finite`,
        { path, option },
      );
    }
  }
  return { x: { data, shape: [...t.shape] }, notes };
}

/**
 * Reads class indices (labels or targets): an integer .npy with one entry per example, each a
 * class of the model.
 */
export function readClasses(path: string, option: string, examples: number, inputPath: string, numClasses: number): Int32Array {
  const what = option === '--target' ? 'target classes' : 'labels';
  const one = option === '--target' ? 'target class' : 'label';
  const t = readNpyFor(path, option);
  if (!['int64', 'int32', 'uint8', 'int8'].includes(t.type)) {
    throw new GibbonError('invalid_input', `${path} has dtype ${t.type}; ${what} must be integers (int64, int32, uint8 or int8)`, { path, option });
  }
  if (t.shape.length !== 1) {
    throw new GibbonError('invalid_input', `${path} has shape ${shapeText(t.shape)}; ${what} must be one per example, shape [${examples}]`, { path, option });
  }
  if (t.shape[0] !== examples) {
    throw new GibbonError('invalid_input', `${path} has ${t.shape[0]} ${what} but ${inputPath} has ${examples} examples`, { path, option });
  }
  const out = new Int32Array(examples);
  for (let i = 0; i < examples; i++) {
    const v = Number(t.data[i]!);
    if (v < 0 || v >= numClasses) {
      throw new GibbonError('invalid_input', `${path}: ${one} ${v} at index ${i} is not a class of this model (0…${numClasses - 1})`, { path, option });
    }
    out[i] = v;
  }
  return out;
}

function cannotWrite(path: string, option: string, why: string, cause?: unknown): GibbonError {
  return new GibbonError('file_unwritable', `cannot write ${option} ${path}: ${why}`, { path, option }, { cause });
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  if (code === 'ENOTDIR') return 'a parent of it is not a directory';
  if (code === 'ENOENT') return 'files cannot be created there';
  if (code === 'EISDIR') return 'it is a directory';
  return (e as Error).message;
}

/**
 * Fails now, not after the work, if `path` cannot be written as a file: its directory must exist,
 * and creating (or opening) the file must succeed. A file created by the probe is removed again.
 */
export function checkWritableFile(path: string, option: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw cannotWrite(path, option, `directory ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw cannotWrite(path, option, `${dir} is not a directory`);
  if (existsSync(path) && statSync(path).isDirectory()) throw cannotWrite(path, option, 'it is a directory');
  const existed = existsSync(path);
  try {
    closeSync(openSync(path, existed ? 'r+' : 'wx'));
  } catch (e) {
    throw cannotWrite(path, option, reason(e), e);
  }
  if (!existed) unlinkSync(path);
}

/** Creates the output folder `path` (and its parents) if needed, and checks that files can be made in it. */
export function prepareOutputFolder(path: string, option: string): void {
  if (existsSync(path) && !statSync(path).isDirectory()) throw cannotWrite(path, option, 'it exists and is not a folder');
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    throw cannotWrite(path, option, reason(e), e);
  }
  const probe = resolve(path, `.gibbon-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (e) {
    throw cannotWrite(path, option, reason(e), e);
  }
}

/** A file name for a tensor name: characters that are unsafe in file names are %-escaped (like URLs). */
export function fileNameFor(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, (c) =>
    [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
  return safe.startsWith('.') ? `%2E${safe.slice(1)}` : safe;
}

/** Keeps `lock` until this process exits (normally or through an error); a killed process leaves a stale lock, which the next run takes over. */
function holdUntilExit(lock: OutputLock): OutputLock {
  process.once('exit', () => lock.release());
  return lock;
}

/** A lock this process already holds (an earlier command in the same process): kept, and released at exit by its first holder. */
function alreadyHeld(path: string): OutputLock | undefined {
  return heldByThisProcess(path) ? { path, release: () => undefined } : undefined;
}

/**
 * Locks the output folder `path` (made by prepareOutputFolder) for this run, so that a second run
 * into it is refused instead of overwriting this one's checkpoint and report.
 */
export function lockOutputFolderForRun(path: string, option: string): OutputLock {
  return alreadyHeld(resolve(path, LOCK_FILE)) ?? holdUntilExit(lockOutputFolder(path, option));
}

/** Locks the output file `path` (and the files named after it, e.g. PATH.ckpt) through `PATH.lock` for this run. */
export function lockOutputFileForRun(path: string, option: string): OutputLock {
  return alreadyHeld(`${path}.lock`) ?? holdUntilExit(acquireLock(`${path}.lock`, { target: path, option }));
}

/** A path given on the command line and the option (or argument, e.g. MODEL) that gave it. */
export interface PathOption {
  readonly path: string | undefined;
  readonly option: string;
}

/**
 * Refuses an output that is one of the inputs: the same file (device and inode), whatever the
 * path says — `x.onnx` and `./x.onnx`, a symlink, a hard link. Writing it would destroy the input
 * (`predict M --out M` once replaced the model with its logits).
 */
export function checkOutputIsNotAnInput(output: PathOption, inputs: readonly PathOption[]): void {
  if (output.path === undefined) return;
  const out = statSync(output.path, { throwIfNoEntry: false });
  if (!out || !out.isFile()) return;
  for (const input of inputs) {
    if (input.path === undefined) continue;
    const other = statSync(input.path, { throwIfNoEntry: false });
    if (other && other.dev === out.dev && other.ino === out.ino) {
      const same = resolve(input.path) === resolve(output.path) ? '' : ' (the same file under another name)';
      throw new GibbonError(
        'invalid_option',
        `${output.option} ${output.path} is ${input.option} ${input.path}${same}; writing it would destroy that input: choose another ${output.option}`,
        { path: output.path, option: output.option },
      );
    }
  }
}
