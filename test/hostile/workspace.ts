/**
 * The hostile suite's workspace, made synchronously when the suite loads so that the cases can be
 * generated from it: a model folder holding the linear model (inline and with external data), its
 * inputs and labels, and the special files a hostile model may point at (a FIFO, a directory,
 * symlinks out of the folder); and, outside the folder, a "secret" file whose bytes have exactly
 * the size of the model's weights, so that reading it would change the logits.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatNpy } from '../../src/tensor/npy.js';
import { CLASSES, FEATURES, W, encode, externalModel, linearLogits, linearModel, weightsFile } from './models.js';

export interface Workspace {
  readonly root: string;
  /** The model folder: model.onnx, x.npy, y.npy, weights.bin, fifo, dir/, links. */
  readonly models: string;
  readonly model: string;
  readonly x: Float32Array;
  readonly xPath: string;
  readonly yPath: string;
  readonly rows: number;
  /** Outside the model folder: 60 bytes, W then B, of a different classifier. */
  readonly secret: string;
  readonly secretW: Float32Array;
  readonly secretB: Float32Array;
  /** Environment variable set for the CLI runs, whose value must never show up in any output. */
  readonly canaryName: string;
  readonly canary: string;
}

export function argmaxRows(logits: readonly number[], classes = CLASSES): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / classes; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c]! > logits[r * classes + best]!) best = c;
    out.push(best);
  }
  return out;
}

export function makeWorkspace(): Workspace {
  const root = mkdtempSync(join(tmpdir(), 'gibbon-hostile-'));
  const models = join(root, 'models');
  mkdirSync(models);
  const rows = 10;
  const x = Float32Array.from({ length: rows * FEATURES }, (_, i) => ((i * 37) % 11) / 11);
  const y = argmaxRows(linearLogits(x));
  const xPath = join(models, 'x.npy');
  const yPath = join(models, 'y.npy');
  writeFileSync(xPath, formatNpy({ type: 'float32', data: x, shape: [rows, FEATURES] }));
  writeFileSync(yPath, formatNpy({ type: 'int64', data: BigInt64Array.from(y, BigInt), shape: [rows] }));
  const model = join(models, 'model.onnx');
  writeFileSync(model, encode(linearModel()));
  writeFileSync(join(models, 'weights.bin'), weightsFile());
  writeFileSync(
    join(models, 'external.onnx'),
    externalModel(
      { location: 'weights.bin', offset: '0', length: String(W.byteLength) },
      { location: 'weights.bin', offset: String(W.byteLength), length: '12' },
    ),
  );

  const secretW = Float32Array.from({ length: FEATURES * CLASSES }, (_, i) => (i % 2 ? 40 : -40) + i);
  const secretB = Float32Array.of(1000, -1000, 7);
  const secretBytes = new Uint8Array(secretW.byteLength + secretB.byteLength);
  secretBytes.set(new Uint8Array(secretW.buffer), 0);
  secretBytes.set(new Uint8Array(secretB.buffer), secretW.byteLength);
  const secret = join(root, 'secret.bin');
  writeFileSync(secret, secretBytes);
  // The same bytes inside the folder: the control case that shows a read of them changes the output.
  writeFileSync(join(models, 'inside.bin'), secretBytes);

  mkdirSync(join(models, 'dir'));
  mkdirSync(join(models, 'sub'));
  symlinkSync('../secret.bin', join(models, 'link-out.bin'));
  symlinkSync(secret, join(models, 'link-abs.bin'));
  symlinkSync('/dev/zero', join(models, 'link-zero.bin'));
  symlinkSync('/proc/self/environ', join(models, 'link-environ.bin'));
  symlinkSync('../..', join(models, 'sub', 'up'));
  symlinkSync('weights.bin', join(models, 'link-in.bin'));
  execFileSync('mkfifo', [join(models, 'fifo')]);
  return {
    root,
    models,
    model,
    x,
    xPath,
    yPath,
    rows,
    secret,
    secretW,
    secretB,
    canaryName: 'GIBBON_HOSTILE_CANARY',
    canary: `canary-${process.pid}-do-not-leak`,
  };
}
