/** Probe files: the built-in one loads; bad files fail naming the field; rendering is seeded. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GibbonError } from '../errors.js';
import { parseProbeSet, readProbeFile, renderProbe } from './probe-set.js';

const BUILT_IN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'probes', 'gibbon-probes.yaml');

const minimal = (probe: Record<string, unknown>, slots: Record<string, string[]> = { x: ['one', 'two'] }): unknown => ({
  format: 'gibbon-probes/1',
  slots,
  families: [{ name: 'f', probes: [{ id: 'p', turns: [{ user: 'hi {{x}}' }], detectors: ['canary'], ...probe }] }],
});

function fails(value: unknown, pattern: RegExp): void {
  assert.throws(
    () => parseProbeSet(value, 'probes.yaml'),
    (e: unknown) => e instanceof GibbonError && e.code === 'invalid_input' && pattern.test(e.message) && e.message.startsWith('probes.yaml'),
  );
}

describe('probe files', () => {
  test('the built-in file loads: every family the issue names is there, with a benign control', () => {
    const set = readProbeFile(BUILT_IN);
    const names = set.families.map((f) => f.name);
    for (const n of [
      'direct-injection',
      'indirect-injection',
      'system-prompt-extraction',
      'roleplay-jailbreak',
      'encoding-base64',
      'encoding-rot13',
      'encoding-leetspeak',
      'encoding-homoglyph',
      'encoding-invisible',
      'payload-splitting',
      'multi-turn-escalation',
    ])
      assert.ok(names.includes(n), n);
    assert.equal(set.families.find((f) => f.name === 'benign')?.control, true);
  });

  test('invalid files fail naming the problem', () => {
    fails({ format: 'other/1', families: [] }, /format/);
    fails(minimal({ turns: [] }), /turns/);
    fails(minimal({ turns: [{ user: 'hi {{nope}}' }] }), /\{\{nope\}\} is not a slot/);
    fails(minimal({}, { x: ['a {{payload}}'] }), /slots\.x: \{\{payload\}\} is not a slot/);
    fails(minimal({ detectors: [{ type: 'pattern', pattern: '(' }] }), /not a valid regular expression/);
    fails(minimal({ detectors: ['telepathy'] }), /detectors/);
    fails(minimal({ payload: 'p' }), /payload is never used/);
    fails(minimal({ turns: [{ tool: 'x' }] }), /first turn must be a user turn/);
    fails(minimal({ encoding: 'rot47' }), /encoding/);
    fails(minimal({ extra: 1 }), /extra|unrecognized/i);
    const dir = mkdtempSync(join(tmpdir(), 'gibbon-probes-'));
    writeFileSync(join(dir, 'bad.yaml'), 'format: gibbon-probes/1\nfamilies: [\n');
    assert.throws(() => readProbeFile(join(dir, 'bad.yaml')), /bad\.yaml: is not valid YAML.*line/);
    writeFileSync(join(dir, 'dup.yaml'), 'format: gibbon-probes/1\nformat: gibbon-probes/1\n');
    assert.throws(() => readProbeFile(join(dir, 'dup.yaml')), /not valid YAML/);
    assert.throws(
      () => readProbeFile(join(dir, 'missing.yaml')),
      (e: unknown) => e instanceof GibbonError && e.code === 'file_not_found',
    );
  });

  test('rendering: slots and the encoded payload filled, the same seed gives the same texts, repetitions differ', () => {
    const set = parseProbeSet(
      minimal({ payload: '{{x}} secret', encoding: 'base64', turns: [{ user: 'decode {{payload}}' }] }, { x: ['alpha', 'beta', 'gamma', 'delta'] }),
      'mem',
    );
    const f = set.families[0]!;
    const a = renderProbe(set, f, f.probes[0]!, 0, 1);
    assert.deepEqual(a, renderProbe(set, f, f.probes[0]!, 0, 1));
    const decoded = Buffer.from(a.payload!, 'base64').toString();
    assert.match(decoded, /^(alpha|beta|gamma|delta) secret$/);
    assert.deepEqual(a.turns, [{ user: `decode ${a.payload}` }]);
    const texts = new Set(Array.from({ length: 12 }, (_, r) => JSON.stringify(renderProbe(set, f, f.probes[0]!, r, 1).turns)));
    assert.ok(texts.size > 1);
  });
});
