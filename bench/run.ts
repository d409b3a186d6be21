/**
 * `npm run bench [-- --json] [--threads 1,2] [--models a,b] [--tasks t1,t2] [--no-peer]`
 * Throughput (images/s) at batch 128 of
 * - forward, input_grad (forward + CE + input gradient) and pgd40 (40 PGD steps with projection per
 *   image), against PyTorch measured in the same run by ../shared/tools/peer_speed.py when
 *   python3-torch is installed (else the manifest's older figures);
 * - train_step (the trainer's step: Trainable.trainStep + SGD momentum 0.9) and train_step_fast_at
 *   (fast-AT: one eval-mode FGSM step from a random start, then that step), see train-speed.ts,
 *   against PyTorch measured in the same run by bench/peer_train.py (else 'no peer');
 * - eval_fast / eval_auto: the whole `gibbon eval` runner on 100 MNIST images (no peer).
 * - text_attacks: PWWS and DeepWordBug queries/s and attacked texts/s on spam-bag.onnx (text-speed.ts).
 * Models: mnist_mlp and mnist_cnn (reference ONNX files), madry_cnn and cnn (built-in 'madry' and
 * 'cnn' architectures, seeded random weights); resnet18_32 and mobilenetv2_224 (exported from
 * PyTorch by bench/peer_architectures.py into bench/.models/, forward, input_grad and train_step
 * against PyTorch and against the machine's calibrated peak FLOP/s, see architecture-speed.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OnnxModel } from '../src/model/onnx-model.js';
import { loadModel, type ModelIR } from '../src/onnx/model.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { buildArchitecture } from '../src/training/architectures.js';
import { madryCnn } from './models.js';
import { linf } from '../src/norms/linf.js';
import { UNIT_BOUNDS } from '../src/model/bounds.js';
import { evalThroughput } from './eval-throughput.js';
import { median } from './timing.js';
import { oracleSpeed } from './oracle-speed.js';
import { textSpeed } from './text-speed.js';
import { TRAIN_TASKS, trainStepRunner, type TrainTask } from './train-speed.js';
import { ARCHITECTURE_MODELS, ARCHITECTURE_TASKS, architectureSpeed, calibratePeak, peakLine, type ArchitectureModel } from './architecture-speed.js';
import { forwardFlopsPerImage } from './flops.js';

/** Work per image of each attack task, in forward passes: the input gradient costs a forward and a backward (≈ 2 forwards of arithmetic). */
const ATTACK_WORK: Record<string, number> = { forward: 1, input_grad: 2, pgd40: 80 };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = resolve(ROOT, '..', 'shared');
const PEER_TRAIN = join(ROOT, 'bench', 'peer_train.py');
const PEER_ARCHITECTURES = join(ROOT, 'bench', 'peer_architectures.py');
const ARCHITECTURE_DIR = join(ROOT, 'bench', '.models');
const BATCH = 128;

interface Result {
  model: string;
  task: string;
  batch: number;
  threads: number;
  images_per_s: number;
  peer_images_per_s?: number;
  ratio?: number;
  peer_source?: string;
  /** Achieved FLOP/s (convolutions and matrix products, see flops.ts) as a fraction of the calibrated peak. */
  peak_fraction?: number;
  /** input_grad only: its time per image over forward's, same run (≈ 2 would be the arithmetic alone). */
  backward_forward_ratio?: number;
}

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    threads: { type: 'string', default: '1,2' },
    models: { type: 'string', default: 'mnist_mlp,mnist_cnn,madry_cnn,cnn,resnet18_32,mobilenetv2_224' },
    tasks: { type: 'string', default: 'forward,input_grad,pgd40,train_step,train_step_fast_at,eval_fast,eval_auto,oracle_queries,text_attacks' },
    'no-peer': { type: 'boolean', default: false },
    reps: { type: 'string', default: '7' },
  },
});

