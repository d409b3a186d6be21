/**
 * Hostile ONNX models and external data. Each case writes one model file into the model folder and
 * runs `gibbon predict` (or `info`) on it: the run must end in a one-line error naming the file (or
 * the node, or the external-data location), or give the exact logits of the linear model.
 *
 * Confinement is proved, not assumed: the secret file outside the folder holds the weights of a
 * different classifier with exactly the size of W and B; the control case loads the same bytes from
 * inside the folder and gets that classifier's predictions, so any escaping case that read the
 * secret would succeed with those predictions. Every escaping case instead fails, names the
 * location, and prints nothing on stdout.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, TensorProto_DataType as DT } from 'onnx-buf';
import { valueInfoToProto } from '../../src/onnx/graph.js';
import { encodeTensor } from '../../src/onnx/tensor-proto.js';
import { parseNpy } from '../../src/tensor/npy.js';
import { literal, seeded, type HostileCase, type HostileContext } from './case.js';
import { assertCleanFailure, assertCleanOutcome, assertCleanSuccess } from './harness.js';
import { B, CLASSES, FEATURES, W, encode, externalModel, linearLogits, linearModel, nestedGraphModel } from './models.js';
import { argmaxRows } from './workspace.js';
import type { ModelProto } from 'onnx-buf';

let counter = 0;
function fileName(stem: string): string {
  return `${stem.replace(/[^a-z0-9]+/gi, '-')}-${++counter}.onnx`;
}

async function predictFails(ctx: HostileContext, name: string, bytes: Uint8Array, pattern: RegExp = literal(name)): Promise<void> {
  writeFileSync(join(ctx.ws.models, name), bytes);
  const r = await ctx.gibbon(['predict', name, '--input', 'x.npy']);
  assertCleanFailure(r, pattern, name);
  assert.equal(r.stdout, '', `${name}: nothing on stdout`);
}

/** The predictions the CLI printed (`predictions: 2 0 …`). */
function printedPredictions(stdout: string): number[] {
  const m = /^predictions: (.*)$/m.exec(stdout);
  assert.ok(m, `no predictions line in: ${stdout}`);
  return m[1]!.trim().split(/\s+/).map(Number);
}

function mutated(stem: string, change: (m: ModelProto) => void, pattern?: RegExp): HostileCase {
  return {
    group: 'onnx',
    name: stem,
    async run(ctx) {
      const m = linearModel();
      change(m);
      const name = fileName(stem);
      await predictFails(ctx, name, encode(m), pattern ?? literal(name));
    },
  };
}

const base = (): Uint8Array => encode(linearModel());

