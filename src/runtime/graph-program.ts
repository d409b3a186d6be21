/**
 * GraphProgram: one compiled graph (a model, a gradient graph, a bound graph …) and the
 * onnxruntime session that runs it. It is compiled now (`compile`) or on first use (`lazy`, for
 * gradient graphs built per loss), runs many examples in batches — a graph with a constant batch
 * (often 1, as exported audio models ship) is fed exactly that many rows, the last batch padded —
 * and gathers the rows of its outputs across batches, dropping the padding. `GraphPrograms` keeps
 * a model's lazily built programs by key. Call dispose() to free the sessions.
 */
import { GibbonError } from '../errors.js';
import { serializeModel, type ModelIR } from '../onnx/model.js';
import type { AnyTensor } from '../tensor/tensor.js';
import { Session, type SessionOptions } from './session.js';

export type Feeds = Record<string, AnyTensor>;
export type Results = Record<string, AnyTensor>;

/** Rows [start, end) of the examples, fed as `padded` rows (the constant batch, else end − start). */
export interface Batch {
  readonly start: number;
  readonly end: number;
  readonly padded: number;
}

export interface GraphProgramOptions extends Pick<SessionOptions, 'threads' | 'spinning' | 'label'> {
  /** Most examples per run (default 256); a constant batch replaces it. */
  readonly batchSize?: number;
  /** The graph's constant batch size, if it has one. */
  readonly fixedBatch?: number;
}

export interface BatchRun {
  /** Outputs whose rows are gathered into one array over all examples (padding rows dropped). */
  readonly gather?: readonly string[];
  /** Outputs to compute (default: `gather`; all outputs when neither is given). */
  readonly fetches?: readonly string[];
  /** Sees every batch's results, after they are gathered. */
  readonly each?: (results: Results, batch: Batch) => void;
}

/** A graph to compile and what its builder learned about it (e.g. a GradientGraph). */
export interface BuiltGraph<Info> {
  readonly model: ModelIR;
  readonly info: Info;
}

interface Compiled<Info> {
  readonly info: Info;
  readonly session: Session;
}

/** A batch size given as an option: a positive integer. */
export function checkBatchSize(size: number): number {
  if (!Number.isInteger(size) || size < 1)
    throw new GibbonError('invalid_option', `batch size must be a positive integer; got ${size}`, { option: 'batchSize' });
  return size;
}

/** The batches of n examples: `size` rows each, or `fixedBatch` rows with the last batch padded. */
export function batchesOf(n: number, size: number, fixedBatch?: number): Batch[] {
  const step = checkBatchSize(fixedBatch ?? size);
  const batches: Batch[] = [];
  for (let start = 0; start < n; start += step) {
    const end = Math.min(n, start + step);
    batches.push({ start, end, padded: fixedBatch ?? end - start });
  }
  return batches;
}

export class GraphProgram<Info = undefined> {
  private compiled: Promise<Compiled<Info>> | undefined;
  private disposed = false;

  private constructor(
    private build: (() => Promise<BuiltGraph<Info>>) | undefined,
    /** Threads, batching and label; more programs of the same model take them too (GraphPrograms). */
    readonly options: GraphProgramOptions,
  ) {}

  /** A program built and compiled on its first use; a failed build fails every use alike. */
  static lazy<Info>(build: () => Promise<BuiltGraph<Info>>, options: GraphProgramOptions = {}): GraphProgram<Info> {
    return new GraphProgram(build, options);
  }

  /** A program compiled now (a graph onnxruntime cannot load fails here). */
  static async compile(model: ModelIR, options: GraphProgramOptions = {}): Promise<GraphProgram> {
    const program = new GraphProgram(async () => ({ model, info: undefined }), options);
    await program.ready();
    return program;
  }

  get label(): string {
    return this.options.label ?? 'model';
  }

  get fixedBatch(): number | undefined {
    return this.options.fixedBatch;
  }

  /** The batches a run over n examples makes. */
  batches(n: number): Batch[] {
    return batchesOf(n, this.options.batchSize ?? 256, this.options.fixedBatch);
  }

  private ready(): Promise<Compiled<Info>> {
    if (this.disposed) return Promise.reject(new GibbonError('internal', `program for ${this.label} was already disposed`));
    if (!this.compiled) {
      const build = this.build!;
      this.build = undefined; // the graph is not kept once compiled
      this.compiled = (async () => {
        const built = await build();
        const session = await Session.create(serializeModel(built.model), {
          threads: this.options.threads,
          spinning: this.options.spinning,
          label: this.label,
        });
        return { info: built.info, session };
      })();
    }
    return this.compiled;
  }

  /** What the graph's builder returned with it (builds and compiles the graph on first use). */
  async info(): Promise<Info> {
    return (await this.ready()).info;
  }

  /** One run on the feeds as they are. */
  async run(feeds: Feeds, fetches?: readonly string[]): Promise<Results> {
    return (await this.ready()).session.run(feeds, fetches);
  }

  /**
   * Runs n examples batch by batch (`feeds` gives each batch's feeds, padded to the constant
   * batch) and returns the gathered outputs: for each name in `gather`, the rows of all examples
   * in order (an empty array when n is 0).
   */
  async runBatches(n: number, feeds: (batch: Batch) => Feeds, run: BatchRun): Promise<Record<string, Float32Array>> {
    const { session } = await this.ready();
    const gather = run.gather ?? [];
    const fetches = run.fetches ?? run.gather;
    const out: Record<string, Float32Array> = {};
    for (const name of gather) out[name] = new Float32Array(0);
    for (const batch of this.batches(n)) {
      const r = await session.run(feeds(batch), fetches);
      const k = batch.end - batch.start;
      for (const name of gather) {
        const t = r[name];
        if (!t) throw new GibbonError('internal', `${this.label} gave no output '${name}'`);
        const row = t.shape.slice(1).reduce((a, d) => a * d, 1);
        if (batch.start === 0) out[name] = new Float32Array(n * row);
        out[name]!.set((t.data as Float32Array).subarray(0, k * row), batch.start * row);
      }
      run.each?.(r, batch);
    }
    return out;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.compiled) return;
    let compiled: Compiled<Info>;
    try {
      compiled = await this.compiled;
    } catch {
      return; // a graph that failed to build has no session to free
    }
    await compiled.session.dispose();
  }
}

/** A model's programs built on first use, one per key (e.g. per loss); dispose() frees them all. */
export class GraphPrograms<Info> {
  private readonly programs = new Map<string, GraphProgram<Info>>();
  private disposed = false;

  /** `options` as for GraphProgram (e.g. those of the model's forward program); each program gets its own label. */
  constructor(private readonly options: GraphProgramOptions) {}

  /** The program for `key`, built by `build` when first asked for; `label` names it in errors. */
  get(key: string, label: string, build: () => Promise<BuiltGraph<Info>>): GraphProgram<Info> {
    if (this.disposed) throw new GibbonError('internal', `programs for ${label} were already disposed`);
    let program = this.programs.get(key);
    if (!program) {
      program = GraphProgram.lazy(build, { ...this.options, label });
      this.programs.set(key, program);
    }
    return program;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    for (const program of this.programs.values()) await program.dispose();
  }
}