function modelIR(name: string): ModelIR {
  if (name === 'madry_cnn') return madryCnn(0);
  if (name === 'cnn') return buildArchitecture('cnn', { seed: 0 });
  const candidates = [join(ROOT, 'test', 'fixtures', 'reference', name, `${name}.onnx`), join(SHARED, 'reference', name, `${name}.onnx`)];
  const path = candidates.find(existsSync);
  if (!path) throw new Error(`no ONNX file for ${name} (looked in ${candidates.join(', ')})`);
  return loadModel(path);
}

function randomBatch(seed: number): { x: Tensor; y: Int32Array } {
  let s = seed;
  const r = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  return {
    x: { data: Float32Array.from({ length: BATCH * 784 }, r), shape: [BATCH, 1, 28, 28] },
    y: Int32Array.from({ length: BATCH }, () => Math.floor(r() * 10)),
  };
}

/** The PGD-40 loop of the reference peer: x ← Π_{ε-ball ∩ [0,1]}(x + 0.01·sign(g)), ε = 0.3, with the shared L∞ norm. */
async function pgd40(model: OnnxModel, x0: Tensor, y: Int32Array): Promise<void> {
  let adv: Tensor = x0;
  for (let k = 0; k < 40; k++) {
    const { grad } = await model.lossAndGrad(adv, y, 'ce');
    const step = linf.normalizeGradient(grad);
    const moved = new Float32Array(adv.data.length);
    for (let i = 0; i < moved.length; i++) moved[i] = adv.data[i]! + 0.01 * step.data[i]!;
    adv = linf.project(x0, { data: moved, shape: x0.shape }, 0.3, UNIT_BOUNDS);
  }
}

function peerFigures(threads: number): { source: string; results: Result[] } | undefined {
  if (!values['no-peer']) {
    const script = join(SHARED, 'tools', 'peer_speed.py');
    if (existsSync(script)) {
      try {
        // Run through its shebang (Debian's /usr/bin/python3 has python3-torch; a pyenv python3 on PATH may not).
        const out = execFileSync(script, [String(threads), String(BATCH)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 600_000 });
        const parsed = JSON.parse(out) as { peer: string; results: Result[] };
        return { source: `${parsed.peer} (same run)`, results: parsed.results };
      } catch {
        // python3-torch missing: fall back to the manifest's older figures below
      }
    }
  }
  return manifestFigures(threads);
}

/** PyTorch training-step figures measured now by bench/peer_train.py; undefined without torch (or with --no-peer). */
function peerTrainFigures(threads: number, models: readonly string[], tasks: readonly TrainTask[]): { source: string; results: Result[] } | undefined {
  if (values['no-peer'] || tasks.length === 0 || !existsSync(PEER_TRAIN)) return undefined;
  try {
    // Through its shebang, as peer_speed.py: /usr/bin/python3 has torch, a python3 on PATH may not.
    const args = ['--threads', String(threads), '--batch', String(BATCH), '--models', models.join(','), '--tasks', tasks.join(','), '--reps', values.reps!];
    const out = execFileSync(PEER_TRAIN, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 1_800_000 });
    const parsed = JSON.parse(out) as { peer: string; results: Result[] };
    return { source: `${parsed.peer} (same run)`, results: parsed.results };
  } catch {
    return undefined; // no torch: the train tasks report 'no peer'
  }
}

function manifestFigures(threads: number): { source: string; results: Result[] } | undefined {
  const manifestPath = join(SHARED, 'reference', 'manifest.json');
  if (!existsSync(manifestPath) || threads !== 2) return undefined;
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { peer_speed: { results: Record<string, Record<string, number>> } };
  // Not train_step: the manifest's step (plain SGD, lr 0) is not the trainer's (momentum 0.9).
  const keys: Record<string, string> = {
    forward: 'forward_images_per_s',
    input_grad: 'forward_plus_input_grad_images_per_s',
    pgd40: 'pgd40_attack_images_per_s',
  };
  const results: Result[] = [];
  for (const [model, figs] of Object.entries(m.peer_speed.results)) {
    for (const [task, key] of Object.entries(keys)) results.push({ model, task, batch: BATCH, threads: 2, images_per_s: figs[key]! });
  }
  return { source: 'manifest.json peer_speed (older run, other load)', results };
}

