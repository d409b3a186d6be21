#!/usr/bin/env node
/**
 * Two checks of the module graph under src/, which `npm run lint` (and so CI) runs:
 * - no import cycles (type-only imports count too: a cycle of types is still a tangle of concepts);
 * - layers import downward only (DESIGN.md): a module of a layer imports only from its own layer or
 *   those below it. Tests and test helpers (`*.test.ts`, `testing/`) may import from anywhere.
 * Imports are read and resolved by the TypeScript compiler itself (`preProcessFile` and
 * `resolveModuleName` with the project's tsconfig), so `./x.js` specifiers find `x.ts` exactly as
 * tsc does. madge would find the cycles, but its current release requires TypeScript 5 and the
 * project builds with 6.
 *
 *   node tools/lint/imports.mjs
 *
 * Prints each violation on a line (for cycles, at least one through every tangle of modules, as
 * a → b → … → a) and exits 1; otherwise prints how many modules it read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..', '..');
const src = join(root, 'src');
const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

const files = sources(src);
const inScope = new Set(files);
const edges = new Map();
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  const targets = new Set();
  for (const { fileName } of importedFiles) {
    const resolved = ts.resolveModuleName(fileName, file, config.options, ts.sys).resolvedModule?.resolvedFileName;
    if (resolved && inScope.has(resolve(resolved))) targets.add(resolve(resolved));
  }
  edges.set(file, [...targets].sort());
}

// Depth-first search with colours; each back edge closes a cycle, reported once by its node set.
const state = new Map();
const stack = [];
const seen = new Set();
const cycles = [];
function visit(start) {
  const work = [[start, 0]];
  state.set(start, 1);
  stack.push(start);
  while (work.length > 0) {
    const top = work[work.length - 1];
    const next = edges.get(top[0])[top[1]++];
    if (next === undefined) {
      state.set(top[0], 2);
      stack.pop();
      work.pop();
    } else if (state.get(next) === 1) {
      const cycle = stack.slice(stack.indexOf(next));
      const key = [...cycle].sort().join('|');
      if (!seen.has(key)) {
        seen.add(key);
        cycles.push([...cycle, next].map((f) => relative(root, f)));
      }
    } else if (!state.has(next)) {
      state.set(next, 1);
      stack.push(next);
      work.push([next, 0]);
    }
  }
}
for (const file of files) if (!state.has(file)) visit(file);

/** DESIGN.md's layers, lowest first: a folder (or top-level file) of src/ and its rank. */
const LAYERS = [
  ['tensor', 'data', 'storage', 'errors.ts', 'random.ts', 'options.ts', 'diagnostics.ts'],
  ['onnx'],
  ['runtime'],
  ['autodiff'],
  ['model'],
  ['norms', 'criteria', 'physical'],
  ['attacks', 'defenses', 'training', 'certify', 'text', 'probes'],
  ['report'],
  ['evaluation'],
  ['cli', 'server', 'web'],
  ['index.ts', 'sequence-api.ts'],
];
const rank = new Map(LAYERS.flatMap((names, i) => names.map((n) => [n, i])));
const topOf = (file) => relative(src, file).split('/')[0];
const isTest = (file) => file.endsWith('.test.ts') || file.includes('/testing/');
const upward = [];
for (const [file, targets] of edges) {
  if (isTest(file)) continue;
  const from = rank.get(topOf(file));
  if (from === undefined) {
    upward.push(`${relative(root, file)}: src/${topOf(file)} is in no layer of tools/lint/imports.mjs (add it where DESIGN.md puts it)`);
    continue;
  }
  for (const target of targets) {
    const to = rank.get(topOf(target));
    if (to !== undefined && to > from)
      upward.push(`layer: ${relative(root, file)} (${topOf(file)}) imports ${relative(root, target)} (${topOf(target)}, a higher layer)`);
  }
}

const problems = [...cycles.map((c) => `import cycle: ${c.join(' → ')}`), ...upward];
if (problems.length > 0) {
  for (const p of problems) console.log(p);
  console.log(`${cycles.length} import cycle(s), ${upward.length} upward import(s) among ${files.length} modules`);
  process.exit(1);
}
console.log(`no import cycles, no upward imports among ${files.length} modules`);
