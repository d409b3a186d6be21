/**
 * `npm run fuzz`: random mutations of valid ONNX models, .npy files and threat models, fed to the
 * parsing and validation entry points in-process — parseModel (with external data resolved against
 * a scratch folder) + canonicalize + validateGraph + decodeTensor of every initializer, parseNpy,
 * and parseThreatModel. A crash is any exception that is not a GibbonError, an execution slower than
 * the time limit, or resident memory above the cap. Not part of `npm test`.
 *
 * Every execution's input is a pure function of (seed, index), so a finding is reproduced with
 * `--seed S --only I`. The executions run in a worker thread that reports progress through shared
 * memory; the main thread stops it if an execution hangs (no progress for `--hang-ms`).
 *
 * With --only, the execution's input is written to fuzz-SEED-INDEX.input before it runs.
 *
 * Usage: node dist/test/fuzz/fuzz.js [--executions N] [--seed S] [--only I] [--hang-ms MS] [--slow-ms MS]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, type ModelProto } from 'onnx-buf';
import { parse as yamlParse, stringify } from 'yaml';
import { GibbonError } from '../../src/errors.js';
import { parseThreatModel } from '../../src/evaluation/threat-model.js';
import { canonicalize } from '../../src/onnx/canonicalize.js';
import { parseModel } from '../../src/onnx/model.js';
import { decodeTensor } from '../../src/onnx/tensor-proto.js';
import { validateGraph } from '../../src/onnx/validate.js';
import { formatNpy, parseNpy } from '../../src/tensor/npy.js';
import { encode, externalModel, linearModel, nestedGraphModel, W } from '../hostile/models.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RSS_CAP = 1024 * 1024 * 1024;

interface Options {
  executions: number;
  seed: number;
  only?: number;
  hangMs: number;
  slowMs: number;
}

function parseOptions(argv: readonly string[]): Options {
  const o: Options = { executions: 100_000, seed: 1, hangMs: 10_000, slowMs: 1_000 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${argv[i]} needs a non-negative integer`);
    if (argv[i] === '--executions') o.executions = v;
    else if (argv[i] === '--seed') o.seed = v;
    else if (argv[i] === '--only') o.only = v;
    else if (argv[i] === '--hang-ms') o.hangMs = v;
    else if (argv[i] === '--slow-ms') o.slowMs = v;
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

/** mulberry32, seeded per execution from (seed, index). */
function rngFor(seed: number, index: number): () => number {
  let a = (Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const pick = <T>(rng: Rng, list: readonly T[]): T => list[int(rng, list.length)]!;

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x1a, 0x22, 0x3a, 0x42];
const INTERESTING_BIGINTS = [0n, 1n, -1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 7n, 9999n];
const INTERESTING_TEXT = ['', '..', '../secret.bin', '/etc/passwd', '/dev/zero', 'fifo', 'weights.bin', 'a\0b', 'x'.repeat(300), '__proto__', 'constructor'];

/** Byte-level mutations: flips, interesting bytes, inserts, deletes, duplicated ranges, truncation, splices. */
function mutateBytes(rng: Rng, input: Uint8Array, other: Uint8Array): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = 1 + int(rng, 4);
  for (let r = 0; r < rounds; r++) {
    const at = b.length ? int(rng, b.length) : 0;
    switch (int(rng, 7)) {
      case 0:
        if (b.length) b[at]! ^= 1 << int(rng, 8);
        break;
      case 1:
        if (b.length) b[at] = pick(rng, INTERESTING_BYTES);
        break;
      case 2: {
        const extra = Uint8Array.from({ length: 1 + int(rng, 16) }, () => int(rng, 256));
        b = concat(b.subarray(0, at), extra, b.subarray(at));
        break;
      }
      case 3:
        b = concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(rng, 32))));
        break;
      case 4: {
        const len = Math.min(b.length - at, 1 + int(rng, 64));
        b = concat(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at));
        break;
      }
      case 5:
        b = b.subarray(0, at);
        break;
      default: {
        const from = other.length ? int(rng, other.length) : 0;
        b = concat(b.subarray(0, at), other.subarray(from, from + 1 + int(rng, 128)));
      }
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Field-level mutations of a decoded model: versions, dims, types, names, raw data, external data, graph wiring. */
function mutateModel(rng: Rng, m: ModelProto): void {
  const g = m.graph;
  const rounds = 1 + int(rng, 3);
  for (let r = 0; r < rounds; r++) {
    switch (int(rng, 12)) {
      case 0:
        m.irVersion = pick(rng, INTERESTING_BIGINTS);
        break;
      case 1:
        if (m.opsetImport.length) pick(rng, m.opsetImport).version = pick(rng, [...INTERESTING_BIGINTS, 8n, 13n, 18n, 23n]);
        break;
      case 2:
        m.opsetImport.push({ ...m.opsetImport[0]!, version: pick(rng, INTERESTING_BIGINTS) });
        break;
      default: {
        if (!g) return;
        const t = g.initializer.length ? pick(rng, g.initializer) : undefined;
        const n = g.node.length ? pick(rng, g.node) : undefined;
        switch (int(rng, 9)) {
          case 0:
            if (t && t.dims.length) t.dims[int(rng, t.dims.length)] = pick(rng, INTERESTING_BIGINTS);
            break;
          case 1:
            if (t) t.dataType = int(rng, 25);
            break;
          case 2:
            if (t) t.rawData = t.rawData.subarray(0, int(rng, t.rawData.length + 1));
            break;
          case 3:
            if (t) {
              t.rawData = new Uint8Array(0);
              t.dataLocation = TensorProto_DataLocation.EXTERNAL;
              t.externalData = [
                create(StringStringEntryProtoSchema, { key: 'location', value: pick(rng, INTERESTING_TEXT) }),
                create(StringStringEntryProtoSchema, {
                  key: pick(rng, ['offset', 'length', 'checksum', 'evil']),
                  value: pick(rng, ['0', '-1', '1e3', '48', String(2n ** 62n), 'x']),
                }),
              ];
            }
            break;
          case 4:
            if (t && g.initializer.length > 1) t.name = pick(rng, g.initializer).name;
            break;
          case 5:
            if (n && n.input.length) n.input[int(rng, n.input.length)] = pick(rng, [...g.node.flatMap((k) => k.output), ...INTERESTING_TEXT]);
            break;
          case 6:
            if (n && n.output.length) n.output[int(rng, n.output.length)] = pick(rng, [...g.node.flatMap((k) => k.output), ...g.input.map((v) => v.name), '']);
            break;
          case 7:
            if (n) n.opType = pick(rng, ['Constant', 'If', 'Loop', 'Scan', 'Softmax', 'Upsample', 'Clip', 'Slice', 'MadeUp', '']);
            break;
          default:
            if (n && n.attribute.length) {
              const a = pick(rng, n.attribute);
              a.i = pick(rng, INTERESTING_BIGINTS);
              a.ints = a.ints.map(() => pick(rng, INTERESTING_BIGINTS));
              a.type = int(rng, 15);
            }
        }
      }
    }
  }
}