export function onnxCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  cases.push({
    group: 'onnx',
    name: 'the valid model gives the exact logits (control)',
    async run(ctx) {
      const r = await ctx.gibbon(['predict', 'model.onnx', '--input', 'x.npy', '--out', 'control-logits.npy']);
      assertCleanSuccess(r, 'control');
      const got = parseNpy(new Uint8Array(readFileSync(join(ctx.ws.models, 'control-logits.npy'))));
      const want = linearLogits(ctx.ws.x);
      assert.deepEqual(got.shape, [ctx.ws.rows, CLASSES]);
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(Number(got.data[i]) - want[i]!) < 1e-5, `logit ${i}`);
    },
  });
  for (const fraction of [0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.99]) {
    cases.push({
      group: 'onnx',
      name: `truncated to ${fraction * 100}% of its bytes`,
      async run(ctx) {
        const bytes = base();
        await predictFails(ctx, fileName(`truncated-${fraction}`), bytes.subarray(0, Math.floor(bytes.length * fraction)));
      },
    });
  }
  for (let seed = 1; seed <= 16; seed++) {
    cases.push({
      group: 'onnx',
      name: `bit flips (seed ${seed})`,
      async run(ctx) {
        const rng = seeded(seed);
        const bytes = base().slice();
        const flips = 1 + Math.floor(rng() * 4);
        for (let k = 0; k < flips; k++) bytes[Math.floor(rng() * bytes.length)]! ^= 1 << Math.floor(rng() * 8);
        const name = fileName(`flipped-${seed}`);
        writeFileSync(join(ctx.ws.models, name), bytes);
        const r = await ctx.gibbon(['predict', name, '--input', 'x.npy']);
        assertCleanOutcome(r, name);
      },
    });
  }
  cases.push({ group: 'onnx', name: 'empty file', run: (ctx) => predictFails(ctx, fileName('empty'), new Uint8Array(0)) });
  cases.push({
    group: 'onnx',
    name: 'random bytes',
    run: (ctx) =>
      predictFails(
        ctx,
        fileName('random'),
        Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251),
      ),
  });
  cases.push({ group: 'onnx', name: 'a text file', run: (ctx) => predictFails(ctx, fileName('text'), new TextEncoder().encode('name: not a model\n')) });
  cases.push({ group: 'onnx', name: 'protobuf nested 100 000 graphs deep', run: (ctx) => predictFails(ctx, fileName('nested'), nestedGraphModel(100_000)) });
  cases.push(mutated('IR version -1', (m) => (m.irVersion = -1n), /IR version -1/));
  cases.push(mutated('IR version 0', (m) => (m.irVersion = 0n)));
  cases.push(mutated('IR version 9999', (m) => (m.irVersion = 9999n), /IR version 9999/));
  cases.push(mutated('opset -1', (m) => (m.opsetImport[0]!.version = -1n), /opset -1/));
  cases.push(mutated('opset 2^62', (m) => (m.opsetImport[0]!.version = 2n ** 62n), /opset 4611686018427387904/));
  cases.push(mutated('opset 8 (too old)', (m) => (m.opsetImport[0]!.version = 8n), /opset 8/));
  cases.push(mutated('opset 500 (future)', (m) => (m.opsetImport[0]!.version = 500n), /opset 500/));
  cases.push(mutated('two conflicting default opsets', (m) => m.opsetImport.push({ ...m.opsetImport[0]!, version: 17n }), /twice/));
  cases.push(mutated('no opset import', (m) => (m.opsetImport = []), /opset/));
  cases.push(
    mutated(
      'duplicate initializer names',
      (m) => m.graph!.initializer.push(encodeTensor('W', DT.FLOAT, [FEATURES, CLASSES], new Float32Array(12))),
      /two initializers named 'W'/,
    ),
  );
  cases.push(
    mutated(
      'duplicate node outputs',
      (m) => m.graph!.node.push(create(NodeProtoSchema, { name: 'again', opType: 'Relu', input: ['x'], output: ['h'] })),
      /'h'/,
    ),
  );
  cases.push(
    mutated('raw data shorter than dims', (m) => (m.graph!.initializer[0]!.rawData = m.graph!.initializer[0]!.rawData.subarray(0, 20)), /'W'.*20 bytes/),
  );
  cases.push(mutated('raw data longer than dims', (m) => (m.graph!.initializer[0]!.dims = [2n, 3n]), /'W'.*48 bytes/));
  cases.push(mutated('negative initializer dims', (m) => (m.graph!.initializer[0]!.dims = [-4n, -3n]), /negative dimension/));
  cases.push(mutated('initializer dims of 2^62 elements', (m) => (m.graph!.initializer[0]!.dims = [2n ** 31n, 2n ** 31n]), /'W'/));
  cases.push(mutated('initializer without data type', (m) => (m.graph!.initializer[1]!.dataType = 0), /'B'.*no data type/));
  cases.push(
    mutated(
      'float data count mismatch',
      (m) => {
        const t = m.graph!.initializer[1]!;
        t.rawData = new Uint8Array(0);
        t.floatData = [1, 2];
      },
      /'B'/,
    ),
  );
  cases.push(
    mutated(
      'graph input with a negative dimension',
      (m) => (m.graph!.input[0] = valueInfoToProto({ name: 'x', dataType: DT.FLOAT, shape: ['N', -4] })),
      /negative dimension/,
    ),
  );
  cases.push({
    group: 'onnx',
    name: 'graph input declared [1, 10^9, 10^9] (no allocation from a declared shape)',
    run: async (ctx) => {
      const m = linearModel();
      m.graph!.input[0] = valueInfoToProto({ name: 'x', dataType: DT.FLOAT, shape: [1, 1_000_000_000, 1_000_000_000] });
      const name = fileName('huge-input');
      writeFileSync(join(ctx.ws.models, name), encode(m));
      const r = await ctx.gibbon(['predict', name, '--input', 'x.npy']);
      assertCleanFailure(r, /shape|input/, name);
    },
  });
  cases.push(
    mutated(
      'a cycle',
      (m) => {
        m.graph!.node[0]!.input[0] = 'logits';
        m.graph!.input[0]!.name = 'unused';
      },
      /cycle|not produced/,
    ),
  );
  cases.push(mutated('a node input nobody produces', (m) => (m.graph!.node[1]!.input[1] = 'nowhere'), /'nowhere'/));
  cases.push(mutated('graph output nobody produces', (m) => (m.graph!.output[0]!.name = 'ghost'), /'ghost'/));
  cases.push(mutated('no graph inputs', (m) => (m.graph!.input = []), /no graph inputs/));
  cases.push(mutated('no nodes', (m) => (m.graph!.node = [])));
  cases.push(mutated('an unknown op', (m) => (m.graph!.node[1]!.opType = 'TotallyMadeUp'), /TotallyMadeUp|add/));
  cases.push(mutated('an op from an unknown domain', (m) => (m.graph!.node[1]!.domain = 'evil.domain'), /evil\.domain|add/));
  cases.push(
    mutated(
      'wrong dtype: int64 weights in a float MatMul',
      (m) => {
        m.graph!.initializer[0] = encodeTensor(
          'W',
          DT.INT64,
          [FEATURES, CLASSES],
          BigInt64Array.from({ length: 12 }, (_, i) => BigInt(i)),
        );
      },
      /model|matmul|W/i,
    ),
  );
  cases.push(
    mutated(
      'zero classes: W is [4, 0]',
      (m) => {
        m.graph!.initializer[0] = encodeTensor('W', DT.FLOAT, [FEATURES, 0], new Float32Array(0));
        m.graph!.initializer[1] = encodeTensor('B', DT.FLOAT, [0], new Float32Array(0));
        m.graph!.output[0] = valueInfoToProto({ name: 'logits', dataType: DT.FLOAT, shape: ['N', 0] });
      },
      /class/,
    ),
  );
  cases.push(
    mutated(
      'a run that fails inside onnxruntime (Reshape to a wrong size)',
      (m) => {
        m.graph!.initializer.push(encodeTensor('bad_shape', DT.INT64, [1], BigInt64Array.of(7n)));
        m.graph!.node.push(create(NodeProtoSchema, { name: 'reshape', opType: 'Reshape', input: ['logits', 'bad_shape'], output: ['out'] }));
        m.graph!.output[0] = valueInfoToProto({ name: 'out', dataType: DT.FLOAT, shape: null });
      },
      /onnxruntime|reshape|shape/i,
    ),
  );
  cases.push({
    group: 'onnx',
    name: 'model path is a FIFO',
    run: async (ctx) => assertCleanFailure(await ctx.gibbon(['predict', 'fifo', '--input', 'x.npy']), /fifo.*FIFO|FIFO.*fifo/, 'fifo'),
  });
  cases.push({
    group: 'onnx',
    name: 'model path is /dev/zero',
    run: async (ctx) => assertCleanFailure(await ctx.gibbon(['predict', '/dev/zero', '--input', 'x.npy']), /\/dev\/zero/, '/dev/zero'),
  });
  cases.push({
    group: 'onnx',
    name: 'model path is a directory',
    run: async (ctx) => assertCleanFailure(await ctx.gibbon(['info', 'dir']), /dir/, 'dir'),
  });
  cases.push({
    group: 'onnx',
    name: 'info on a truncated model',
    run: async (ctx) => {
      const bytes = base();
      const name = fileName('info-truncated');
      writeFileSync(join(ctx.ws.models, name), bytes.subarray(0, bytes.length >> 1));
      assertCleanFailure(await ctx.gibbon(['info', name]), literal(name), name);
    },
  });
  cases.push({
    group: 'onnx',
    name: '--threads far above the core count is capped, with a note',
    run: async (ctx) => {
      const r = await ctx.gibbon(['predict', 'model.onnx', '--input', 'x.npy', '--threads', '1000']);
      assertCleanSuccess(r, '--threads 1000');
      assert.match(r.stderr, /--threads 1000 is more than/);
      assert.deepEqual(printedPredictions(r.stdout), argmaxRows(linearLogits(ctx.ws.x)));
    },
  });
  return cases;
}

