/**
 * The playground page: reads the model and examples the user gives (file input, drag and drop,
 * PNG/JPEG decoded here, or the bundled MNIST samples), states the threat model in a form, and
 * hands the work to the Web Worker (worker.ts), which runs gibbon on onnxruntime-web. Results are
 * drawn with report/'s own pieces (the chart's SVG, the gallery's HTML) and offered as downloads:
 * report.json, report.html and the adversarial examples as .npy. Nothing is uploaded; after the
 * page has loaded (bundle, wasm, bundled model and samples) it makes no request.
 *
 * `window.gibbonPlayground` exposes the same work to tests and measurements (input gradients,
 * throughput, the last outcome).
 */
import { formatNpy, parseNpy } from '../tensor/npy.js';
import { inputValues } from '../tensor/input-values.js';
import type { Tensor } from '../tensor/tensor.js';
import { formatEps, formatNormName, formatPercent } from '../report/format.js';
import { gallerySection } from '../report/gallery-html.js';
import type { Report } from '../report/index.js';
import { BUNDLED_SAMPLES } from './evaluation.js';
import { decodeImages } from './images.js';
import type { EvaluationOutcome, EvaluationRequest, ModelInfo, PageMessage, RuntimeInfo, WorkerMessage } from './protocol.js';

/** Largest file the page reads: a protobuf message (an ONNX model) is at most 2 GiB, and so is one typed array. */
const MAX_FILE_BYTES = 2 ** 31 - 1;

/** Refuses a file before reading it into memory when it is larger than the page can hold. */
function checkSize(file: File, what: string): void {
  if (file.size > MAX_FILE_BYTES) throw new Error(`${file.name} (${what}) is ${file.size} bytes; the page reads files up to ${MAX_FILE_BYTES} bytes`);
}

/** Gallery cards shown in the page (all adversarial examples are in the .npy downloads). */
const SHOWN_EXAMPLES = 12;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

let worker = startWorker();
/** The model the worker holds, kept to load it again into a fresh worker after Cancel. */
let current: { bytes: ArrayBuffer; name: string } | undefined;
let samples: { x: Tensor; labels: Int32Array } | undefined;
let model: ModelInfo | undefined;
let runtime: RuntimeInfo | undefined;
let lastOutcome: EvaluationOutcome | undefined;
const downloads: string[] = [];
/** Callers waiting for the worker's next answer of a kind (tests' hooks). */
const waiting = new Map<string, { resolve: (m: WorkerMessage) => void; reject: (e: Error) => void }>();

function send(message: PageMessage, transfer: Transferable[] = []): void {
  if (message.type === 'load-model') current = { bytes: message.bytes.slice(0), name: message.name };
  worker.postMessage(message, transfer);
}

function startWorker(): Worker {
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (event: MessageEvent<WorkerMessage>) => receive(event.data);
  return w;
}

/**
 * Cancel: onnxruntime-web runs sessions synchronously inside the worker, so a message would wait
 * for the whole evaluation; the worker is replaced instead, and the model loaded into the new one.
 */
function cancel(): void {
  worker.terminate();
  for (const [type, w] of waiting) if (type === 'result') w.reject(new Error('the evaluation was cancelled'));
  waiting.delete('result');
  worker = startWorker();
  finishRun('the evaluation was cancelled', true);
  if (current) {
    // Run waits for the model in the new worker ('model' enables it again).
    ($('run') as HTMLButtonElement).disabled = true;
    $('model-info').textContent = `Loading ${current.name} again…`;
    send({ type: 'load-model', bytes: current.bytes, name: current.name });
  }
}

function request<T extends WorkerMessage['type']>(
  message: PageMessage,
  answer: T,
  transfer: Transferable[] = [],
): Promise<Extract<WorkerMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    waiting.set(answer, { resolve: resolve as (m: WorkerMessage) => void, reject });
    send(message, transfer);
  });
}

function status(text: string, error = false): void {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('warn-text', error);
}

function settle(type: string, message: WorkerMessage): void {
  const w = waiting.get(type);
  if (!w) return;
  waiting.delete(type);
  if (message.type === 'error') w.reject(new Error(message.message));
  else w.resolve(message);
}

