import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPORT_SCHEMA_VERSION, type Report } from '../report/index.js';
import { escapeXml, formatJunit } from './junit.js';

function report(): Report {
  return {
    schema_version: REPORT_SCHEMA_VERSION,
    gibbon_version: '0.1.0',
    created: '2026-01-02T03:04:05.000Z',
    model: {
      path: 'models/a&b<"c">.onnx',
      sha256: 'ab',
      input_shape: [null, 1, 28, 28],
      num_classes: 10,
      outputs_probabilities: false,
      non_differentiable_ops: [],
    },
    threat_model: { norm: 'linf' },
    data: 'mnist-test',
    n: 100,
    seed: 0,
    clean_accuracy: 0.99,
    robust_accuracy: [
      { eps: 0.1, accuracy: 0.7 },
      { eps: 0.3, accuracy: 0.02 },
    ],
    attacks: [
      { name: 'apgd-ce', eps: 0.1, accuracy: 0.7, mean_norm: 0.1, queries: 100, steps: 10, seconds: 1.5 },
      { name: 'apgd-ce', eps: 0.3, accuracy: 0.02, mean_norm: null, queries: 50, steps: 5, seconds: 0.5 },
    ],
    masking_checks: [{ name: 'zero-gradients', passed: false, detail: 'x < y & z', advice: 'try "--bpda"' }],
    gallery: [],
    warnings: [],
    seconds: 2,
    environment: { node: 'v20', onnxruntime: '1.30.0', platform: 'linux-x64', cpus: 2, threads: 2 },
  };
}

test('escapeXml escapes markup and drops characters XML cannot hold', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>\u0001\u0008ok\t`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;ok\t');
});

test('one test case per ε; those below the bar fail', () => {
  const xml = formatJunit(report(), { failUnder: 0.5 });
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="gibbon" tests="2" failures="1"/);
  assert.equal(xml.match(/<testcase /g)!.length, 2);
  assert.equal(xml.match(/<failure /g)!.length, 1);
  assert.match(
    xml,
    /<testcase classname="gibbon.eval.a&amp;b&lt;&quot;c&quot;&gt;.onnx" name="robust accuracy at ε=0.3 \(linf\)" time="0.500">\n\s*<failure message="robust accuracy 2.00% is below 50.00%" type="BelowThreshold">/,
  );
  assert.match(xml, /<system-err>masking check failed: zero-gradients: x &lt; y &amp; z — try &quot;--bpda&quot;<\/system-err>/);
  assert.match(xml, /<property name="fail_under" value="0.5"\/>/);
  // No bar: every case passes.
  const plain = formatJunit(report());
  assert.match(plain, /failures="0"/);
  assert.doesNotMatch(plain, /<failure/);
});
