/**
 * The examples an evaluation runs on, as the threat model names them: MNIST's test split (shipped
 * with the package) or a pair of .npy files. Inputs must fit the model and lie in the threat
 * model's input domain; float32/float64 are used as they are and uint8 is mapped linearly from
 * 0…255 onto the threat model's input.bounds ([0, 1]: pixels / 255; [0, 255]: as they are). Errors name the threat-model field or command-line option.
 */
import { existsSync, statSync } from 'node:fs';
import { loadMnist } from '../data/mnist.js';
import { GibbonError } from '../errors.js';
import { inputValues } from '../tensor/input-values.js';
import { readNpy } from '../tensor/npy.js';
import type { AnyTensor, Tensor } from '../tensor/tensor.js';
import { toUnitSpace } from '../model/channel-domain.js';
import { channelDomainOf } from './channel-bounds.js';
import { MNIST_TEST, type ModelFacts, type ThreatModel } from './threat-model.js';

export interface EvaluationData {
  readonly x: Tensor;
  readonly labels: Int32Array;
  /** 'mnist-test' or the inputs' path, for reports. */
  readonly source: string;
  /** Things worth telling the user (e.g. that uint8 pixels were scaled). */
  readonly notes: readonly string[];
}

/** How the data's fields are called where the user wrote them (threat-model fields or CLI options). */
export interface DataFieldNames {
  readonly x: string;
  readonly labels: string;
  readonly n: string;
}

export const THREAT_MODEL_DATA_FIELDS: DataFieldNames = Object.freeze({ x: 'data.x', labels: 'data.labels', n: 'n' });

function shapeText(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => d ?? '?').join(', ')}]`;
}

function readFile(path: string, field: string): AnyTensor {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path} (${field})`, { path, option: field });
  if (statSync(path).isDirectory()) throw new GibbonError('invalid_npy', `${path} is a directory, not an .npy file (${field})`, { path, option: field });
  try {
    return readNpy(path);
  } catch (e) {
    if (e instanceof GibbonError) throw new GibbonError(e.code, `${e.message} (${field})`, { ...e.location, path, option: field }, { cause: e });
    throw e;
  }
}

export function checkFits(shape: readonly number[], model: ModelFacts, what: string, field: string, path?: string): void {
  const expected = model.inputShape.slice(1);
  const got = shape.slice(1);
  if (shape.length !== model.inputShape.length || expected.some((d, i) => d !== null && d !== got[i])) {
    throw new GibbonError('invalid_input', `${what} has shape ${shapeText(shape)} but the model input is ${shapeText(['N', ...expected])} (${field})`, {
      path,
      option: field,
    });
  }
}

/** Checks x against the input domain; under per-channel bounds, returns it mapped into the unit space attacks run in. */
export function checkDomain(x: Tensor, tm: ThreatModel, what: string, field: string, path?: string, unit = false): Tensor {
  const domain = channelDomainOf(tm.input);
  if (domain && !unit) {
    checkFinite(x, what, field, path);
    return toUnitSpace(x, domain, what, field);
  }
  const [lower, upper] = tm.input.bounds;
  for (let i = 0; i < x.data.length; i++) {
    const v = x.data[i]!;
    if (!Number.isFinite(v)) {
      throw new GibbonError('invalid_input', `${what} contains ${Number.isNaN(v) ? 'NaN' : 'Inf'} at flat index ${i}; inputs must be finite (${field})`, {
        path,
        option: field,
      });
    }
    if (v < lower || v > upper) {
      throw new GibbonError(
        'invalid_input',
        `${what} has value ${v} at flat index ${i}, outside the threat model's input.bounds [${lower}, ${upper}]; scale the data or change input.bounds (${field})`,
        { path, option: field },
      );
    }
  }
  return x;
}

function checkFinite(x: Tensor, what: string, field: string, path?: string): void {
  const i = x.data.findIndex((v) => !Number.isFinite(v));
  if (i >= 0) {
    const v = x.data[i]!;
    throw new GibbonError('invalid_input', `${what} contains ${Number.isNaN(v) ? 'NaN' : 'Inf'} at flat index ${i}; inputs must be finite (${field})`, {
      path,
      option: field,
    });
  }
}