const ATTACK_TASKS = ['forward', 'input_grad', 'pgd40'];
/** Models the eval tasks run on: the trained reference CNN and the random-weight Madry CNN. */
const EVAL_MODELS = ['mnist_cnn', 'madry_cnn'];

async function main(): Promise<void> {
  const threadList = values.threads!.split(',').map(Number);
  const requested = values.models!.split(',');
  const isArchitecture = (m: string): m is ArchitectureModel => (ARCHITECTURE_MODELS as readonly string[]).includes(m);
  const architectures = requested.filter(isArchitecture);
  const models = requested.filter((m) => !isArchitecture(m));
  const tasks = new Set(values.tasks!.split(','));
  const trainTasks = TRAIN_TASKS.filter((t) => tasks.has(t));
  const reps = Number(values.reps);
  const results: Result[] = [];
  const log = (s: string): void => void process.stderr.write(s + '\n');
  for (const threads of threadList) {
    const peer = models.length > 0 && ATTACK_TASKS.some((t) => tasks.has(t)) ? peerFigures(threads) : undefined;
    const trainPeer = models.length > 0 ? peerTrainFigures(threads, models, trainTasks) : undefined;
    if (models.length > 0 && trainTasks.length > 0 && !trainPeer)
      log(`train tasks: no peer (${values['no-peer'] ? '--no-peer' : `${PEER_TRAIN} did not run; it needs /usr/bin/python3 with torch`})`);
    const peak = models.length > 0 && ATTACK_TASKS.some((t) => tasks.has(t)) ? await calibratePeak(threads) : undefined;
    if (peak) log(peakLine(threads, peak));
    for (const name of models) {
      const ir = modelIR(name);
      const flops = await forwardFlopsPerImage(ir);
      const { x, y } = randomBatch(7);
      const record = async (task: string, fn: () => Promise<void>, r = reps): Promise<void> => {
        if (!tasks.has(task)) return;
        const seconds = await median(fn, r);
        const res: Result = { model: name, task, batch: BATCH, threads, images_per_s: BATCH / seconds };
        const training = (TRAIN_TASKS as readonly string[]).includes(task);
        const figures = training ? trainPeer : peer;
        let p = figures?.results.find((q) => q.model === name && q.task === task && q.threads === threads);
        let source = figures?.source;
        if (!p && !training) {
          const fallback = manifestFigures(threads);
          p = fallback?.results.find((q) => q.model === name && q.task === task);
          source = fallback?.source;
        }
        if (p) Object.assign(res, { peer_images_per_s: p.images_per_s, ratio: res.images_per_s / p.images_per_s, peer_source: source });
        if (peak && ATTACK_WORK[task]) res.peak_fraction = (res.images_per_s * flops * ATTACK_WORK[task]!) / peak;
        const forward = results.find((q) => q.model === name && q.task === 'forward' && q.threads === threads);
        if (task === 'input_grad' && forward) res.backward_forward_ratio = forward.images_per_s / res.images_per_s;
        results.push(res);
        const where = res.peer_source?.includes('same run') ? 'same run' : 'manifest';
        log(
          `${name.padEnd(10)} ${task.padEnd(18)} threads ${threads}  ${res.images_per_s.toFixed(1).padStart(9)} img/s` +
            (res.peak_fraction !== undefined ? ` (${(100 * res.peak_fraction).toFixed(0).padStart(3)}% of peak)` : '') +
            (p ? `  PyTorch ${p.images_per_s.toFixed(1).padStart(9)}  ratio ${res.ratio!.toFixed(2)}× [${where}]` : '  no peer') +
            (res.backward_forward_ratio !== undefined ? `  input_grad/forward time ${res.backward_forward_ratio.toFixed(2)}×` : ''),
        );
      };
      if (ATTACK_TASKS.some((t) => tasks.has(t))) {
        const model = await OnnxModel.load(ir, { threads, batchSize: BATCH });
        try {
          await record('forward', async () => void (await model.logits(x)));
          await record('input_grad', async () => void (await model.lossAndGrad(x, y, 'ce')));
          await record('pgd40', () => pgd40(model, x, y), 3);
        } finally {
          await model.dispose();
        }
      }
      // Whole-runner evaluation throughput (issue 4): 100 MNIST test images, mnist-linf-0.3, at the
      // largest thread count only. The random-weight Madry CNN is labelled with its own predictions.
      if (EVAL_MODELS.includes(name) && threads === Math.max(...threadList)) {
        for (const attacks of ['fast', 'auto']) {
          if (!tasks.has(`eval_${attacks}`)) continue;
          const r = await evalThroughput(name, ir, attacks, 100, threads, name === 'madry_cnn');
          results.push({ model: name, task: `eval_${attacks}`, batch: 100, threads, images_per_s: r.images_per_s });
          log(
            `${name.padEnd(10)} ${`eval_${attacks}`.padEnd(18)} threads ${threads}  ${r.images_per_s.toFixed(1).padStart(9)} img/s  (100 images, robust accuracy ${r.robust_accuracy.map((a) => (100 * a).toFixed(0) + '%').join(' / ')})`,
          );
        }
      }
      if (trainTasks.length > 0) {
        const trainer = await trainStepRunner(ir, threads);
        try {
          for (const task of trainTasks) await record(task, () => trainer.step(task, x, y));
        } finally {
          await trainer.dispose();
        }
      }
    }
    if (peer) log(`peer (forward, input_grad, pgd40): ${peer.source}`);
    if (trainPeer) log(`peer (train tasks): ${trainPeer.source}`);
    // Only when an architecture task is asked for: architectureSpeed first runs the PyTorch peer script.
    if (architectures.length > 0 && ARCHITECTURE_TASKS.some((t) => tasks.has(t))) {
      const archResults = await architectureSpeed({
        script: PEER_ARCHITECTURES,
        dir: ARCHITECTURE_DIR,
        threads,
        models: architectures,
        tasks,
        peer: !values['no-peer'],
        reps: Math.min(reps, 5),
        log,
      });
      for (const r of archResults) results.push({ ...r, peer_source: r.peer_images_per_s !== undefined ? 'pytorch (same run)' : undefined });
    }
  }
  // Black-box oracles (issue 6): queries/s through the in-process ONNX score oracle and through
  // HttpModel against a local server (batch and single-request modes), models/mnist-standard.onnx.
  if (tasks.has('oracle_queries')) {
    for (const r of await oracleSpeed({ threads: 1 })) {
      results.push({ model: 'mnist-standard', task: `oracle_queries_${r.oracle}`, batch: r.batch, threads: r.threads, images_per_s: r.queries_per_s });
      log(
        `mnist-standard oracle ${r.oracle.padEnd(11)} batch ${String(r.batch).padStart(3)}  ${r.queries_per_s.toFixed(0).padStart(7)} queries/s  (${r.ratio.toFixed(2)}× in-process)`,
      );
    }
  }
  // Text attacks (issue 15): PWWS and DeepWordBug on 50 held-out spam emails, models/spam-bag.onnx.
  if (tasks.has('text_attacks')) {
    for (const r of await textSpeed(50)) {
      // images_per_s holds queries/s and attacked texts/s, as oracle_queries holds queries/s.
      results.push({ model: 'spam-bag', task: `text_${r.attack}_queries`, batch: r.texts, threads: 1, images_per_s: r.queries_per_s });
      results.push({ model: 'spam-bag', task: `text_${r.attack}_texts`, batch: r.texts, threads: 1, images_per_s: r.texts_per_s });
      log(
        `spam-bag ${r.attack.padEnd(11)} ${r.texts} texts  ${r.queries_per_s.toFixed(0).padStart(7)} queries/s  ${r.texts_per_s.toFixed(1).padStart(6)} attacked texts/s`,
      );
    }
  }
  if (values.json) process.stdout.write(JSON.stringify({ results }, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
