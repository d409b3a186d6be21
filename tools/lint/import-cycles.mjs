#!/usr/bin/env node
/**
 * Fails when the modules under the given folders (default: src) import each other in a cycle.
 * Imports are read and resolved by the TypeScript compiler itself (`preProcessFile` and
 * `resolveModuleName` with the project's tsconfig), so `./x.js` specifiers find `x.ts` exactly as
 * tsc does; type-only imports count too (a cycle of types is still a tangle of concepts).
 * madge would do this, but its current release requires TypeScript 5 and the project builds with 6.
 *
 *   node tools/lint/import-cycles.mjs [folder …]
 *
 * Prints the cycles it finds (at least one through every tangle of modules), as a → b → … → a,
 * and exits 1; otherwise prints how many modules it read.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '..', '..');
const folders = (process.argv.length > 2 ? process.argv.slice(2) : ['src']).map((f) => resolve(root, f));
const config = ts.parseJsonConfigFileContent(ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

const files = folders.flatMap(sources);
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

if (cycles.length > 0) {
  for (const c of cycles) console.log(`import cycle: ${c.join(' → ')}`);
  console.log(`${cycles.length} import cycle(s) among ${files.length} modules`);
  process.exit(1);
}
console.log(`no import cycles among ${files.length} modules`);
