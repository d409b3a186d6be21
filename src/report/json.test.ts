import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { formatReportJson, readReportJson, writeReportJson } from './json.js';
import { SAMPLE_REPORT_PATH, sampleReport } from './testing/sample-report.js';

const work = mkdtempSync(join(tmpdir(), 'gibbon-report-json-'));
after(() => rmSync(work, { recursive: true, force: true }));

function writeRaw(name: string, value: unknown): string {
  const path = join(work, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
}

function refused(path: string, pattern: RegExp): void {
  assert.throws(
    () => readReportJson(path),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_input' && pattern.test(e.message),
  );
}

test('write then read gives the same report; the file is the fixture byte for byte', () => {
  const report = sampleReport();
  const path = writeReportJson(join(work, 'out', 'nested'), report);
  assert.equal(path, join(work, 'out', 'nested', 'report.json'));
  assert.deepEqual(readReportJson(path), report);
  assert.ok(readFileSync(path, 'utf8') === readFileSync(SAMPLE_REPORT_PATH, 'utf8'), 'the written file differs from the fixture');
});

test('key order is the schema’s, whatever order the object was built in', () => {
  const report = sampleReport();
  // Every object the schema defines is reordered; the threat model, free-form, keeps its own order.
  const reverse = (o: object): object => Object.fromEntries(Object.entries(o).reverse());
  const reversed = Object.fromEntries(
    Object.entries(report)
      .reverse()
      .map(([k, v]) => [
        k,
        k === 'threat_model'
          ? v
          : Array.isArray(v)
            ? v.map((e) => (typeof e === 'object' ? reverse(e as object) : e))
            : typeof v === 'object' && v !== null
              ? reverse(v)
              : v,
      ]),
  );
  const text = formatReportJson(reversed as typeof report);
  assert.ok(text === formatReportJson(report), 'the text depends on the order the object was built in');
  assert.match(text, /^\{\n {2}"schema_version": 1,\n {2}"gibbon_version": /);
  assert.match(text, /\n {4}"input_shape": \[null, 1, 28, 28\],\n/);
  const lines = text.split('\n').length;
  assert.ok(lines < 400, `a gallery image is one line, not hundreds (${lines} lines)`);
});

test('optional fields unknown to this version are kept', () => {
  const report = { ...sampleReport(), extra_field: { a: 1 } };
  const back = readReportJson(writeReportJson(join(work, 'extra'), report));
  assert.deepEqual((back as unknown as Record<string, unknown>)['extra_field'], { a: 1 });
});

test('a newer, older or missing schema_version is refused, saying what this gibbon reads', () => {
  refused(
    writeRaw('v2.json', { ...sampleReport(), schema_version: 2 }),
    /schema_version 2; this gibbon reads schema_version 1 \(the file was written by a newer gibbon: upgrade gibbon to read it\)/,
  );
  refused(writeRaw('v0.json', { ...sampleReport(), schema_version: 0 }), /has schema_version 0; this gibbon reads schema_version 1$/);
  refused(writeRaw('vs.json', { ...sampleReport(), schema_version: '1' }), /has schema_version "1"; this gibbon reads schema_version 1/);
  const { schema_version: _, ...noVersion } = sampleReport();
  refused(writeRaw('none.json', noVersion), /is not a gibbon report: it has no schema_version/);
  refused(writeRaw('array.json', [1]), /is not a gibbon report: expected a JSON object, found an array/);
});

test('bad fields are named with their path', () => {
  const report = sampleReport();
  (report.attacks[2] as unknown as Record<string, unknown>)['accuracy'] = 'high';
  delete (report.model as unknown as Record<string, unknown>)['sha256'];
  refused(writeRaw('fields.json', report), /does not match report schema_version 1: .*model\.sha256: .*; attacks\[2\]\.accuracy: /);
  refused(writeRaw('names.json', { ...sampleReport(), class_names: ['a', 'b'] }), /class_names has 2 names but model\.num_classes is 10/);
});

test('a missing file and broken JSON get their own errors', () => {
  assert.throws(
    () => readReportJson(join(work, 'absent.json')),
    (e: unknown) => e instanceof GibbonError && e.code === 'file_not_found',
  );
  refused(writeRaw('broken.json', '{"schema_version": 1,'), /broken\.json is not valid JSON: /);
});

test('a report with NaN is refused before anything is written', () => {
  const report = sampleReport();
  report.robust_accuracy[1]!.accuracy = Number.NaN;
  assert.throws(
    () => writeReportJson(join(work, 'nan'), report),
    (e: unknown) => e instanceof GibbonError && /robust_accuracy\[1\]\.accuracy: /.test(e.message),
  );
  assert.throws(() => readFileSync(join(work, 'nan', 'report.json')));
});