const wBytes = String(W.byteLength);
const bBytes = String(B.byteLength);

function externalCase(
  name: string,
  wEntries: Record<string, string>,
  pattern: RegExp,
  bEntries: Record<string, string> = { location: 'weights.bin', offset: wBytes, length: bBytes },
): HostileCase {
  return {
    group: 'external-data',
    name,
    async run(ctx) {
      const file = fileName(`ext-${name}`);
      await predictFails(ctx, file, externalModel(wEntries, bEntries), pattern);
    },
  };
}

export function externalDataCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  cases.push({
    group: 'external-data',
    name: 'valid external data (one file, two ranges) gives the exact logits (control)',
    async run(ctx) {
      const r = await ctx.gibbon(['predict', 'external.onnx', '--input', 'x.npy']);
      assertCleanSuccess(r, 'external control');
      assert.deepEqual(printedPredictions(r.stdout), argmaxRows(linearLogits(ctx.ws.x)));
    },
  });
  cases.push({
    group: 'external-data',
    name: "the secret's bytes inside the folder change the predictions (so reading the secret would show)",
    async run(ctx) {
      const name = fileName('ext-inside');
      writeFileSync(
        join(ctx.ws.models, name),
        externalModel({ location: 'inside.bin', offset: '0', length: wBytes }, { location: 'inside.bin', offset: wBytes, length: bBytes }),
      );
      const r = await ctx.gibbon(['predict', name, '--input', 'x.npy']);
      assertCleanSuccess(r, name);
      const secretPredictions = argmaxRows(linearLogits(ctx.ws.x, ctx.ws.secretW, ctx.ws.secretB));
      assert.deepEqual(printedPredictions(r.stdout), secretPredictions);
      assert.notDeepEqual(secretPredictions, argmaxRows(linearLogits(ctx.ws.x)), 'the secret weights predict differently');
    },
  });
  cases.push({
    group: 'external-data',
    name: 'a symlink inside the folder to a file inside the folder is fine',
    async run(ctx) {
      const name = fileName('ext-link-in');
      writeFileSync(
        join(ctx.ws.models, name),
        externalModel({ location: 'link-in.bin', offset: '0', length: wBytes }, { location: 'weights.bin', offset: wBytes, length: bBytes }),
      );
      const r = await ctx.gibbon(['predict', name, '--input', 'x.npy']);
      assertCleanSuccess(r, name);
      assert.deepEqual(printedPredictions(r.stdout), argmaxRows(linearLogits(ctx.ws.x)));
    },
  });
  const escapes: [string, (ctx: HostileContext) => string][] = [
    ['the secret by absolute path', (ctx) => ctx.ws.secret],
    ['../secret.bin', () => '../secret.bin'],
    ['sub/../../secret.bin', () => 'sub/../../secret.bin'],
    ['./../secret.bin', () => './../secret.bin'],
    ['a symlink out of the folder (relative)', () => 'link-out.bin'],
    ['a symlink out of the folder (absolute)', () => 'link-abs.bin'],
    ['a symlinked directory out of the folder', () => 'sub/up/secret.bin'],
  ];
  for (const [label, location] of escapes) {
    cases.push({
      group: 'external-data',
      name: `escape: ${label} is refused and the secret never reaches the output`,
      async run(ctx) {
        const loc = location(ctx);
        const file = fileName('ext-escape');
        writeFileSync(
          join(ctx.ws.models, file),
          externalModel({ location: loc, offset: '0', length: wBytes }, { location: loc, offset: wBytes, length: bBytes }),
        );
        const r = await ctx.gibbon(['predict', file, '--input', 'x.npy']);
        assertCleanFailure(r, /inside the model's folder/, file);
        assert.match(r.stderr, literal(loc.slice(0, 60)), 'the error names the location');
        assert.equal(r.stdout, '', 'no predictions were printed');
      },
    });
  }
  cases.push(externalCase('/etc/passwd', { location: '/etc/passwd', offset: '0', length: wBytes }, /\/etc\/passwd.*absolute path/));
  cases.push(externalCase('/proc/self/environ', { location: '/proc/self/environ', offset: '0', length: wBytes }, /\/proc\/self\/environ/));
  cases.push(externalCase('a symlink to /proc/self/environ', { location: 'link-environ.bin', offset: '0', length: wBytes }, /link-environ\.bin/));
  cases.push(externalCase('/dev/zero', { location: '/dev/zero', offset: '0', length: wBytes }, /\/dev\/zero/));
  cases.push(externalCase('a symlink to /dev/zero', { location: 'link-zero.bin', offset: '0', length: wBytes }, /link-zero\.bin/));
  cases.push(externalCase('a FIFO in the folder', { location: 'fifo', offset: '0', length: wBytes }, /fifo.*FIFO/));
  cases.push(externalCase('a directory in the folder', { location: 'dir', offset: '0', length: wBytes }, /dir.*directory/));
  cases.push(externalCase('the folder itself', { location: '.', offset: '0', length: wBytes }, /'\.'/));
  cases.push(externalCase('a missing file', { location: 'missing.bin', offset: '0', length: wBytes }, /missing\.bin.*not found/));
  cases.push(externalCase('an empty location', { location: '', offset: '0', length: wBytes }, /without a location/));
  cases.push(externalCase('no location', { offset: '0', length: wBytes }, /without a location/));
  cases.push(externalCase('a NUL byte in the location', { location: 'weights.bin\0/etc/passwd', offset: '0', length: wBytes }, /NUL/));
  cases.push(externalCase('a Windows absolute path', { location: 'C:\\Windows\\win.ini', offset: '0', length: wBytes }, /absolute/));
  cases.push(externalCase('offset 2^60', { location: 'weights.bin', offset: String(2n ** 60n), length: wBytes }, /past the end|offset/));
  cases.push(externalCase('offset -4', { location: 'weights.bin', offset: '-4', length: wBytes }, /offset '-4'/));
  cases.push(externalCase('offset 1e3', { location: 'weights.bin', offset: '1e3', length: wBytes }, /offset '1e3'/));
  cases.push(externalCase('offset 0x10', { location: 'weights.bin', offset: '0x10', length: wBytes }, /offset '0x10'/));
  cases.push(externalCase('offset past the end', { location: 'weights.bin', offset: '50', length: wBytes }, /past the end/));
  cases.push(externalCase('length 10^15', { location: 'weights.bin', offset: '0', length: '1000000000000000' }, /length 1000000000000000/));
  cases.push(externalCase('length not matching the dims', { location: 'weights.bin', offset: '0', length: '44' }, /length 44 does not match/));
  cases.push(externalCase('no length, rest of the file too long', { location: 'weights.bin', offset: '0' }, /60 bytes.*need 48/));
  cases.push(externalCase('an unknown key', { location: 'weights.bin', offset: '0', length: wBytes, evil: '1' }, /unknown external-data key 'evil'/));
  cases.push({
    group: 'external-data',
    name: 'dims declaring 2^40 elements with external data',
    async run(ctx) {
      const m = linearModel();
      const t = m.graph!.initializer[0]!;
      t.dims = [2n ** 20n, 2n ** 20n];
      t.rawData = new Uint8Array(0);
      t.dataLocation = 1;
      t.externalData = [{ $typeName: 'onnx.StringStringEntryProto', key: 'location', value: 'weights.bin' }];
      const name = fileName('ext-huge-dims');
      await predictFails(ctx, name, encode(m), /'W'/);
    },
  });
  return cases;
}
