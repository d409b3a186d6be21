/**
 * Hostile .npy inputs and labels (`gibbon predict model.onnx --input X --labels Y`) and hostile threat
 * models (`gibbon eval model.onnx --threat T`): every case ends in one line naming the file or the
 * option (or the threat-model field), or succeeds with the right numbers.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatNpy } from '../../src/tensor/npy.js';
import { literal, seeded, type HostileCase, type HostileContext } from './case.js';
import { assertCleanFailure, assertCleanOutcome, assertCleanSuccess } from './harness.js';
import { FEATURES, linearLogits } from './models.js';
import { argmaxRows } from './workspace.js';

let counter = 0;
const unique = (stem: string, ext: string): string => `${stem.replace(/[^a-z0-9]+/gi, '-')}-${++counter}.${ext}`;

/** A version-1 (or 2) .npy file with this header text and data. */
function npy(header: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let text = header;
  text += ' '.repeat((64 - ((pre + text.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 78, 85, 77, 80, 89, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i) & 0xff;
  out.set(data, pre + text.length);
  return out;
}

const f32 = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
const rows = (n: number): number[] => Array.from({ length: n * FEATURES }, (_, i) => ((i * 13) % 7) / 7);

function inputCase(name: string, bytes: Uint8Array | (() => Uint8Array), pattern?: RegExp): HostileCase {
  return {
    group: 'npy',
    name,
    async run(ctx) {
      const file = unique(`x-${name}`, 'npy');
      writeFileSync(join(ctx.ws.models, file), typeof bytes === 'function' ? bytes() : bytes);
      const r = await ctx.gibbon(['predict', 'model.onnx', '--input', file]);
      assertCleanFailure(r, pattern ?? literal(file), file);
      assert.match(r.stderr, /--input|x-/, `${file}: the error names the file or the option`);
    },
  };
}

function labelCase(name: string, bytes: Uint8Array, pattern: RegExp): HostileCase {
  return {
    group: 'npy',
    name: `labels: ${name}`,
    async run(ctx) {
      const file = unique(`y-${name}`, 'npy');
      writeFileSync(join(ctx.ws.models, file), bytes);
      const r = await ctx.gibbon(['predict', 'model.onnx', '--input', 'x.npy', '--labels', file]);
      assertCleanFailure(r, pattern, file);
      assert.match(r.stderr, /--labels|y-/, `${file}: the error names the file or the option`);
    },
  };
}

export function npyCases(): HostileCase[] {
  const header = (descr: string, shape: string, fortran = 'False'): string => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const cases: HostileCase[] = [
    inputCase('bad magic', new TextEncoder().encode('\x93NUMPZ\x01\x00hello world')),
    inputCase('empty file', new Uint8Array(0)),
    inputCase('format version 9', npy(header('<f4', '(1, 4)'), f32(rows(1)), 9), /version 9/),
    inputCase(
      'a 200 KB header',
      () => npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), 'pad': '${'x'.repeat(200_000)}'}`, f32(rows(1)), 2),
      /header/,
    ),
    inputCase(
      'a header length beyond the file',
      () => {
        const b = npy(header('<f4', '(1, 4)'), f32(rows(1)));
        new DataView(b.buffer).setUint16(8, 60_000, true);
        return b;
      },
      /truncated/,
    ),
    inputCase('negative shape', npy(header('<f4', '(-1, 4)'), f32(rows(1))), /shape entries must be non-negative integers/),
    inputCase('fractional shape', npy(header('<f4', '(1.5, 4)'), f32(rows(1))), /expected , or \)/),
    inputCase('shape of 10^15 rows', npy(header('<f4', '(1000000000000000, 4)'), f32(rows(1))), /more data than|truncated/),
    inputCase('shape entry beyond 2^53', npy(header('<f4', '(99999999999999999999, 4)'), f32(rows(1))), /too large/),
    inputCase('header declares more data than the file holds', npy(header('<f4', '(100, 4)'), f32(rows(1))), /truncated/),
    inputCase('Fortran order', npy(header('<f4', '(1, 4)', 'True'), f32(rows(1))), /Fortran/),
    inputCase('big-endian float32', npy(header('>f4', '(1, 4)'), f32(rows(1))), /'>f4'/),
    inputCase('complex128', npy(header('<c16', '(1, 4)'), new Uint8Array(64)), /'<c16'/),
    inputCase('object dtype (pickle)', npy(header('|O', '(1, 4)'), new Uint8Array(32)), /'\|O'/),
    inputCase('a header that is an expression', npy("__import__('os').system('true')"), /malformed/),
    inputCase(
      'a header with a duplicate key',
      npy(`{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1, 4), }`, f32(rows(1))),
      /duplicate key/,
    ),
    inputCase('a header without shape', npy(`{'descr': '<f4', 'fortran_order': False}`, f32(rows(1))), /shape/),
    inputCase('a header with an unknown key', npy(`{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), 'evil': 1}`, f32(rows(1))), /malformed|evil/),
    inputCase('NaN values', npy(header('<f4', '(2, 4)'), f32([...rows(1), 0, Number.NaN, 0, 0])), /NaN/),
    inputCase('infinite values', npy(header('<f4', '(2, 4)'), f32([...rows(1), 0, 0, Number.POSITIVE_INFINITY, 0])), /finite|Inf/),
    inputCase('wrong shape for the model', npy(header('<f4', '(2, 5)'), f32(Array(10).fill(0))), /shape/),
    inputCase('rank 1', npy(header('<f4', '(4,)'), f32(rows(1))), /shape/),
    inputCase('int64 inputs', npy(header('<i8', '(1, 4)'), new Uint8Array(32)), /int64|dtype/),
    inputCase('zero rows', npy(header('<f4', '(0, 4)')), /0 examples|no examples|empty|zero|shape/),
    labelCase('float labels', npy(header('<f4', '(10,)'), f32(Array(10).fill(1))), /float32|integer/),
    labelCase('a class the model does not have', formatNpy({ type: 'int64', data: BigInt64Array.from({ length: 10 }, () => 7n), shape: [10] }), /7/),
    labelCase('a negative class', formatNpy({ type: 'int64', data: BigInt64Array.from({ length: 10 }, () => -1n), shape: [10] }), /-1/),
    labelCase('wrong count', formatNpy({ type: 'int64', data: BigInt64Array.from({ length: 3 }, () => 0n), shape: [3] }), /3/),
    {
      group: 'npy',
      name: 'input is a FIFO',
      run: async (ctx) => assertCleanFailure(await ctx.gibbon(['predict', 'model.onnx', '--input', 'fifo']), /fifo/, 'fifo'),
    },
    {
      group: 'npy',
      name: 'input is /dev/zero',
      run: async (ctx) => assertCleanFailure(await ctx.gibbon(['predict', 'model.onnx', '--input', '/dev/zero']), /\/dev\/zero/, '/dev/zero'),
    },
    {
      group: 'npy',
      name: 'float64 and uint8 inputs give the same predictions as float32 (control)',
      async run(ctx) {
        const x = Float64Array.from(rows(3));
        writeFileSync(join(ctx.ws.models, 'x64.npy'), formatNpy({ type: 'float64', data: x, shape: [3, FEATURES] }));
        const r = await ctx.gibbon(['predict', 'model.onnx', '--input', 'x64.npy']);
        assertCleanSuccess(r, 'float64');
        assert.match(r.stdout, new RegExp(`predictions: ${argmaxRows(linearLogits(Float32Array.from(x))).join(' ')}`));
      },
    },
  ];
  for (let seed = 1; seed <= 8; seed++) {
    cases.push({
      group: 'npy',
      name: `bit flips in a valid .npy (seed ${seed})`,
      async run(ctx) {
        const rng = seeded(1000 + seed);
        const bytes = formatNpy({ type: 'float32', data: Float32Array.from(rows(2)), shape: [2, FEATURES] }).slice();
        // Flip inside the header: the data bytes would only change values.
        for (let k = 0; k < 2; k++) bytes[Math.floor(rng() * 70)]! ^= 1 << Math.floor(rng() * 8);
        const file = unique(`x-flipped-${seed}`, 'npy');
        writeFileSync(join(ctx.ws.models, file), bytes);
        assertCleanOutcome(await ctx.gibbon(['predict', 'model.onnx', '--input', file]), file);
      },
    });
  }
  return cases;
}

const THREAT_BASE = ['knowledge: white-box', 'norm: linf', 'eps: [0.1]', 'input: { bounds: [0, 1], shape: [4] }', 'data: { x: x.npy, labels: y.npy }', 'n: 4'];

function threatCase(name: string, text: string | (() => string), pattern: RegExp, ext = 'yaml'): HostileCase {
  return {
    group: 'threat-model',
    name,
    async run(ctx: HostileContext) {
      const file = unique(`tm-${name}`, ext);
      writeFileSync(join(ctx.ws.models, file), typeof text === 'function' ? text() : text);
      const r = await ctx.gibbon(['eval', 'model.onnx', '--threat', file, '--attacks', 'fgsm', '--out', unique('out-tm', 'd')]);
      assertCleanFailure(r, pattern, file);
    },
  };
}

const withLine = (drop: string, ...extra: string[]): string => [...THREAT_BASE.filter((l) => !l.startsWith(drop)), ...extra].join('\n');

export function threatModelCases(): HostileCase[] {
  const bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++)
    bomb.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
        .fill(`*${String.fromCharCode(96 + i)}`)
        .join(',')}]`,
    );
  return [
    threatCase('an alias bomb (billion laughs)', () => [...THREAT_BASE, ...bomb].join('\n'), /alias|a|b|c|d|e|f|g|h|i|j/),
    threatCase('eps as text', withLine('eps', 'eps: lots'), /eps/),
    threatCase('eps 1e308', withLine('eps', 'eps: [1e308]'), /eps/),
    threatCase('eps negative', withLine('eps', 'eps: [-0.1]'), /eps/),
    threatCase('eps .nan', withLine('eps', 'eps: [.nan]'), /eps/),
    threatCase('n negative', withLine('n:', 'n: -5'), /\bn\b/),
    threatCase('n fractional', withLine('n:', 'n: 1.5'), /\bn\b/),
    threatCase('n 10^12', withLine('n:', 'n: 1000000000000'), /\bn\b|examples/),
    threatCase('an unknown norm', withLine('norm', 'norm: l7'), /norm/),
    threatCase('an unknown knowledge', withLine('knowledge', 'knowledge: omniscient'), /knowledge/),
    threatCase('an unknown field', withLine('zzz', 'exploit: true'), /exploit/),
    threatCase('seed as a mapping', withLine('zzz', 'seed: { a: 1 }'), /seed/),
    threatCase('bounds reversed', withLine('input', 'input: { bounds: [1, 0], shape: [4] }'), /bounds/),
    threatCase('shape with a negative dim', withLine('input', 'input: { bounds: [0, 1], shape: [-4] }'), /shape/),
    threatCase('shape 10^9 x 10^9', withLine('input', 'input: { bounds: [0, 1], shape: [1000000000, 1000000000] }'), /shape/),
    threatCase('YAML nested 10 000 deep', () => `${THREAT_BASE.join('\n')}\nextra: ${'['.repeat(10_000)}${']'.repeat(10_000)}`, /extra|nest|deep|YAML|yaml/),
    threatCase('JSON nested 100 000 deep', () => `{"knowledge": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`, /knowledge|nest|deep|JSON/, 'json'),
    threatCase('a 10 MB threat model', () => `${THREAT_BASE.join('\n')}\n# ${'x'.repeat(10_000_000)}\nbogus: 1`, /bogus|large|size|bytes/),
    threatCase('binary garbage', () => String.fromCharCode(...Array.from({ length: 512 }, (_, i) => (i * 31) % 256)), /./),
    threatCase('not a mapping', '- 1\n- 2\n', /mapping|object/),
    threatCase('a collection as a key (no library warning on stderr)', withLine('zzz', '? [1, 2]', ': x'), /field|key/),
    threatCase('data.x escaping to /etc/passwd', withLine('data', 'data: { x: /etc/passwd, labels: y.npy }'), /\/etc\/passwd/),
    threatCase('data.x is /dev/zero', withLine('data', 'data: { x: /dev/zero, labels: y.npy }'), /\/dev\/zero/),
    threatCase('data.x is a FIFO', withLine('data', 'data: { x: fifo, labels: y.npy }'), /fifo/),
    threatCase('data.x climbing out with ../', withLine('data', 'data: { x: ../../../../../../etc/shadow, labels: y.npy }'), /shadow/),
    threatCase('surrogate pointing at /etc/passwd', withLine('knowledge', 'knowledge: transfer', 'surrogate: /etc/passwd'), /passwd|surrogate/),
    threatCase(
      'JSON with a prototype-polluting key',
      () =>
        JSON.stringify({ knowledge: 'white-box', norm: 'linf', eps: [0.1], __proto__: { polluted: 1 }, constructor: { prototype: { x: 1 } } }).replace(
          '"eps"',
          '"__proto__":{"admin":true},"eps"',
        ),
      /__proto__|constructor|field/,
      'json',
    ),
    {
      group: 'threat-model',
      name: 'threat model path is a FIFO',
      run: async (ctx) => assertCleanFailure(await ctx.gibbon(['eval', 'model.onnx', '--threat', 'fifo', '--out', unique('out-fifo', 'd')]), /fifo/, 'fifo'),
    },
    {
      group: 'threat-model',
      name: 'a valid threat model evaluates (control)',
      async run(ctx) {
        const file = unique('tm-valid', 'yaml');
        writeFileSync(join(ctx.ws.models, file), THREAT_BASE.join('\n'));
        const r = await ctx.gibbon(['eval', 'model.onnx', '--threat', file, '--attacks', 'fgsm', '--out', unique('out-valid', 'd')]);
        assertCleanSuccess(r, file);
        assert.match(r.stdout, /clean accuracy\s+100(\.0+)?%|100\.0%/i);
      },
    },
  ];
}