const THREAT_SEEDS = [
  'knowledge: white-box\nnorm: linf\neps: [0.1, 0.3]\ninput: { bounds: [0, 1], shape: [1, 28, 28] }\ndata: mnist-test\nn: 10\nseed: 3\n',
  'knowledge: transfer\nnorm: l2\neps: [0.5]\ntargeted: { targets: random }\nsurrogate: s.onnx\ninput: { bounds: [0, 255], shape: [4] }\ndata: { x: x.npy, labels: y.npy }\n',
  'knowledge: scores\nnorm: linf\neps: [0.03]\nquery_budget: 100\ninput: { bounds: [0, 1], shape: [4] }\ndata: { x: x.npy, labels: y.npy }\nendpoint:\n  url: http://127.0.0.1:8080/predict\n  outputs: probabilities\n  output_path: predictions.*.scores\n  auth: { env: TOKEN }\n  timeout_ms: 1000\n  retries: 1\n',
  '{"knowledge": "decision", "norm": "l2", "eps": [1, 2], "input": {"bounds": [-1, 1], "shape": [3, 8, 8]}, "query_budget": 500, "data": "mnist-test"}',
];

const INTERESTING_VALUES: unknown[] = [
  null,
  true,
  -1,
  0,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  'x',
  '../../etc/passwd',
  '/dev/zero',
  [],
  {},
  [[[[]]]],
  { a: { b: { c: 1 } } },
  'http://user:pw@127.0.0.1/',
  'file:///etc/passwd',
];

