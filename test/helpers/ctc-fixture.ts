/**
 * The CTC recogniser fixture (test/fixtures/ctc, made by tools/ctc/train_crnn.py): a conv-only
 * CRNN-style digit-line recogniser, 50 held-out rendered lines and their transcriptions, and the
 * deterministic targets the acceptance test forces.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpy } from '../../src/tensor/npy.js';
import type { Tensor } from '../../src/tensor/tensor.js';

export const CTC_FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'ctc');
export const CRNN_PATH = join(CTC_FIXTURES, 'crnn_digits.onnx');

export interface CtcLines {
  readonly x: Tensor;
  /** Ground truth of each line. */
  readonly texts: readonly string[];
  /** What the PyTorch model read on each line. */
  readonly predicted: readonly string[];
  readonly charset: string;
  readonly blank: number;
  readonly frames: number;
}

export function ctcLines(): CtcLines {
  const meta = JSON.parse(readFileSync(join(CTC_FIXTURES, 'lines.json'), 'utf8')) as {
    texts: string[];
    predicted: string[];
    charset: string;
    blank: number;
    frames: number;
  };
  const t = readNpy(join(CTC_FIXTURES, 'lines.x.npy'));
  return { x: { data: t.data as Float32Array, shape: t.shape }, ...meta };
}

/**
 * A target of the same length as `text`, every character changed: digit d at position j of line i
 * becomes d + 1 + ((i + j) mod 9), mod 10 (so it is never d).
 */
export function targetText(text: string, line: number, charset: string): string {
  return Array.from(text, (ch, j) => charset[(charset.indexOf(ch) + 1 + ((line + j) % 9)) % charset.length]!).join('');
}