function takeFirst(n: number | undefined, available: number, what: string, field: string): number {
  if (n === undefined) return available;
  if (n > available)
    throw new GibbonError('invalid_option', `n = ${n} but ${what} holds ${available} examples; valid: 1 … ${available} (${field})`, { option: field });
  return n;
}

/** Loads the threat model's data (first n examples) and checks it against the model and the input domain. */
export function loadEvaluationData(tm: ThreatModel, model: ModelFacts, fields: DataFieldNames = THREAT_MODEL_DATA_FIELDS): EvaluationData {
  if (tm.data === MNIST_TEST) {
    checkFits([1, 1, 28, 28], model, `${MNIST_TEST} (MNIST images)`, fields.x);
    const n = takeFirst(tm.n, 10000, MNIST_TEST, fields.n);
    const { x, y } = loadMnist('test', { limit: n });
    const unit = checkDomain(x, tm, MNIST_TEST, fields.x);
    checkLabels(y, model.numClasses, MNIST_TEST, fields.labels);
    return { x: unit, labels: y, source: MNIST_TEST, notes: [] };
  }
  const { x: xPath, labels: yPath } = tm.data;
  const t = readFile(xPath, fields.x);
  const values = inputValues(t, xPath, tm.input.bounds);
  if (!values) {
    throw new GibbonError(
      'invalid_input',
      `${xPath} has dtype ${t.type}; inputs must be float32, float64 or uint8 (mapped from 0…255 onto input.bounds) (${fields.x})`,
      { path: xPath, option: fields.x },
    );
  }
  const { data } = values;
  // Under per-channel bounds the domain is the unit space: 0…255 onto each channel's range is v / 255 there.
  const note = values.note && channelDomainOf(tm.input) ? `note: ${xPath} holds uint8 values; mapped from 0…255 onto each channel's range` : values.note;
  const notes = note ? [note] : [];
  checkFits(t.shape, model, xPath, fields.x, xPath);
  if (tm.input.shape) {
    const own = t.shape.slice(1);
    if (own.length !== tm.input.shape.length || own.some((d, i) => d !== tm.input.shape![i])) {
      throw new GibbonError(
        'invalid_input',
        `${xPath} has examples of shape ${shapeText(own)} but the threat model's input.shape is ${shapeText(tm.input.shape)} (${fields.x})`,
        {
          path: xPath,
          option: fields.x,
        },
      );
    }
  }
  const available = t.shape[0]!;
  if (available === 0) throw new GibbonError('invalid_input', `${xPath} holds no examples (${fields.x})`, { path: xPath, option: fields.x });
  const n = takeFirst(tm.n, available, xPath, fields.n);
  const row = data.length / available;
  const x = checkDomain({ data: data.slice(0, n * row), shape: [n, ...t.shape.slice(1)] }, tm, xPath, fields.x, xPath, t.type === 'uint8');

  const l = readFile(yPath, fields.labels);
  if (!['int64', 'int32', 'uint8', 'int8'].includes(l.type)) {
    throw new GibbonError('invalid_input', `${yPath} has dtype ${l.type}; labels must be integers (int64, int32, uint8 or int8) (${fields.labels})`, {
      path: yPath,
      option: fields.labels,
    });
  }
  if (l.shape.length !== 1 || l.shape[0] !== available) {
    throw new GibbonError(
      'invalid_input',
      `${yPath} has shape ${shapeText(l.shape)}; expected one label per example of ${xPath}, shape [${available}] (${fields.labels})`,
      {
        path: yPath,
        option: fields.labels,
      },
    );
  }
  const labels = Int32Array.from({ length: n }, (_, i) => Number(l.data[i]!));
  checkLabels(labels, model.numClasses, yPath, fields.labels);
  return { x, labels, source: xPath, notes };
}

export function checkLabels(labels: Int32Array, numClasses: number, what: string, field: string): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v < 0 || v >= numClasses) {
      throw new GibbonError('invalid_input', `${what}: label ${v} at index ${i} is not a class of this model (0…${numClasses - 1}) (${field})`, {
        option: field,
      });
    }
  }
}