function mutateThreatObject(rng: Rng, value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || rng() < 0.2) return pick(rng, INTERESTING_VALUES);
    const i = int(rng, value.length);
    const copy = [...value];
    copy[i] = mutateThreatObject(rng, copy[i]);
    return copy;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    if (entries.length === 0 || rng() < 0.15) copy[pick(rng, ['extra', 'eps', 'n', 'input', 'endpoint', '__proto__'])] = pick(rng, INTERESTING_VALUES);
    else {
      const [k, v] = pick(rng, entries);
      if (rng() < 0.1) delete copy[k];
      else copy[k] = mutateThreatObject(rng, v);
    }
    return copy;
  }
  return pick(rng, INTERESTING_VALUES);
}

interface Corpus {
  readonly models: Uint8Array[];
  readonly npys: Uint8Array[];
  readonly scratch: string;
}

function buildCorpus(): Corpus {
  const scratch = mkdtempSync(join(tmpdir(), 'gibbon-fuzz-'));
  writeFileSync(join(scratch, 'weights.bin'), new Uint8Array(60));
  writeFileSync(join(scratch, 'other.bin'), new Uint8Array(16));
  symlinkSync('/etc/passwd', join(scratch, 'link-out.bin'));
  execFileSync('mkfifo', [join(scratch, 'fifo')]);
  const zoo = join(ROOT, 'test', 'fixtures', 'zoo');
  const models = [
    encode(linearModel()),
    externalModel(
      { location: 'weights.bin', offset: '0', length: String(W.byteLength) },
      { location: 'weights.bin', offset: String(W.byteLength), length: '12' },
    ),
    nestedGraphModel(3),
    ...readdirSync(zoo)
      .filter((f) => f.endsWith('.onnx'))
      .sort()
      .map((f) => new Uint8Array(readFileSync(join(zoo, f)))),
  ];
  const npyDir = join(ROOT, 'test', 'fixtures', 'npy');
  const npys = [
    ...readdirSync(npyDir)
      .filter((f) => f.endsWith('.npy'))
      .sort()
      .map((f) => new Uint8Array(readFileSync(join(npyDir, f)))),
    formatNpy({ type: 'float32', data: new Float32Array(12), shape: [3, 4] }),
  ];
  return { models, npys, scratch };
}

type Target = 'onnx-bytes' | 'onnx-fields' | 'npy' | 'threat-text' | 'threat-fields';
const TARGETS: readonly Target[] = ['onnx-bytes', 'onnx-fields', 'onnx-fields', 'npy', 'threat-text', 'threat-fields'];

function runOnnx(bytes: Uint8Array, scratch: string): void {
  const ir = parseModel(bytes, { path: join(scratch, 'fuzz.onnx') });
  for (const t of ir.graph.initializers.values()) decodeTensor(t);
  const canon = canonicalize(ir);
  validateGraph(canon.graph, 'fuzz.onnx');
}

