/** `gibbon certify --method ibp`: files, terminal table, checkpoint and resume, and early errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../../errors.js';
import type { Terminal } from '../terminal.js';
import { GraphBuilder } from '../../onnx/builder.js';
import { DataType as DT } from '../../onnx/dtypes.js';
import type { Graph } from '../../onnx/graph.js';
import { saveModel } from '../../onnx/model.js';
import { checkpointPath, readCertificationCheckpoint, writeCertificationCheckpoint } from '../../certify/checkpoint.js';
import { runIbpCertify, type IbpCertifyValues } from './certify-ibp.js';

const REFERENCE = join(process.cwd(), 'test', 'fixtures', 'reference');
const MODEL = join(REFERENCE, 'mnist_mlp', 'mnist_mlp.onnx');
const X = join(REFERENCE, 'inputs', 'x.npy');
const Y = join(REFERENCE, 'inputs', 'y.npy');

function recordingTerminal(): Terminal & { outText: string[]; notes: string[] } {
  const outText: string[] = [];
  const notes: string[] = [];
  return { out: (t) => outText.push(t), note: (t) => notes.push(t), progressStream: undefined, outText, notes };
}

const scratch = mkdtempSync(join(tmpdir(), 'gibbon-ibp-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));

const values = (out: string, extra: Partial<IbpCertifyValues> = {}): IbpCertifyValues => ({
  model: MODEL,
  data: X,
  labels: Y,
  n: 60,
  eps: [0.3, 0.001, 0.005],
  batchSize: 25,
  out,
  threads: 1,
  ...extra,
});

test('writes certification.json, certification.html and a checkpoint; prints certified accuracy per ε beside clean accuracy', async () => {
  const out = join(scratch, 'run');
  const terminal = recordingTerminal();
  await runIbpCertify(values(out), terminal);
  const json = JSON.parse(readFileSync(join(out, 'certification.json'), 'utf8'));
  assert.equal(json.format, 'gibbon-certification');
  assert.equal(json.curve.method, 'ibp');
  assert.equal(json.curve.norm, 'linf');
  assert.equal(json.curve.n, 60);
  assert.equal(json.examples.length, 60);
  assert.deepEqual(
    json.curve.points.map((p: { radius: number }) => p.radius),
    [0, 0.001, 0.005, 0.3],
  );
  const [clean, tiny, , large] = json.curve.points.map((p: { certified_accuracy: number }) => p.certified_accuracy);
  assert.ok(clean >= 0.95, `clean ${clean}`);
  assert.ok(tiny >= 0.9 * clean && tiny <= clean, `certified at 0.001: ${tiny}`);
  assert.equal(large, 0);
  assert.match(readFileSync(join(out, 'certification.html'), 'utf8'), /interval bound propagation/i);
  const checkpoint = readCertificationCheckpoint(out)!;
  assert.equal(checkpoint.records.length, 60);
  assert.equal(checkpoint.fingerprint.eps, '0.001,0.005,0.3');
  const table = terminal.outText.join('\n');
  assert.match(table, new RegExp(`clean accuracy: ${(100 * clean).toFixed(1)}%`));
  assert.match(table, new RegExp(`\\n  0\\.001 +${(100 * tiny).toFixed(1)}%`));
  assert.match(table, /\n {2}0\.3 +0\.0%/);
  assert.match(terminal.notes[0]!, /certifying 60 examples .* ε 0\.001, 0\.005, 0\.3 · final layer elided/);
});

test('--resume continues a partial checkpoint to the same result, and refuses one made with other options', async () => {
  const whole = join(scratch, 'whole');
  await runIbpCertify(values(whole), recordingTerminal());
  const full = readCertificationCheckpoint(whole)!;
  // A run killed after its first batch leaves 25 records.
  const partial = join(scratch, 'partial');
  writeCertificationCheckpoint(partial, { ...full.fingerprint }, full.records.slice(0, 25), 1.5);
  const terminal = recordingTerminal();
  await runIbpCertify(values(partial, { resume: true }), terminal);
  assert.match(terminal.notes[0]!, /resuming with 25 done/);
  const a = JSON.parse(readFileSync(join(whole, 'certification.json'), 'utf8'));
  const b = JSON.parse(readFileSync(join(partial, 'certification.json'), 'utf8'));
  assert.deepEqual(b.examples, a.examples);
  assert.deepEqual(b.curve.points, a.curve.points);
  assert.ok(b.curve.seconds >= 1.5);

  await assert.rejects(runIbpCertify(values(partial, { resume: true, eps: [0.01] }), recordingTerminal()), (e: unknown) => {
    assert.ok(e instanceof GibbonError);
    assert.equal(e.code, 'invalid_checkpoint');
    assert.equal(e.location.path, checkpointPath(partial));
    assert.match(e.message, /different options \(eps: "0\.001,0\.005,0\.3" → "0\.01"\)/);
    return true;
  });
  await assert.rejects(runIbpCertify(values(partial, { resume: true, n: 30 }), recordingTerminal()), /different options \(.*n: 60 → 30/);
});

test('a model with an op that has no interval rule fails before anything is written, naming node and op', async () => {
  const graph: Graph = {
    name: 'sin',
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.FLOAT, shape: ['batch', 1, 28, 28] }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['batch', 10] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const b = new GraphBuilder(graph, 'm');
  const h = b.op('Gemm', [b.op('Flatten', ['input']), b.constant(DT.FLOAT, [784, 10], new Float32Array(7840))]);
  graph.nodes.push({ name: 'head/sin', opType: 'Sin', domain: '', inputs: [h], outputs: ['logits'], attributes: [] });
  const path = join(scratch, 'sin.onnx');
  saveModel(
    { proto: create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })] }), graph, opset: 17 },
    path,
  );
  const out = join(scratch, 'never');
  await assert.rejects(runIbpCertify(values(out, { model: path }), recordingTerminal()), (e: unknown) => {
    assert.ok(e instanceof GibbonError);
    assert.equal(e.code, 'unsupported_op');
    assert.deepEqual(e.location.node, { name: 'head/sin', opType: 'Sin' });
    assert.match(e.message, /no interval bound rule for op 'Sin' at node 'head\/sin'/);
    return true;
  });
  assert.equal(existsSync(out), false);
  await assert.rejects(runIbpCertify(values(out, { eps: [] }), recordingTerminal()), /give at least one ε/);
  await assert.rejects(runIbpCertify(values(out, { labels: undefined }), recordingTerminal()), /needs --labels Y\.npy/);
});
