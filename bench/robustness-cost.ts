/**
 * `npm run robustness-cost [-- --epochs 2 --n 20000 --eval-n 500 --threads 2 --attacks fast|auto
 *  --methods standard,fast-at,pgd-at,trades --seed 0 --eps-ramp R --out docs/robustness-cost.md --json]`
 *
 * The cost of robustness, measured: trains gibbon's built-in 'cnn' architecture on the first --n
 * MNIST training images with each method under one budget — the same seed (initial weights and
 * shuffling), Adam lr 1e-3, batch 128, --epochs epochs, L∞ ε 0.3, growing linearly over the first R
 * epochs when there is more than one (trainer's epsRampEpochs) — through the library's `train()`,
 * and records the training time. Method settings: fast-AT one step of α = 1.25·ε from a random
 * start (Wong et al. 2020); PGD-AT 10 steps of 0.05 from a random start (Madry et al. 2018, fewer
 * steps); TRADES β 6, 10 steps of 0.05 (Zhang et al. 2019). Each trained model is then evaluated by
 * gibbon's evaluation runner (what `gibbon eval --threat mnist-linf-0.3 --attacks fast|auto` runs,
 * gradient-masking checks included) on the first --eval-n MNIST test images: clean accuracy and
 * robust accuracy at ε 0.1, 0.2, 0.3. Writes a Markdown table to --out; --json also prints the
 * results as JSON on stdout. Progress goes to stderr.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadMnist } from '../src/data/mnist.js';
import { resolveEnsemble } from '../src/evaluation/presets.js';
import { evaluate } from '../src/evaluation/runner.js';
import { THREAT_MODEL_PRESETS, withOverrides } from '../src/evaluation/threat-model.js';
import { OnnxModel } from '../src/model/onnx-model.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { buildArchitecture } from '../src/training/architectures.js';
import { METHODS as TRAINING_METHODS, type MethodName } from '../src/training/methods.js';

/** The four hardening methods compared (not 'gaussian' or 'ibp': noise augmentation for randomized smoothing and IBP training, whose robustness is certified, not attacked). */
const METHODS: readonly MethodName[] = TRAINING_METHODS.filter((m) => m !== 'gaussian' && m !== 'ibp');
import { train, type Dataset, type TrainOptions } from '../src/training/trainer.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EPS = 0.3;
const THREAT = 'mnist-linf-0.3';
const ARCH = 'cnn';

export interface MethodResult {
  method: MethodName;
  /** Adversary settings as trained ('' for standard). */
  settings: string;
  /** Wall-clock seconds of training (the trainer's per-epoch times summed). */
  train_seconds: number;
  /** CPU seconds (user + system, all threads) the process spent in train(): less sensitive to other load. */
  train_cpu_seconds: number;
  /** Training time over standard training's, by CPU time and by wall-clock time (null without a standard run). */
  relative_time: { cpu: number; wall: number } | null;
  final_loss: number;
  final_train_accuracy: number;
  clean_accuracy: number;
  robust_accuracy: { eps: number; accuracy: number }[];
  masking_checks: { passed: number; total: number; failed: string[] };
  eval_seconds: number;
}

interface Config {
  epochs: number;
  n: number;
  evalN: number;
  threads: number;
  attacks: 'fast' | 'auto';
  methods: MethodName[];
  seed: number;
  epsRamp: number;
  out: string;
  json: boolean;
}

