/**
 * The only importer of onnxruntime-node. A `Session` wraps one InferenceSession: threads default
 * to the number of cores, graph optimisation to 'all'. Feeds and results are plain typed arrays.
 */
import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import { GibbonError } from '../errors.js';
import type { AnyTensor, ElementType, TypedData } from '../tensor/tensor.js';
import { cappedThreads } from './threads.js';

export { cappedThreads };

export interface SessionOptions {
  /** Intra-op threads (default and maximum: the number of cores; see cappedThreads). */
  threads?: number;
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Write an onnxruntime profile with this file prefix. */
  profilePrefix?: string;
  /** Label for error messages (a file path or a description). */
  label?: string;
  /**
   * Let idle worker threads spin-wait for the next run (onnxruntime's default, fastest for one
   * session). Turn off when several sessions take turns on the same cores (training alternates an
   * attack graph and a training graph): spinning threads of the idle session steal the cores.
   */
  spinning?: boolean;
}

export function defaultThreads(): number {
  return availableParallelism();
}

/**
 * onnxruntime's own logger writes coloured lines such as `[E:onnxruntime:, sequential_executor.cc:…]`
 * to stderr when a run fails; gibbon reports the same failure as one GibbonError line, so the native
 * logger is limited to fatal messages: the process-wide level (read once, when the native binding is
 * first initialised, i.e. before the first session), each session's and each run's level.
 */
const ORT_FATAL_ONLY = 4;

export class Session {
  private disposed = false;

  private constructor(
    private readonly inner: ort.InferenceSession,
    readonly label: string,
  ) {}

  static async create(model: Uint8Array, options: SessionOptions = {}): Promise<Session> {
    const label = options.label ?? 'model';
    ort.env.logLevel = 'fatal';
    try {
      const inner = await ort.InferenceSession.create(model, {
        intraOpNumThreads: cappedThreads(options.threads),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: options.optimization ?? 'all',
        enableProfiling: options.profilePrefix !== undefined,
        profileFilePrefix: options.profilePrefix,
        logSeverityLevel: ORT_FATAL_ONLY,
        extra: { session: { intra_op: { allow_spinning: options.spinning === false ? '0' : '1' } } },
      });
      return new Session(inner, label);
    } catch (e) {
      throw new GibbonError('runtime_failure', `onnxruntime could not load ${label}: ${firstLine(e)}`, {}, { cause: e });
    }
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  async run(feeds: Record<string, AnyTensor>, fetches?: readonly string[]): Promise<Record<string, AnyTensor>> {
    if (this.disposed) throw new GibbonError('internal', `session for ${this.label} was already disposed`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.shape as number[]);
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      const runOptions: ort.InferenceSession.RunOptions = { logSeverityLevel: ORT_FATAL_ONLY };
      results = fetches ? await this.inner.run(ortFeeds, fetches as string[], runOptions) : await this.inner.run(ortFeeds, runOptions);
    } catch (e) {
      throw new GibbonError('runtime_failure', `onnxruntime failed running ${this.label}: ${firstLine(e)}`, {}, { cause: e });
    }
    const out: Record<string, AnyTensor> = {};
    for (const [name, v] of Object.entries(results)) {
      const t = v as ort.Tensor;
      out[name] = { type: t.type as ElementType, data: t.data as TypedData, shape: [...t.dims] };
    }
    return out;
  }

  /** Flush the onnxruntime profile (if profiling) and return its file name. */
  endProfiling(): void {
    this.inner.endProfiling();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.inner.release();
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}
