#!/usr/bin/env node
/**
 * Builds the browser playground (web/ + src/web/) into a static folder any server can host:
 *
 *   node tools/web/build-web.mjs [--out DIR]     (default dist/web; `npm run build:web` builds dist/ first)
 *
 * esbuild bundles src/web/playground.ts (the page) and src/web/worker.ts (the Web Worker that runs
 * gibbon) for the browser. The library is bundled from its TypeScript sources as it is; the only
 * differences from Node are these seams, all here:
 * - `onnxruntime-node` (imported by runtime/session.ts only) resolves to src/web/onnxruntime.ts,
 *   onnxruntime-web's WebAssembly backend (same InferenceSession API); its wasm glue and binary
 *   (SIMD, threaded build) are copied beside the bundle, never fetched from a CDN;
 * - the Node built-ins listed in BUILTINS resolve to browser stand-ins in src/web/node-builtins/
 *   (no file system: those throw, naming the function), and `process` to a constant stand-in.
 *   Any other Node built-in reached from the page fails the build, naming the importer.
 * Also written: page.css, the report's style sheet (report/page.ts); copied: web/*.html|css, the bundled MNIST model, and the first 100 MNIST test images with
 * their labels as .npy (made from dist/, so build the TypeScript first).
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILTINS_DIR = join(ROOT, 'src', 'web', 'node-builtins');
/** Node built-ins the bundled library imports, each with its browser stand-in (src/web/node-builtins/<name>.ts). */
const BUILTINS = ['fs', 'path', 'os', 'crypto', 'buffer', 'module'];
const ORT_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
export const SAMPLE_COUNT = 100;

/** esbuild plugin: the seams above, and a record of which modules needed a stand-in. */
function browserSeams(uses) {
  return {
    name: 'gibbon-browser-seams',
    setup(build) {
      build.onResolve({ filter: /^onnxruntime-node$/ }, () => ({ path: join(ROOT, 'src', 'web', 'onnxruntime.ts') }));
      build.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
        const name = args.path.replace(/^node:/, '');
        const isBuiltin = args.path.startsWith('node:') || BUILTINS.includes(name);
        if (!isBuiltin) return undefined;
        const importer = relative(ROOT, args.importer);
        if (!BUILTINS.includes(name)) {
          return { errors: [{ text: `${importer} imports the Node built-in '${args.path}', which has no browser stand-in (tools/web/build-web.mjs)` }] };
        }
        (uses[name] ??= new Set()).add(importer);
        return { path: join(BUILTINS_DIR, `${name}.ts`) };
      });
    },
  };
}

/** Bundles the playground into `out`; returns what needed a stand-in (built-in → importers). */
export async function buildWeb(out = join(ROOT, 'dist', 'web'), { quiet = false } = {}) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'samples'), { recursive: true });
  const uses = {};
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { playground: 'src/web/playground.ts', worker: 'src/web/worker.ts' },
    outdir: out,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // onnxruntime-web's entry that loads the wasm glue from env.wasm.wasmPaths instead of embedding it.
    conditions: ['onnxruntime-web-use-extern-wasm'],
    inject: [join(BUILTINS_DIR, 'process.ts')],
    plugins: [browserSeams(uses)],
    sourcemap: true,
    minify: true,
    legalComments: 'linked',
    logLevel: quiet ? 'silent' : 'warning',
  });
  for (const f of readdirSync(join(ROOT, 'web'))) if (/\.(html|css)$/.test(f)) copyFileSync(join(ROOT, 'web', f), join(out, f));
  const ort = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
  for (const f of ORT_FILES) copyFileSync(join(ort, f), join(out, f));
  copyFileSync(join(ROOT, 'models', 'mnist-standard.onnx'), join(out, 'samples', 'mnist-standard.onnx'));
  const { loadMnist } = await import(join(ROOT, 'dist', 'src', 'data', 'mnist.js'));
  const { formatNpy } = await import(join(ROOT, 'dist', 'src', 'tensor', 'npy.js'));
  const { PAGE_STYLES } = await import(join(ROOT, 'dist', 'src', 'report', 'page.js'));
  writeFileSync(join(out, 'page.css'), PAGE_STYLES);
  const { x, y } = loadMnist('test', { limit: SAMPLE_COUNT });
  writeFileSync(join(out, 'samples', 'mnist-test-x.npy'), formatNpy({ type: 'float32', data: x.data, shape: x.shape }));
  writeFileSync(join(out, 'samples', 'mnist-test-y.npy'), formatNpy({ type: 'int32', data: y, shape: [y.length] }));
  const seams = Object.fromEntries(Object.entries(uses).map(([k, v]) => [k, [...v].sort()]));
  writeFileSync(join(out, 'seams.json'), `${JSON.stringify(seams, null, 2)}\n`);
  return seams;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--out');
  const out = at > 0 ? resolve(process.argv[at + 1]) : undefined;
  const seams = await buildWeb(out);
  console.log(`built the playground into ${relative(process.cwd(), out ?? join(ROOT, 'dist', 'web')) || '.'}`);
  for (const [name, importers] of Object.entries(seams)) console.log(`  node:${name} stand-in for ${importers.join(', ')}`);
}