function positiveInt(value: string, option: string): number {
  const v = Number(value);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${option} must be a positive integer; got '${value}'`);
  return v;
}

function parseConfig(argv: readonly string[]): Config {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      epochs: { type: 'string', default: '2' },
      n: { type: 'string', default: '20000' },
      'eval-n': { type: 'string', default: '500' },
      threads: { type: 'string', default: '2' },
      attacks: { type: 'string', default: 'fast' },
      methods: { type: 'string', default: METHODS.join(',') },
      seed: { type: 'string', default: '0' },
      'eps-ramp': { type: 'string' },
      out: { type: 'string', default: resolve(ROOT, 'docs', 'robustness-cost.md') },
      json: { type: 'boolean', default: false },
    },
  });
  const epochs = positiveInt(values.epochs!, 'epochs');
  const attacks = values.attacks!;
  if (attacks !== 'fast' && attacks !== 'auto') throw new Error(`--attacks must be fast or auto; got '${attacks}'`);
  const methods = values.methods!.split(',').map((m) => m.trim()) as MethodName[];
  for (const m of methods) if (!(METHODS as readonly string[]).includes(m)) throw new Error(`unknown method '${m}'; valid: ${METHODS.join(', ')}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be an integer ≥ 0; got '${values.seed}'`);
  // Default ramp: none for one epoch; else over the first max(2, ⌈epochs/3⌉) epochs (epoch k of R trains at k/R·ε).
  const epsRamp = values['eps-ramp'] !== undefined ? Number(values['eps-ramp']) : epochs > 1 ? Math.min(epochs, Math.max(2, Math.ceil(epochs / 3))) : 0;
  if (!Number.isInteger(epsRamp) || epsRamp < 0) throw new Error(`--eps-ramp must be an integer ≥ 0; got '${values['eps-ramp']}'`);
  return {
    epochs,
    n: positiveInt(values.n!, 'n'),
    evalN: positiveInt(values['eval-n']!, 'eval-n'),
    threads: positiveInt(values.threads!, 'threads'),
    attacks,
    methods,
    seed,
    epsRamp,
    out: resolve(values.out!),
    json: values.json!,
  };
}

/** The method's adversary, as stated in the module comment. */
function adversary(method: MethodName): Pick<TrainOptions, 'eps' | 'steps' | 'stepSize' | 'beta'> {
  switch (method) {
    case 'standard':
    case 'gaussian':
    case 'ibp':
      return {};
    case 'fast-at':
      return { eps: EPS, steps: 1, stepSize: 1.25 * EPS };
    case 'pgd-at':
      return { eps: EPS, steps: 10, stepSize: 0.05 };
    case 'trades':
      return { eps: EPS, steps: 10, stepSize: 0.05, beta: 6 };
  }
}

function describeAdversary(method: MethodName): string {
  const a = adversary(method);
  if (a.eps === undefined) return '–';
  const steps = `${a.steps} step${a.steps === 1 ? '' : 's'} of ${a.stepSize}`;
  return a.beta !== undefined ? `β ${a.beta}, ${steps}` : steps;
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

async function runMethod(method: MethodName, c: Config, data: Dataset, test: { x: Tensor; y: Int32Array }): Promise<Omit<MethodResult, 'relative_time'>> {
  const source = buildArchitecture(ARCH, { seed: c.seed });
  const a = adversary(method);
  const cpuStart = process.cpuUsage();
  const trained = await train(source, data, undefined, {
    method,
    norm: 'linf',
    ...a,
    epsRampEpochs: method === 'standard' ? 0 : c.epsRamp,
    epochs: c.epochs,
    batchSize: 128,
    lr: 1e-3,
    optimizer: { type: 'adam' },
    seed: c.seed,
    threads: c.threads,
    onEpoch: (r) =>
      log(
        `  epoch ${r.epoch}/${c.epochs} · ε ${round3(r.eps)} · loss ${r.loss.toFixed(4)} · train acc ${pct(r.train_accuracy)} · ${r.seconds.toFixed(1)} s (${Math.round(r.images_per_s)} img/s)`,
      ),
  });
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const last = trained.history[trained.history.length - 1]!;
  log(`  trained in ${trained.seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} CPU s); evaluating on ${c.evalN} test images (--attacks ${c.attacks}) …`);
  const model = await OnnxModel.load(trained.model, { threads: c.threads, batchSize: 128 });
  try {
    const started = performance.now();
    const { report } = await evaluate({
      model,
      modelPath: `${ARCH}-${method}`,
      threatModel: withOverrides(THREAT_MODEL_PRESETS.get(THREAT)!, { n: c.evalN, seed: c.seed }),
      data: { x: test.x, labels: test.y, source: 'mnist-test', notes: [] },
      ensemble: resolveEnsemble(c.attacks),
      threads: c.threads,
    });
    const evalSeconds = (performance.now() - started) / 1000;
    const failed = report.masking_checks.filter((m) => !m.passed).map((m) => m.name);
    log(
      `  clean ${pct(report.clean_accuracy)} · robust ${report.robust_accuracy.map((p) => `ε ${p.eps}: ${pct(p.accuracy)}`).join(', ')} · ${evalSeconds.toFixed(1)} s`,
    );
    if (failed.length > 0) log(`  masking checks failed: ${failed.join(', ')}`);
    return {
      method,
      settings: describeAdversary(method),
      train_seconds: trained.seconds,
      train_cpu_seconds: round3(cpuSeconds),
      final_loss: round3(last.loss),
      final_train_accuracy: round3(last.train_accuracy),
      clean_accuracy: report.clean_accuracy,
      robust_accuracy: report.robust_accuracy.map((p) => ({ eps: p.eps, accuracy: p.accuracy })),
      masking_checks: { passed: report.masking_checks.length - failed.length, total: report.masking_checks.length, failed },
      eval_seconds: round3(evalSeconds),
    };
  } finally {
    await model.dispose();
  }
}

function commandLine(c: Config): string {
  const out = relative(ROOT, c.out);
  const parts = [`--epochs ${c.epochs}`, `--n ${c.n}`, `--eval-n ${c.evalN}`, `--threads ${c.threads}`, `--attacks ${c.attacks}`];
  if (c.methods.length !== METHODS.length) parts.push(`--methods ${c.methods.join(',')}`);
  parts.push(`--seed ${c.seed}`, `--eps-ramp ${c.epsRamp}`, `--out ${out.startsWith('..') ? c.out : out}`);
  return `npm run robustness-cost -- ${parts.join(' ')}`;
}

/** Two sentences read off the numbers (robust accuracy at the largest ε against time and clean accuracy). */
function reading(results: readonly MethodResult[]): string {
  const at = (r: MethodResult): number => r.robust_accuracy[r.robust_accuracy.length - 1]!.accuracy;
  const eps = results[0]?.robust_accuracy.at(-1)?.eps ?? EPS;
  const standard = results.find((r) => r.method === 'standard');
  const robust = results.filter((r) => r.method !== 'standard');
  if (!standard || robust.length === 0) return '';
  const best = robust.reduce((b, r) => (at(r) > at(b) ? r : b));
  const cheapest = robust.reduce((b, r) => (r.train_cpu_seconds < b.train_cpu_seconds ? r : b));
  const cleanDelta = 100 * (best.clean_accuracy - standard.clean_accuracy);
  const cleanText =
    Math.abs(cleanDelta) < 0.05
      ? 'the same clean accuracy'
      : `${Math.abs(cleanDelta).toFixed(1)} points ${cleanDelta < 0 ? 'less' : 'more'} clean accuracy (${pct(best.clean_accuracy)})`;
  const first =
    `Standard training leaves ${pct(at(standard))} robust accuracy at ε ${eps} (clean ${pct(standard.clean_accuracy)}); the most robust method here, ${best.method}, ` +
    `reaches ${pct(at(best))} at ${best.relative_time!.cpu.toFixed(1)}× the training CPU time, with ${cleanText}.`;
  const second =
    cheapest.method === best.method
      ? `It is also the cheapest adversarial method here (${cheapest.relative_time!.cpu.toFixed(1)}× standard).`
      : `The cheapest adversarial method, ${cheapest.method} (${cheapest.relative_time!.cpu.toFixed(1)}× standard), gets ${pct(at(cheapest))} at ε ${eps}` +
        (at(cheapest) < at(best) ? `, ${(100 * (at(best) - at(cheapest))).toFixed(1)} points below ${best.method}.` : '.');
  return `${first} ${second}`;
}

function markdown(
  c: Config,
  results: readonly MethodResult[],
  meta: { date: string; loadBefore: number[]; loadAfter: number[]; totalSeconds: number },
): string {
  const eps = results[0]!.robust_accuracy.map((p) => p.eps);
  const cpu = cpus();
  const load = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' / ');
  const rows = results.map(
    (r) =>
      `| ${r.method} | ${r.settings} | ${r.train_seconds.toFixed(1)} | ${r.train_cpu_seconds.toFixed(1)} | ` +
      `${r.relative_time === null ? '–' : `${r.relative_time.cpu.toFixed(2)}× / ${r.relative_time.wall.toFixed(2)}×`} | ${pct(r.clean_accuracy)} | ` +
      `${r.robust_accuracy.map((p) => pct(p.accuracy)).join(' | ')} | ${r.masking_checks.passed}/${r.masking_checks.total} |`,
  );
  const failures = results.filter((r) => r.masking_checks.failed.length > 0).map((r) => `${r.method}: ${r.masking_checks.failed.join(', ')}`);
  const ramp =
    c.epsRamp > 0 ? `growing linearly over the first ${c.epsRamp} epochs (epoch k of ${c.epsRamp} at k/${c.epsRamp}·ε), then 0.3` : 'from the first step';
  return [
    '# The cost of robustness, measured',
    '',
    `Training time against clean and robust accuracy for gibbon's built-in \`${ARCH}\` architecture (conv 32@3×3 → pool → conv 64@3×3 → pool → Linear 128 → Linear 10) on MNIST, one budget for every method. Written by \`bench/robustness-cost.ts\`; rerun it to refresh this page.`,
    '',
    `| method | adversary | training time (s) | training CPU time (s) | relative time vs standard (CPU / wall) | clean acc | ${eps.map((e) => `robust acc ε ${e}`).join(' | ')} | masking checks passed |`,
    `|---|---|---:|---:|---:|---:|${eps.map(() => '---:|').join('')}---:|`,
    ...rows,
    '',
    reading(results),
    '',
    '## Budget',
    '',
    `- Training: the first ${c.n} MNIST training images, ${c.epochs} epoch${c.epochs === 1 ? '' : 's'}, batch 128, Adam lr 1e-3 (constant), seed ${c.seed} (same initial weights and shuffling for every method), through \`train()\` (src/training/trainer.ts), no held-out evaluation during training.`,
    `- Adversary: L∞ ε 0.3 ${ramp}; fast-AT one step of α = 1.25·ε from a uniform random start (Wong et al. 2020), PGD-AT 10 steps of 0.05 from a random start (Madry et al. 2018 used 40 of 0.01), TRADES β 6 with 10 steps of 0.05 (Zhang et al. 2019). Step sizes scale with ε during the ramp.`,
    `- Training time: wall clock, the trainer's per-epoch seconds summed (graph building and evaluation excluded); CPU time, the process's user + system seconds over all threads during \`train()\` (graph building included, a fraction of a second). On a shared machine the wall-clock time depends on what else runs, the CPU time much less, so the relative times in the reading below use CPU time.`,
    `- Evaluation: gibbon's evaluation runner (as \`gibbon eval --threat ${THREAT} --attacks ${c.attacks} --n ${c.evalN}\`) on the first ${c.evalN} MNIST test images: ${
      c.attacks === 'fast'
        ? 'PGD-20 with a random start, step 2.5·ε/20'
        : `the cascade ${resolveEnsemble(c.attacks)
            .stages.map((st) => st.label)
            .join(' → ')}`
    }; robust accuracy is the per-example worst case. "Masking checks passed" counts the runner's gradient-masking checks (FGSM vs iterative, random noise, unbounded PGD, …).` +
      (failures.length > 0 ? ` Failed: ${failures.join('; ')}.` : ''),
    '',
    '## Run',
    '',
    '```',
    commandLine(c),
    '```',
    '',
    `- Date: ${meta.date}; total run time ${(meta.totalSeconds / 60).toFixed(1)} min.`,
    `- Machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${process.platform} ${process.arch}, Node ${process.version}, onnxruntime threads ${c.threads}.`,
    `- Load average (1 / 5 / 15 min) before: ${load(meta.loadBefore)}, after: ${load(meta.loadAfter)}. The machine was shared with other work, so wall-clock times are pessimistic; compare CPU times.`,
    '',
  ].join('\n');
}

