/**
 * What `npm publish` would ship (package.json `files`): the built library, CLI, bundled models and
 * docs — never tests, test helpers (`testing/` folders) or fixtures — and every relative import of
 * a shipped module resolves to another shipped file, so an installed package cannot fail on a
 * module that was left out.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { ROOT } from './helpers/cli.js';

let packed: Set<string> | undefined;

function packedFiles(): Set<string> {
  if (packed) return packed;
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const [pack] = JSON.parse(r.stdout) as { files: { path: string }[] }[];
  packed = new Set(pack!.files.map((f) => f.path));
  return packed;
}

test('the package ships the library, CLI, models and docs, and no tests or test helpers', () => {
  const files = packedFiles();
  for (const needed of ['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'models/mnist-standard.onnx']) {
    assert.ok(files.has(needed), `${needed} is not in the package`);
  }
  const leaked = [...files].filter((f) => /\.test\.|(^|\/)testing\/|^test\/|^dist\/test\/|^dist\/bench\/|^src\//.test(f));
  assert.deepEqual(leaked, []);
});

test('every relative import of a shipped module resolves to a shipped file', () => {
  const files = packedFiles();
  const missing: string[] = [];
  for (const file of files) {
    if (!file.endsWith('.js')) continue;
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
      const target = normalize(join(dirname(file), m[1]!));
      if (!files.has(target)) missing.push(`${file} → ${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
});