function receive(m: WorkerMessage): void {
  switch (m.type) {
    case 'ready':
      runtime = m.runtime;
      $('runtime').textContent =
        `onnxruntime-web ${m.runtime.onnxruntime} (WebAssembly, SIMD, ${m.runtime.threads} thread${m.runtime.threads === 1 ? '' : 's'}${m.runtime.crossOriginIsolated ? '' : ': not cross-origin isolated'}).`;
      break;
    case 'model':
      model = m.info;
      $('model-info').textContent =
        `${m.info.name}: input [${m.info.inputShape.map((d) => d ?? 'N').join(', ')}], ${m.info.numClasses} classes${m.info.outputsProbabilities ? ' (probabilities; attacked through the logits)' : ''}`;
      ($('run') as HTMLButtonElement).disabled = false;
      settle('model', m);
      break;
    case 'progress': {
      const bar = $('progress') as HTMLProgressElement;
      bar.max = Math.max(1, m.total);
      bar.value = m.done;
      status(`${m.stage ?? 'clean'}${m.eps !== undefined ? ` at ε = ${formatEps(m.eps)}` : ''}${m.steps ? ` · step ${m.step}/${m.steps}` : ''}`);
      break;
    }
    case 'result':
      lastOutcome = m.outcome;
      showResults(m.outcome);
      finishRun(`done in ${m.outcome.seconds.toFixed(1)} s`);
      settle('result', m);
      break;
    case 'error':
      if (m.during === 'evaluate') finishRun(m.message, true);
      else status(m.message, true);
      settle({ 'load-model': 'model', evaluate: 'result', 'input-grad': 'grad', benchmark: 'benchmark' }[m.during], m);
      break;
    default:
      settle(m.type, m);
  }
}

function finishRun(text: string, error = false): void {
  ($('run') as HTMLButtonElement).disabled = false;
  ($('cancel') as HTMLButtonElement).disabled = true;
  status(text, error);
}

async function loadModelFile(file: File): Promise<void> {
  ($('run') as HTMLButtonElement).disabled = true;
  $('model-info').textContent = `Loading ${file.name}…`;
  try {
    checkSize(file, 'ONNX model');
  } catch (e) {
    $('model-info').textContent = (e as Error).message;
    return;
  }
  const bytes = await file.arrayBuffer();
  await request({ type: 'load-model', bytes, name: file.name }, 'model', [bytes]).catch((e: Error) => {
    $('model-info').textContent = e.message;
  });
}

function numbers(text: string, what: string): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) throw new Error(`${what} must be a comma list of numbers; got '${text}'`);
  return values;
}

async function readNpyFile(input: HTMLInputElement, what: string): Promise<ReturnType<typeof parseNpy>> {
  const file = input.files?.[0];
  if (!file) throw new Error(`choose the ${what} .npy file`);
  checkSize(file, what);
  return parseNpy(new Uint8Array(await file.arrayBuffer()), file.name);
}

/** The examples the form selects, as values in the input domain, with their labels. */
async function examples(bounds: readonly [number, number]): Promise<{ x: Tensor; labels: Int32Array; source: string }> {
  const source = (document.querySelector('input[name="source"]:checked') as HTMLInputElement).value;
  if (source === 'bundled') {
    if (!samples) throw new Error('the bundled samples are not loaded');
    return { ...samples, source: BUNDLED_SAMPLES };
  }
  if (source === 'npy') {
    const xFile = $<HTMLInputElement>('x-file');
    const t = await readNpyFile(xFile, 'inputs');
    const values = inputValues(t, xFile.files![0]!.name, bounds);
    if (!values) throw new Error(`${xFile.files![0]!.name} has dtype ${t.type}; inputs must be float32, float64 or uint8`);
    const y = await readNpyFile($<HTMLInputElement>('y-file'), 'labels');
    if (!['int64', 'int32', 'uint8', 'int8'].includes(y.type)) throw new Error(`labels must be integers; got dtype ${y.type}`);
    return { x: { data: values.data, shape: t.shape }, labels: Int32Array.from(y.data as ArrayLike<number | bigint>, Number), source: xFile.files![0]!.name };
  }
  if (!model) throw new Error('load a model first');
  const files = [...($<HTMLInputElement>('image-files').files ?? [])];
  if (files.length === 0) throw new Error('choose one or more PNG or JPEG images');
  const labels = numbers($<HTMLInputElement>('image-labels').value, 'true classes');
  if (labels.length !== files.length) throw new Error(`${files.length} images but ${labels.length} true classes`);
  const x = await decodeImages(files, model.inputShape, bounds);
  return { x, labels: Int32Array.from(labels), source: files.map((f) => f.name).join(', ') };
}

async function run(event: Event): Promise<void> {
  event.preventDefault();
  ($('run') as HTMLButtonElement).disabled = true;
  status('reading the examples…');
  try {
    const bounds = [Number($<HTMLInputElement>('lower').value), Number($<HTMLInputElement>('upper').value)] as const;
    const attacks = [...document.querySelectorAll<HTMLInputElement>('input[name="attack"]:checked')].map((c) => c.value);
    if (attacks.length === 0) throw new Error('choose at least one attack');
    const data = await examples(bounds);
    lastInputs = data.x;
    const req: EvaluationRequest = {
      ...data,
      bounds,
      norm: $<HTMLSelectElement>('norm').value as 'linf' | 'l2',
      eps: numbers($<HTMLInputElement>('eps').value, 'ε'),
      attacks,
      n: Math.min(Number($<HTMLInputElement>('n').value), data.labels.length),
      seed: Number($<HTMLInputElement>('seed').value),
      checks: $<HTMLInputElement>('checks').checked,
    };
    ($('cancel') as HTMLButtonElement).disabled = false;
    status('starting…');
    send({ type: 'evaluate', request: req });
  } catch (e) {
    finishRun((e as Error).message, true);
  }
}