/** The page as the repository's Prettier settings format it (tables aligned), so `npm run format:check` passes; unformatted if Prettier is missing. */
async function prettyMarkdown(text: string, path: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(path)) ?? {};
    return await prettier.format(text, { ...options, parser: 'markdown' });
  } catch {
    return text;
  }
}

async function main(): Promise<void> {
  const c = parseConfig(process.argv.slice(2));
  const started = performance.now();
  const loadBefore = loadavg();
  const mnist = loadMnist('train', { limit: c.n });
  const data: Dataset = { x: mnist.x.data, y: mnist.y, n: mnist.y.length, shape: [1, 28, 28], source: 'mnist-train' };
  const test = loadMnist('test', { limit: c.evalN });
  log(
    `robustness cost: '${ARCH}' on ${data.n} MNIST training images, ${c.epochs} epoch(s), ε ${EPS} (ramp ${c.epsRamp}), eval ${c.evalN} test images --attacks ${c.attacks}, ${c.threads} threads`,
  );
  const partial: Omit<MethodResult, 'relative_time'>[] = [];
  for (const [i, method] of c.methods.entries()) {
    log(`[${i + 1}/${c.methods.length}] ${method} (${describeAdversary(method)})`);
    partial.push(await runMethod(method, c, data, test));
  }
  const standard = partial.find((r) => r.method === 'standard');
  const results: MethodResult[] = partial.map((r) => ({
    ...r,
    relative_time: standard ? { cpu: round3(r.train_cpu_seconds / standard.train_cpu_seconds), wall: round3(r.train_seconds / standard.train_seconds) } : null,
  }));
  const meta = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    loadBefore,
    loadAfter: loadavg(),
    totalSeconds: (performance.now() - started) / 1000,
  };
  mkdirSync(dirname(c.out), { recursive: true });
  writeFileSync(c.out, await prettyMarkdown(markdown(c, results, meta), c.out));
  log(`wrote ${relative(process.cwd(), c.out) || c.out} (${(meta.totalSeconds / 60).toFixed(1)} min)`);
  if (c.json) process.stdout.write(`${JSON.stringify({ config: { ...c, out: relative(ROOT, c.out) }, ...meta, results }, null, 2)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`robustness-cost failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