/** One execution; returns the target name. Throws what the entry point threw. `keep` sees the input first. */
function execute(corpus: Corpus, seed: number, index: number, keep: (input: Uint8Array | string) => void = () => {}): Target {
  const rng = rngFor(seed, index);
  const target = pick(rng, TARGETS);
  switch (target) {
    case 'onnx-bytes': {
      const bytes = mutateBytes(rng, pick(rng, corpus.models), pick(rng, corpus.models));
      keep(bytes);
      runOnnx(bytes, corpus.scratch);
      break;
    }
    case 'onnx-fields': {
      const m = fromBinary(ModelProtoSchema, pick(rng, corpus.models));
      mutateModel(rng, m);
      const bytes = toBinary(ModelProtoSchema, m);
      keep(bytes);
      runOnnx(bytes, corpus.scratch);
      break;
    }
    case 'npy': {
      const bytes = mutateBytes(rng, pick(rng, corpus.npys), pick(rng, corpus.npys));
      keep(bytes);
      parseNpy(bytes, 'fuzz.npy');
      break;
    }
    case 'threat-text': {
      let text = new TextDecoder().decode(
        mutateBytes(rng, new TextEncoder().encode(pick(rng, THREAT_SEEDS)), new TextEncoder().encode(pick(rng, THREAT_SEEDS))),
      );
      if (rng() < 0.02) {
        // Deep nesting and alias fan-out: what a recursive or expanding parser chokes on.
        const depth = pick(rng, [100, 10_000, 100_000]);
        text += pick(rng, [
          `\nextra: ${'['.repeat(depth)}${']'.repeat(depth)}`,
          `\nextra: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`,
          '\na: &a [1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]',
        ]);
      }
      keep(text);
      parseThreatModel(text, 'fuzz.yaml', { baseDir: corpus.scratch, json: rng() < 0.3 });
      break;
    }
    default: {
      const seedIndex = int(rng, THREAT_SEEDS.length);
      const base = JSON.parse(JSON.stringify(parseYamlLoosely(THREAT_SEEDS[seedIndex]!))) as unknown;
      const mutated = mutateThreatObject(rng, mutateThreatObject(rng, base));
      const json = rng() < 0.5;
      const text = json ? JSON.stringify(mutated) : stringify(mutated);
      keep(text);
      parseThreatModel(text, 'fuzz.yaml', { baseDir: corpus.scratch, json });
    }
  }
  return target;
}

const parsedSeeds = new Map<string, unknown>();
function parseYamlLoosely(text: string): unknown {
  let v = parsedSeeds.get(text);
  if (v === undefined) {
    // The seeds are valid YAML (JSON is YAML); yaml's parse gives the plain object.
    v = (JSON.parse(JSON.stringify(yamlParse(text))) as unknown) ?? {};
    parsedSeeds.set(text, v);
  }
  return v;
}

interface Finding {
  readonly index: number;
  readonly target: string;
  readonly kind: 'crash' | 'slow' | 'memory';
  readonly text: string;
}