function download(name: string, content: BlobPart, type: string): HTMLAnchorElement {
  const a = document.createElement('a');
  const url = URL.createObjectURL(new Blob([content], { type }));
  downloads.push(url);
  a.href = url;
  a.download = name;
  a.textContent = name;
  a.className = 'button';
  return a;
}

/** Per ε, the inputs with each broken example replaced by its adversarial (N, …) — aligned with the inputs. */
function adversarialArrays(report: Report, x: Tensor): { eps: number; data: Float32Array; broken: number }[] {
  const row = x.data.length / x.shape[0]!;
  const eps = (report.robust_accuracy ?? []).map((p) => p.eps);
  return eps.map((e) => {
    const data = x.data.slice(0, report.n * row);
    const items = report.gallery.filter((g) => g.eps === e);
    for (const g of items) data.set(g.adversarial, g.index * row);
    return { eps: e, data, broken: items.length };
  });
}

let lastInputs: Tensor | undefined;

function showResults(outcome: EvaluationOutcome): void {
  const { report } = outcome;
  $('results').hidden = false;
  const norm = formatNormName(String(report.threat_model['norm'] ?? 'linf'));
  const rows = [
    `<tr><th>ε (${norm})</th><th>accuracy</th></tr>`,
    `<tr class="clean-row"><td>clean</td><td class="num">${formatPercent(report.clean_accuracy)}</td></tr>`,
    ...report.robust_accuracy.map((p) => `<tr><td>${formatEps(p.eps)}</td><td class="num" data-eps="${p.eps}">${formatPercent(p.accuracy)}</td></tr>`),
  ];
  $('summary').innerHTML = rows.join('');
  $('summary').className = 'data';
  // Static SVG from report/chart.ts, the markup report.html embeds (no script; its text is escaped by ECharts).
  $('chart').innerHTML = outcome.chartSvg;
  for (const url of downloads.splice(0)) URL.revokeObjectURL(url);
  const links = $('downloads');
  links.replaceChildren(download('report.json', outcome.reportJson, 'application/json'), download('report.html', outcome.reportHtml, 'text/html'));
  if (lastInputs && report.gallery[0]?.shape) {
    for (const a of adversarialArrays(report, lastInputs)) {
      const t = { type: 'float32' as const, data: a.data, shape: [report.n, ...lastInputs.shape.slice(1)] };
      links.append(download(`adversarial-eps-${a.eps}.npy`, formatNpy(t) as BlobPart, 'application/octet-stream'));
    }
  }
  const largest = report.robust_accuracy.at(-1)?.eps;
  const shown = { ...report, gallery: report.gallery.filter((g) => g.eps === largest).slice(0, SHOWN_EXAMPLES) };
  $('examples').innerHTML = gallerySection(shown, norm).toString();
}

async function loadBundled(): Promise<void> {
  const [modelBytes, x, y] = await Promise.all(
    ['samples/mnist-standard.onnx', 'samples/mnist-test-x.npy', 'samples/mnist-test-y.npy'].map(async (p) => {
      const r = await fetch(p);
      if (!r.ok) throw new Error(`${p}: HTTP ${r.status}`);
      return new Uint8Array(await r.arrayBuffer());
    }),
  );
  const xt = parseNpy(x!, 'mnist-test-x.npy');
  samples = { x: { data: xt.data as Float32Array, shape: xt.shape }, labels: Int32Array.from(parseNpy(y!, 'mnist-test-y.npy').data as Int32Array) };
  $('sample-count').textContent = String(samples.labels.length);
  await request({ type: 'load-model', bytes: modelBytes!.buffer as ArrayBuffer, name: 'mnist-standard.onnx (bundled)' }, 'model', [
    modelBytes!.buffer as ArrayBuffer,
  ]);
}

function wire(): void {
  $('form').addEventListener('submit', (e) => void run(e));
  $('cancel').addEventListener('click', cancel);
  $<HTMLInputElement>('model-file').addEventListener('change', (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void loadModelFile(f);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files[0];
    if (f) void loadModelFile(f);
  });
}

const ready = (async () => {
  wire();
  await loadBundled();
  return runtime;
})();

Object.assign(globalThis, {
  gibbonPlayground: {
    ready,
    lastOutcome: () => lastOutcome,
    loadModel: (bytes: ArrayBuffer, name: string) => request({ type: 'load-model', bytes, name }, 'model', [bytes]),
    inputGrad: (x: Tensor, labels: Int32Array, loss: 'ce' | 'margin' | 'dlr') => request({ type: 'input-grad', x, labels, loss }, 'grad'),
    benchmark: (batch: number, runs: number) => request({ type: 'benchmark', batch, runs }, 'benchmark'),
  },
});
