/**
 * Throughput on CIFAR- and ImageNet-sized architectures (issue 12): ResNet-18 at 32×32 and
 * MobileNetV2 at 224×224 with random weights, exported from PyTorch by bench/peer_architectures.py
 * (which also measures PyTorch on the same modules in the same run). Tasks: forward, input_grad
 * (forward + summed CE + input gradient, OnnxModel.lossAndGrad) and train_step (Trainable.trainStep
 * + SGD momentum 0.9, BatchNorm in train mode).
 *
 * Each figure is also stated as a fraction of the machine's peak: `calibratePeak` measures the
 * FLOP/s of a large float32 MatMul and of a blocked-layout convolution in onnxruntime at the same
 * thread count and takes the better (a measurement on this machine, not a datasheet figure). Work per image counts
 * 2 FLOPs per multiply-add of the convolutions and linear layers: 1× for forward, 2× for
 * input_grad (the backward pass to the input costs about one forward) and 3× for train_step (plus
 * the weight gradients).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { OnnxModel } from '../src/model/onnx-model.js';
import { GraphBuilder } from '../src/onnx/builder.js';
import { DataType as DT } from '../src/onnx/dtypes.js';
import type { Graph } from '../src/onnx/graph.js';
import { loadModel, serializeModel } from '../src/onnx/model.js';
import { encodeTensor } from '../src/onnx/tensor-proto.js';
import { Session } from '../src/runtime/session.js';
import { Rng } from '../src/random.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { createOptimizer } from '../src/training/optimizers.js';
import { Trainable } from '../src/training/trainable.js';
import { median } from './timing.js';

export const ARCHITECTURE_MODELS = ['resnet18_32', 'mobilenetv2_224'] as const;
export type ArchitectureModel = (typeof ARCHITECTURE_MODELS)[number];
export const ARCHITECTURE_TASKS = ['forward', 'input_grad', 'train_step'] as const;

const SHAPES: Record<ArchitectureModel, { shape: [number, number, number]; classes: number; batch: number }> = {
  resnet18_32: { shape: [3, 32, 32], classes: 10, batch: 128 },
  mobilenetv2_224: { shape: [3, 224, 224], classes: 1000, batch: 16 },
};
/** FLOPs of work per image for each task, in units of one forward pass. */
const WORK: Record<string, number> = { forward: 1, input_grad: 2, train_step: 3 };

export interface ArchitectureResult {
  readonly model: ArchitectureModel;
  readonly task: string;
  readonly batch: number;
  readonly threads: number;
  readonly images_per_s: number;
  readonly peer_images_per_s?: number;
  readonly ratio?: number;
  /** Achieved FLOP/s as a fraction of the calibrated peak. */
  readonly peak_fraction?: number;
  readonly peer_peak_fraction?: number;
  /** input_grad only: its time per image over forward's, same run. */
  readonly backward_forward_ratio?: number;
}

interface PeerResult {
  model: string;
  task: string;
  threads: number;
  images_per_s: number;
  flops_per_image: number;
}

/**
 * The machine's peak float32 FLOP/s at `threads` threads, measured: the best of a 1024³ MatMul, a
 * 64→64-channel 3×3 convolution on 32 56×56 maps and a 32→64-channel 5×5 convolution on 128 14×14 maps
 * (onnxruntime's blocked-layout kernels), each the best of 7 runs after warm-up. The convolution is there because onnxruntime's NCHWc convolutions run
 * faster than its MatMul on some CPUs, and a "peak" below what a model's layers reach would read as
 * more than 100%.
 */
export async function calibratePeak(threads: number): Promise<number> {
  const rng = new Rng(1);
  const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.uniform() - 0.5);
  const m = 1024;
  const matmul = await kernelFlops(
    threads,
    [m, m],
    { w: [[m, m], random(m * m)] },
    (b) => b.node('MatMul', ['a', 'w'], {}, { outputNames: ['c'] }),
    2 * m * m * m,
    random(m * m),
  );
  // A same-padded k×k convolution of n hw×hw maps, ci → co channels.
  const convFlops = (n: number, ci: number, co: number, hw: number, k: number): Promise<number> => {
    const pad = (k - 1) / 2;
    return kernelFlops(
      threads,
      [n, ci, hw, hw],
      { w: [[co, ci, k, k], random(co * ci * k * k)] },
      (b) => b.node('Conv', ['a', 'w'], { kernel_shape: [k, k], pads: [pad, pad, pad, pad] }, { outputNames: ['c'] }),
      2 * n * co * hw * hw * ci * k * k,
      random(n * ci * hw * hw),
    );
  };
  const conv = await convFlops(32, 64, 64, 56, 3);
  // A 5×5 convolution with few input channels (LeNet/Madry-style layers), which onnxruntime runs faster still.
  const conv5 = await convFlops(128, 32, 64, 14, 5);
  return Math.max(matmul, conv, conv5);
}

/** The log line of a calibrated peak. */
export function peakLine(threads: number, peak: number): string {
  return `peak (best of a 1024³ MatMul, a 3×3 and a 5×5 Conv in onnxruntime, ${threads} threads): ${(peak / 1e9).toFixed(1)} GFLOP/s`;
}

