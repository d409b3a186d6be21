import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderPhysicalHtml, type PhysicalReport } from './patch-html.js';

const report: PhysicalReport = {
  format: 'gibbon-physical-report',
  version: 1,
  kind: 'patch',
  gibbonVersion: '0.0.0',
  model: 'evil<script>alert(1)</script>.onnx',
  data: 'mnist:test',
  seed: 0,
  saved: 'out/patch.json',
  target: 3,
  measure: 'targeted success',
  values: { shape: [1, 4, 4], data: Array.from({ length: 16 }, (_, i) => i / 15), mask: new Array<number>(16).fill(1) },
  conditions: [
    { label: 'held-out transforms', rate: 0.42, eligible: 100, successes: 42, coverage: 0.08 },
    { label: 'print-and-scan', rate: 0.2, eligible: 100, successes: 20, coverage: 0.08 },
  ],
  scaleSweep: [
    { scale: 0.8, coverage: 0.05, rate: 0.1 },
    { scale: 1.2, coverage: 0.12, rate: 0.6 },
  ],
  rotationSweep: [
    { rotation: 0, rate: 0.5 },
    { rotation: 20, rate: 0.4 },
  ],
  perClass: [{ label: 1, eligible: 10, successes: 7 }],
  examples: { shape: [1, 4, 4], images: [new Array<number>(16).fill(0.5)], labels: [1], predicted: [3] },
  transforms: {},
};

test('the physical report page shows the patch, examples and both curves, and escapes what it was given', () => {
  const page = renderPhysicalHtml(report);
  assert.ok(!page.includes('<script>alert(1)'), 'the model name is escaped');
  assert.ok(page.includes('evil&lt;script&gt;'));
  assert.equal((page.match(/src="data:image\/png;base64,/g) ?? []).length, 2, 'the patch and one example');
  assert.equal((page.match(/<svg/g) ?? []).length, 2, 'area and rotation charts');
  assert.match(page, /42\.0%/);
  assert.match(page, /70\.0%/, 'per-class success');
});

test('with several patches the page has the per-target table and chart, and clean vs patched accuracy per condition', () => {
  const page = renderPhysicalHtml({
    ...report,
    conditions: [{ ...report.conditions[0]!, cleanAccuracy: 0.991, accuracy: 0.613 }],
    perTarget: [
      { target: 3, saved: 'p3/patch.json', rate: 0.42, eligible: 100, successes: 42 },
      { target: 8, saved: 'p8/patch.json<b>', rate: 0.77, eligible: 100, successes: 77 },
    ],
    placement: 'best of a 3 × 9 grid of centres',
  });
  assert.equal((page.match(/<svg/g) ?? []).length, 3, 'area, rotation and per-target charts');
  assert.match(page, /Per target class/);
  assert.match(page, /77\.0%/);
  assert.match(page, /99\.1%[\s\S]*61\.3%/, 'clean then patched accuracy');
  assert.ok(page.includes('p8/patch.json&lt;b&gt;'));
  assert.match(page, /placement: best of a 3 × 9 grid/);
});
