/**
 * Per-channel bounds through the CLI, on test/fixtures/zoo/tabular_ranges_op13.onnx (features in
 * [0, 1], [-100, 100], [0, 5000]): `eval` attacks in the unit space and says what ε means, and the
 * adversarial examples it saves are in raw units, within ε of each feature's range, inside the
 * ranges, and misclassified by the model as shipped; `predict --domain l:u,…` maps uint8 per feature.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy, toFloat32, writeNpy } from '../../src/tensor/npy.js';
import { assertOk, cliWorkspace, ROOT } from '../helpers/cli.js';

const MODEL = join(ROOT, 'test', 'fixtures', 'zoo', 'tabular_ranges_op13.onnx');
const X = join(ROOT, 'test', 'fixtures', 'zoo', 'tabular_ranges_op13.x.npy');
const LOWER = [0, -100, 0];
const UPPER = [1, 100, 5000];
const { work, gibbon } = cliWorkspace('gibbon-channel-bounds-');

async function logits(input: string, ...extra: string[]): Promise<Float32Array> {
  const out = join(work, `p${Math.random().toString(36).slice(2)}.npy`);
  assertOk(await gibbon('predict', MODEL, '--input', input, '--out', out, '--threads', '1', ...extra));
  return toFloat32(readNpy(out));
}

async function predicted(input: string, ...extra: string[]): Promise<number[]> {
  const z = await logits(input, ...extra);
  return Array.from({ length: z.length / 3 }, (_, i) => [0, 1, 2].reduce((b, k) => (z[i * 3 + k]! > z[i * 3 + b]! ? k : b), 0));
}

test('eval under input.lower/upper: ε is a fraction of each range, saved adversarial examples are raw, in range, within budget and misclassified', async () => {
  const clean = toFloat32(readNpy(X));
  const labels = await predicted(X);
  const y = join(work, 'y.npy');
  writeNpy(y, { type: 'int32', data: Int32Array.from(labels), shape: [labels.length] });
  const threat = join(work, 'ranges.yaml');
  writeFileSync(threat, `knowledge: white-box\nnorm: linf\neps: [0.3]\ninput:\n  lower: [${LOWER}]\n  upper: [${UPPER}]\ndata: { x: ${X}, labels: ${y} }\n`);
  const adv = join(work, 'adv');
  const r = await gibbon('eval', MODEL, '--threat', threat, '--attacks', 'fast', '--out', join(work, 'report'), '--save-adversarials', adv, '--threads', '1');
  assertOk(r);
  assert.match(
    r.stdout,
    /inputs in \[0, 1\], \[-100, 100\], \[0, 5000\] per channel, attacked in \[0, 1\] per channel \(ε is a fraction of each channel's range\)/,
  );
  const report = JSON.parse(readFileSync(join(work, 'report', 'report.json'), 'utf8')) as { threat_model: { input: Record<string, unknown> } };
  assert.match(String(report.threat_model.input['attack_space']), /ε and perturbation norms are fractions of each channel’s range/);

  const manifest = JSON.parse(readFileSync(join(adv, 'manifest.json'), 'utf8')) as {
    units: string;
    examples: { index: number; label: number; predicted: number; row: number; file: string }[];
  };
  assert.match(manifest.units, /^raw/);
  assert.ok(manifest.examples.length >= 1, 'ε = 0.3 of each range breaks at least one of the 6 examples');
  const points = toFloat32(readNpy(join(adv, 'eps-0.3.npy')));
  for (const e of manifest.examples) {
    for (let c = 0; c < 3; c++) {
      const v = points[e.row * 3 + c]!;
      const range = UPPER[c]! - LOWER[c]!;
      assert.ok(v >= LOWER[c]! && v <= UPPER[c]!, `example ${e.index} feature ${c}: ${v} outside its range`);
      assert.ok(Math.abs(v - clean[e.index * 3 + c]!) <= 0.3 * range * (1 + 1e-5), `example ${e.index} feature ${c} moved more than 0.3 of its range`);
    }
  }
  // The model as shipped, fed the raw points, gets them wrong.
  const again = await predicted(join(adv, 'eps-0.3.npy'));
  manifest.examples.forEach((e, k) => {
    assert.equal(again[k], e.predicted);
    assert.notEqual(again[k], e.label);
  });
});

test('predict --domain 0:1,-100:100,0:5000 maps uint8 features onto each range', async () => {
  const bytes = Uint8Array.of(255, 0, 51, 0, 255, 255);
  const u8 = join(work, 'u8.npy');
  writeNpy(u8, { type: 'uint8', data: bytes, shape: [2, 3] });
  const f32 = join(work, 'f32.npy');
  writeNpy(f32, { type: 'float32', data: Float32Array.of(1, -100, 1000, 0, 100, 5000), shape: [2, 3] });
  const domain = LOWER.map((l, c) => `${l}:${UPPER[c]}`).join(',');
  const mapped = await logits(u8, '--domain', domain);
  const expected = await logits(f32);
  mapped.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-5 * (1 + Math.abs(expected[i]!)), `logit ${i}: ${v} vs ${expected[i]}`));
  const bad = await gibbon('predict', MODEL, '--input', u8, '--domain', '0:1,5:2');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /channel 1 has lower 5 and upper 2/);
});
