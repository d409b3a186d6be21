/**
 * The playground's Web Worker: gibbon itself, run off the page's thread so the page stays
 * responsive. It holds the loaded model (an OnnxModel on onnxruntime-web) and runs evaluations
 * through the same runner as `gibbon eval` (evaluation/runner.ts, without an output folder), so the
 * numbers and report.json/report.html are the CLI's. Nothing here fetches anything but the
 * onnxruntime wasm files beside the bundle, which the first model load brings in.
 */
import { GibbonError } from '../errors.js';
import { evaluate } from '../evaluation/runner.js';
import { OnnxModel } from '../model/onnx-model.js';
import { parseModel } from '../onnx/model.js';
import { argmaxPerRow } from '../tensor/scores.js';
import type { PageMessage, WorkerMessage } from './protocol.js';
import { evaluationInputs, finishedOutcome } from './evaluation.js';
import { configureWebRuntime, webRuntimeVersion } from './onnxruntime.js';

interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<PageMessage>) => void) | null;
  readonly crossOriginIsolated: boolean;
  readonly location: { readonly href: string };
  readonly navigator: { readonly hardwareConcurrency: number };
}

const scope = globalThis as unknown as WorkerScope;
/** onnxruntime-web threads: only a cross-origin isolated page has SharedArrayBuffer. */
const threads = scope.crossOriginIsolated ? Math.max(1, Math.min(4, scope.navigator.hardwareConcurrency)) : 1;
configureWebRuntime(new URL('./', scope.location.href).href, threads);

let model: OnnxModel | undefined;
let modelName = 'model';
let announced = false;

const post = (message: WorkerMessage, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);

async function loadModel(bytes: ArrayBuffer, name: string): Promise<void> {
  const next = await OnnxModel.load(parseModel(new Uint8Array(bytes), { path: name }), { threads });
  await model?.dispose();
  model = next;
  modelName = name;
  if (!announced) {
    announced = true;
    post({ type: 'ready', runtime: { threads, crossOriginIsolated: scope.crossOriginIsolated, onnxruntime: webRuntimeVersion() } });
  }
  post({
    type: 'model',
    info: { name, inputShape: next.inputShape, numClasses: next.numClasses, outputsProbabilities: next.outputsProbabilities, sha256: next.ir.sha256 ?? '' },
  });
}

function loaded(): OnnxModel {
  if (!model) throw new GibbonError('invalid_option', 'load a model first', { option: 'model' });
  return model;
}

async function handle(message: PageMessage): Promise<void> {
  switch (message.type) {
    case 'load-model':
      return loadModel(message.bytes, message.name);
    case 'evaluate': {
      const m = loaded();
      const started = performance.now();
      const inputs = evaluationInputs(message.request, m, modelName);
      const result = await evaluate({
        ...inputs,
        model: m,
        white: m,
        threads,
        gibbonVersion: 'playground',
        onProgress: (p) => post({ type: 'progress', done: p.done, total: p.total, eps: p.eps, stage: p.stage, step: p.step, steps: p.steps }),
      });
      post({ type: 'result', outcome: finishedOutcome(result.report, (performance.now() - started) / 1000) });
      return;
    }
    case 'input-grad': {
      const r = await loaded().lossAndGrad(message.x, message.labels, message.loss);
      post({ type: 'grad', grad: r.grad, loss: r.loss, logits: r.logits });
      return;
    }
    case 'benchmark': {
      const m = loaded();
      const example = m.inputShape.slice(1).map((d) => d ?? 1);
      const row = example.reduce((a, b) => a * b, 1);
      const x = { data: Float32Array.from({ length: message.batch * row }, (_, i) => ((i * 7919) % 256) / 255), shape: [message.batch, ...example] };
      const labels = Int32Array.from(argmaxPerRow(await m.logits(x), m.numClasses));
      await m.lossAndGrad(x, labels, 'ce'); // builds the gradient graph and warms the session
      const t0 = performance.now();
      for (let r = 0; r < message.runs; r++) await m.lossAndGrad(x, labels, 'ce');
      const seconds = (performance.now() - t0) / 1000;
      post({ type: 'benchmark', imagesPerSecond: (message.batch * message.runs) / seconds, batch: message.batch, runs: message.runs });
      return;
    }
  }
}

scope.onmessage = (event) => {
  handle(event.data).catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e), during: event.data.type }));
};
