/**
 * `node dist/bench/oracle-speed.js [--seconds 2] [--threads 1] [--json]`
 * Queries per second through a score oracle over models/mnist-standard.onnx, asked about 1 or 100
 * examples per call, three ways: the OnnxModel in process, and an HttpModel against a local model
 * server (test/helpers/model-server.ts, the same OnnxModel behind node:http on 127.0.0.1) in batch
 * mode (one request per call) and in single mode (one request per example, 4 in flight). The
 * ratio is HTTP over in-process: what JSON over loopback costs. The server runs in this process,
 * so client and server share the event loop and the figures include both sides' serialisation.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadMnist } from '../src/data/mnist.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import { scoreOracle, type ClassifierModel } from '../src/model/oracles.js';
import { HttpModel, type RequestMode } from '../src/model/remote/http-model.js';
import { sliceBatch, type Tensor } from '../src/tensor/tensor.js';
import { startModelServer } from '../test/helpers/model-server.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface OracleSpeed {
  /** 'onnx', 'http-batch' or 'http-single'. */
  readonly oracle: string;
  /** Examples per oracle call. */
  readonly batch: number;
  readonly threads: number;
  readonly queries_per_s: number;
  /** HTTP requests sent per second (absent for 'onnx'). */
  readonly requests_per_s?: number;
  /** queries_per_s over the in-process oracle's at the same batch. */
  readonly ratio: number;
}

export interface OracleSpeedOptions {
  /** Default models/mnist-standard.onnx. */
  readonly modelPath?: string;
  /** Measuring time per configuration (default 2 s, after a quarter of that warming up: JIT, connections). */
  readonly seconds?: number;
  /** onnxruntime threads (default 1). */
  readonly threads?: number;
  readonly batches?: readonly number[];
}

/** Calls oracle.scores(x) for `seconds` after a warm-up; `onStart` runs when the measured part starts. */
async function measure(model: ClassifierModel, x: Tensor, seconds: number, onStart: () => void = () => {}): Promise<{ queriesPerS: number; elapsed: number }> {
  const oracle = scoreOracle(model);
  const warm = performance.now();
  do await oracle.scores(x);
  while (performance.now() - warm < seconds * 250);
  onStart();
  const before = oracle.queries;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) await oracle.scores(x);
  const elapsed = (performance.now() - started) / 1000;
  return { queriesPerS: (oracle.queries - before) / elapsed, elapsed };
}

/** Queries/s of the three oracles at each batch size. */
export async function oracleSpeed(options: OracleSpeedOptions = {}): Promise<OracleSpeed[]> {
  const threads = options.threads ?? 1;
  const seconds = options.seconds ?? 2;
  const batches = options.batches ?? [1, 100];
  const onnx = await OnnxModel.load(options.modelPath ?? join(ROOT, 'models', 'mnist-standard.onnx'), { threads });
  const server = await startModelServer(onnx);
  const results: OracleSpeed[] = [];
  try {
    const { x: all } = loadMnist('test', { limit: Math.max(...batches) });
    for (const batch of batches) {
      const x = sliceBatch(all, 0, batch);
      const local = await measure(onnx, x, seconds);
      results.push({ oracle: 'onnx', batch, threads, queries_per_s: local.queriesPerS, ratio: 1 });
      for (const request of ['batch', 'single'] as RequestMode[]) {
        const http = await HttpModel.connect({ url: server.url, inputShape: onnx.inputShape, numClasses: onnx.numClasses, request, concurrency: 4 });
        let before = 0;
        const remote = await measure(http, x, seconds, () => (before = http.stats.requests));
        const requests = http.stats.requests - before;
        results.push({
          oracle: `http-${request}`,
          batch,
          threads,
          queries_per_s: remote.queriesPerS,
          requests_per_s: requests / remote.elapsed,
          ratio: remote.queriesPerS / local.queriesPerS,
        });
      }
    }
  } finally {
    await server.close();
    await onnx.dispose();
  }
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' },
      threads: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const results = await oracleSpeed({ seconds: Number(values.seconds), threads: Number(values.threads) });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  for (const r of results) {
    const requests = r.requests_per_s === undefined ? '' : `, ${r.requests_per_s.toFixed(0)} requests/s`;
    process.stdout.write(
      `score oracle ${r.oracle.padEnd(11)} batch ${String(r.batch).padStart(3)}  threads=${r.threads}  ${r.queries_per_s.toFixed(0).padStart(6)} queries/s${requests}  (×${r.ratio.toFixed(3)} of in-process)\n`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
