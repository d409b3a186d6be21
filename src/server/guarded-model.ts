/**
 * The model the guard serves and its detectors: class scores plus one score per detector for a
 * batch of examples. Each detector file is appended to the classifier as an ONNX fragment
 * (EquippedModel); the first one's graph also gives the logits, so one detector costs one run.
 * Requests arriving while a run is in flight are gathered and run together as the next batch
 * (dynamic batching: no waiting when the model is idle, full batches under load).
 *
 * The request/verdict path sees only `GuardedModel.classify`; a text model would plug in as
 * another implementation of `Classify` that takes its own request body.
 */
import { basename } from 'node:path';
import { GibbonError } from '../errors.js';
import { checkDetectorFitsModel, readDetectorFile, type DetectorFile } from '../defenses/detectors/detector-file.js';
import { EquippedModel } from '../defenses/detectors/equipped-model.js';
import { loadModel } from '../onnx/model.js';
import { concatBatch, type Tensor } from '../tensor/tensor.js';

export interface Classification {
  /** Logits, N rows of numClasses. */
  readonly logits: Tensor;
  /** One score per example for each detector, by name. */
  readonly scores: ReadonlyMap<string, Float32Array>;
}

export interface GuardDetector {
  readonly name: string;
  readonly kind: string;
  /** The detector file's threshold ("flag when s > τ"). */
  readonly threshold: number;
}

export interface GuardedModelOptions {
  readonly threads?: number;
  readonly batchSize?: number;
}

interface Pending {
  readonly x: Tensor;
  readonly resolve: (c: Classification) => void;
  readonly reject: (e: unknown) => void;
}

export class GuardedModel {
  private queue: Pending[] = [];
  private running = false;

  private constructor(
    readonly path: string,
    private readonly models: readonly EquippedModel[],
    readonly detectors: readonly GuardDetector[],
    readonly exampleShape: readonly number[],
    readonly numClasses: number,
  ) {}

  /** Loads the model and each detector file (refusing one fitted on another model). */
  static async load(path: string, detectorPaths: readonly string[], options: GuardedModelOptions = {}): Promise<GuardedModel> {
    const ir = loadModel(path);
    const files: [string, DetectorFile][] = detectorPaths.map((p) => {
      const file = readDetectorFile(p);
      checkDetectorFitsModel(file, ir, p, path);
      return [p, file];
    });
    const names = files.map(([p]) => basename(p).replace(/\.json$/i, ''));
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new GibbonError('invalid_option', `two detector files are both named '${dup}'; give them different file names`, { option: 'detector' });
    const created = files.length > 0 ? files.map(([, f]) => EquippedModel.create(ir, f.detector, options)) : [EquippedModel.create(ir, undefined, options)];
    const models = await Promise.all(created);
    const shape = models[0]!.inputShape.slice(1) as number[];
    const detectors = files.map(([, f], i) => ({ name: names[i]!, kind: f.detector.kind, threshold: f.threshold }));
    return new GuardedModel(path, models, detectors, shape, models[0]!.numClasses);
  }

  /** Logits and detector scores of x, run with whatever other requests are waiting. */
  classify(x: Tensor): Promise<Classification> {
    return new Promise((resolve, reject) => {
      this.queue.push({ x, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        const x = batch.length === 1 ? batch[0]!.x : concatBatch(batch.map((p) => p.x));
        const outs = await Promise.all(this.models.map((m) => m.run(x)));
        const logits = outs[0]!.logits;
        let start = 0;
        for (const p of batch) {
          const n = p.x.shape[0]!;
          const scores = new Map(this.detectors.map((d, i) => [d.name, outs[i]!.score.slice(start, start + n)]));
          p.resolve({ logits: { data: logits.data.slice(start * this.numClasses, (start + n) * this.numClasses), shape: [n, this.numClasses] }, scores });
          start += n;
        }
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.running = false;
  }

  async dispose(): Promise<void> {
    for (const m of this.models) await m.dispose();
  }
}