/** The worker: runs executions [from, to) and posts findings; progress goes through shared memory. */
function workerMain(): void {
  const { seed, from, to, only, slowMs, progress } = workerData as {
    seed: number;
    from: number;
    to: number;
    only?: number;
    slowMs: number;
    progress: SharedArrayBuffer;
  };
  const counter = new Int32Array(progress);
  const corpus = buildCorpus();
  const targets = new Map<string, number>();
  try {
    for (let i = from; i < to; i++) {
      if (only !== undefined && i !== only) continue;
      Atomics.store(counter, 1, i);
      const started = performance.now();
      let target = 'unknown';
      try {
        // With --only, the input is saved first (fuzz-SEED-INDEX.input in the working folder) to reproduce a finding.
        target = execute(corpus, seed, i, only === undefined ? undefined : (input) => writeFileSync(`fuzz-${seed}-${i}.input`, input));
      } catch (e) {
        target = pick(rngFor(seed, i), TARGETS);
        if (!(e instanceof GibbonError)) {
          const err = e as Error;
          parentPort!.postMessage({
            finding: {
              index: i,
              target,
              kind: 'crash',
              text: `${err?.name}: ${err?.message}\n${(err?.stack ?? '').split('\n').slice(1, 5).join('\n')}`,
            } satisfies Finding,
          });
        }
      }
      targets.set(target, (targets.get(target) ?? 0) + 1);
      const ms = performance.now() - started;
      if (ms > slowMs) parentPort!.postMessage({ finding: { index: i, target, kind: 'slow', text: `${ms.toFixed(0)} ms` } satisfies Finding });
      if ((i & 1023) === 0 && process.memoryUsage().rss > RSS_CAP) {
        parentPort!.postMessage({
          finding: { index: i, target, kind: 'memory', text: `resident memory ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB` } satisfies Finding,
        });
      }
      Atomics.add(counter, 0, 1);
    }
  } finally {
    rmSync(corpus.scratch, { recursive: true, force: true });
  }
  parentPort!.postMessage({ done: Object.fromEntries(targets) });
}

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const findings: Finding[] = [];
  const progress = new SharedArrayBuffer(8);
  const counter = new Int32Array(progress);
  let next = o.only ?? 0;
  const end = o.only !== undefined ? o.only + 1 : o.executions;
  let peakRss = 0;
  let lastPrint = 0;
  // A hang kills the worker; the run goes on with a fresh worker after the hanging execution.
  while (next < end) {
    const from = next;
    let outcomeSet: 'hang' | undefined;
    const outcome = await new Promise<'done' | 'hang' | 'died'>((resolve) => {
      const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { seed: o.seed, from, to: end, only: o.only, slowMs: o.slowMs, progress } });
      let last = Atomics.load(counter, 0);
      let lastChange = performance.now();
      const watch = setInterval(() => {
        const now = Atomics.load(counter, 0);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        if (now !== last) {
          last = now;
          lastChange = performance.now();
          if (performance.now() - lastPrint > 2000 && process.stderr.isTTY) {
            lastPrint = performance.now();
            process.stderr.write(`\r${now} executions, ${findings.length} findings, ${((performance.now() - started) / 1000).toFixed(0)} s`);
          }
        } else if (performance.now() - lastChange > o.hangMs) {
          clearInterval(watch);
          outcomeSet = 'hang';
          void worker.terminate().then(() => resolve('hang'));
        }
      }, 100);
      worker.on('message', (m: { finding?: Finding; done?: Record<string, number> }) => {
        if (m.finding) findings.push(m.finding);
      });
      let finished = false;
      worker.on('message', (m: { done?: unknown }) => {
        if (m.done) finished = true;
      });
      worker.on('error', (e: unknown) => {
        findings.push({ index: Atomics.load(counter, 1), target: 'worker', kind: 'crash', text: `worker died: ${(e as Error).stack ?? String(e)}` });
      });
      worker.on('exit', (code) => {
        clearInterval(watch);
        if (outcomeSet === 'hang') resolve('hang');
        else if (!finished) {
          findings.push({ index: Atomics.load(counter, 1), target: 'worker', kind: 'crash', text: `worker exited (code ${code}) during this execution` });
          resolve('died');
        } else resolve('done');
      });
    });
    if (outcome === 'hang') {
      const index = Atomics.load(counter, 1);
      findings.push({ index, target: pick(rngFor(o.seed, index), TARGETS), kind: 'slow', text: `no progress for ${o.hangMs} ms (hang)` });
      Atomics.add(counter, 0, 1);
      next = index + 1;
    } else if (outcome === 'died') {
      Atomics.add(counter, 0, 1);
      next = Atomics.load(counter, 1) + 1;
    } else next = end;
  }
  const seconds = (performance.now() - started) / 1000;
  const executions = Atomics.load(counter, 0);
  process.stderr.write('\n');
  const unique = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = `${f.kind} ${f.target} ${f.text.split('\n')[0]!.replace(/\d+/g, 'N')}`;
    const list = unique.get(key);
    if (list) list.push(f);
    else unique.set(key, [f]);
  }
  for (const [key, list] of unique) {
    console.log(`${key} — ${list.length}× (first: --seed ${o.seed} --only ${list[0]!.index})`);
    console.log(`  ${list[0]!.text.split('\n').join('\n  ')}`);
  }
  // The target of execution i is the first draw of its generator, so the counts need no reports from workers.
  const perTarget = new Map<string, number>();
  for (let i = o.only ?? 0; i < (o.only ?? 0) + executions; i++) {
    const t = pick(rngFor(o.seed, i), TARGETS);
    perTarget.set(t, (perTarget.get(t) ?? 0) + 1);
  }
  console.log(`executions: ${executions} (${[...perTarget].map(([t, n]) => `${t} ${n}`).join(', ')})`);
  console.log(
    `crashes: ${findings.filter((f) => f.kind === 'crash').length}, slow or hung: ${findings.filter((f) => f.kind === 'slow').length}, memory: ${findings.filter((f) => f.kind === 'memory').length}; unique: ${unique.size}`,
  );
  console.log(
    `time: ${seconds.toFixed(1)} s (${(executions / seconds).toFixed(0)} executions/s), seed ${o.seed}, peak main-thread RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  return findings.length === 0 ? 0 : 1;
}

if (isMainThread) process.exitCode = await main();
else workerMain();