/** FLOP/s of one node `c = op(a, w…)` with constant weights, best of 7 runs after 3 warm-ups. */
async function kernelFlops(
  threads: number,
  inShape: number[],
  weights: Record<string, [number[], Float32Array]>,
  emit: (b: GraphBuilder) => void,
  flops: number,
  input: Float32Array,
): Promise<number> {
  const graph: Graph = {
    name: 'peak',
    nodes: [],
    inputs: [{ name: 'a', dataType: DT.FLOAT, shape: inShape }],
    // The output is reduced to one number, so copying it out of the session does not count against the kernel.
    outputs: [{ name: 'top', dataType: DT.FLOAT, shape: [] }],
    initializers: new Map(),
    valueInfo: [],
  };
  for (const [name, [dims, data]] of Object.entries(weights)) graph.initializers.set(name, encodeTensor(name, DT.FLOAT, dims, data));
  const b = new GraphBuilder(graph, 'peak');
  emit(b);
  b.node('ReduceMax', ['c'], { keepdims: 0 }, { outputNames: ['top'] });
  const proto = create(ModelProtoSchema, { irVersion: 8n, opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })] });
  const session = await Session.create(serializeModel({ proto, graph, opset: 17 }), { threads, label: 'peak calibration' });
  try {
    const a = { type: 'float32' as const, data: input, shape: inShape };
    for (let i = 0; i < 3; i++) await session.run({ a });
    let best = Infinity;
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      await session.run({ a });
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    return flops / best;
  } finally {
    await session.dispose();
  }
}

/** Exports the models (once) and returns PyTorch's figures, or only exports them when `peer` is false. */
function runPeer(script: string, dir: string, threads: number, models: readonly string[], peer: boolean, reps: number): PeerResult[] | undefined {
  const args = [dir, '--threads', String(threads), '--models', models.join(','), '--reps', String(reps)];
  if (!peer) args.push('--export-only');
  try {
    const out = execFileSync(script, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 3_600_000 });
    return peer ? (JSON.parse(out) as { results: PeerResult[] }).results : [];
  } catch {
    return undefined;
  }
}

export async function architectureSpeed(options: {
  script: string;
  dir: string;
  threads: number;
  models: readonly ArchitectureModel[];
  tasks: ReadonlySet<string>;
  peer: boolean;
  reps: number;
  log: (line: string) => void;
}): Promise<ArchitectureResult[]> {
  const { dir, threads, models, tasks, log } = options;
  const peer = runPeer(options.script, dir, threads, models, options.peer, options.reps);
  if (peer === undefined) {
    log(`architectures: ${options.script} did not run (it needs /usr/bin/python3 with torch to export the models); skipped`);
    return [];
  }
  const peak = await calibratePeak(threads);
  log(peakLine(threads, peak));
  const results: ArchitectureResult[] = [];
  for (const name of models) {
    const path = `${dir}/${name}.onnx`;
    if (!existsSync(path)) throw new Error(`${path} was not exported`);
    const { shape, classes, batch } = SHAPES[name];
    const rng = new Rng(7);
    const x: Tensor = { data: Float32Array.from({ length: batch * shape[0] * shape[1] * shape[2] }, () => rng.uniform()), shape: [batch, ...shape] };
    const y = Int32Array.from({ length: batch }, () => Math.floor(rng.uniform() * classes));
    const record = async (task: string, fn: () => Promise<void>): Promise<void> => {
      if (!tasks.has(task)) return;
      const ips = batch / (await median(fn, options.reps));
      const p = peer.find((q) => q.model === name && q.task === task && q.threads === threads);
      const flops = p?.flops_per_image;
      const fraction = (imagesPerS: number): number | undefined => (flops ? (imagesPerS * flops * WORK[task]!) / peak : undefined);
      const res: ArchitectureResult = {
        model: name,
        task,
        batch,
        threads,
        images_per_s: ips,
        peer_images_per_s: p?.images_per_s,
        ratio: p ? ips / p.images_per_s : undefined,
        peak_fraction: fraction(ips),
        peer_peak_fraction: p ? fraction(p.images_per_s) : undefined,
        backward_forward_ratio: task === 'input_grad' ? backwardForward(results, name, ips) : undefined,
      };
      results.push(res);
      const pct = (f: number | undefined): string => (f === undefined ? '   ?' : `${(100 * f).toFixed(0).padStart(3)}%`);
      log(
        `${name.padEnd(16)} ${task.padEnd(11)} threads ${threads} batch ${String(batch).padStart(3)}  ${ips.toFixed(1).padStart(8)} img/s (${pct(res.peak_fraction)} of peak)` +
          (p ? `  PyTorch ${p.images_per_s.toFixed(1).padStart(8)} (${pct(res.peer_peak_fraction)})  ratio ${res.ratio!.toFixed(2)}×` : '  no peer') +
          (res.backward_forward_ratio !== undefined ? `  input_grad/forward time ${res.backward_forward_ratio.toFixed(2)}×` : ''),
      );
    };
    if (tasks.has('forward') || tasks.has('input_grad')) {
      const model = await OnnxModel.load(path, { threads, batchSize: batch });
      try {
        await record('forward', async () => void (await model.logits(x)));
        await record('input_grad', async () => void (await model.lossAndGrad(x, y, 'ce')));
      } finally {
        await model.dispose();
      }
    }
    if (tasks.has('train_step')) {
      const trainable = await Trainable.create(loadModel(path), { threads });
      const optimizer = createOptimizer({ type: 'sgd', momentum: 0.9 });
      try {
        await record('train_step', async () => {
          const { grads } = await trainable.trainStep(x.data, batch, y, rng);
          optimizer.step(trainable.weights, grads, 0.01);
        });
      } finally {
        await trainable.dispose();
      }
    }
  }
  return results;
}

/** Forward's images/s over input_grad's, when forward of the same model was measured in this run. */
function backwardForward(results: readonly ArchitectureResult[], model: string, inputGradPerS: number): number | undefined {
  const forward = results.find((r) => r.model === model && r.task === 'forward');
  return forward ? forward.images_per_s / inputGradPerS : undefined;
}
