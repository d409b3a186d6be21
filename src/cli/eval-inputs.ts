/**
 * What `gibbon eval` evaluates, read from its options: the threat model (with --n, --data, --seed
 * over the file), the attack ensemble, the opened models and the data, as the options of
 * evaluate(). `gibbon worker` opens a sharded evaluation from the same options (stored by the
 * coordinator), so both read the same evaluation the same way.
 */
import { evaluatedNormalization, surrogateNormalization } from '../evaluation/channel-bounds.js';
import { loadEvaluationData, THREAT_MODEL_DATA_FIELDS } from '../evaluation/data.js';
import { openModels, type OpenedModels } from '../evaluation/open-models.js';
import { resolveEnsemble, type Ensemble } from '../evaluation/presets.js';
import type { EvaluationOptions } from '../evaluation/runner.js';
import { loadThreatModel, MNIST_TEST, withOverrides, type DataSource, type ThreatModel } from '../evaluation/threat-model.js';
import type { OnnxModelOptions } from '../model/onnx-model.js';
import { bpdaPolicy } from './bpda.js';
import { GibbonError } from '../errors.js';
import { DEFAULT_QUEUE, DEFAULT_SCHEMA, type QueueAddress } from '../evaluation/shard/address.js';
import type { BpdaSurrogateSpec } from './option-values.js';
import { modelInterfaceOptions, type ModelInterfaceValues } from './model-options.js';
import { defaultModelPath, packageVersion } from './package-root.js';

export const DEFAULT_EVAL_BATCH = 128;

export interface EvalValues extends ModelInterfaceValues, ShardValues {
  readonly model?: string;
  readonly threat: string;
  readonly data?: string;
  readonly labels?: string;
  readonly n?: number;
  readonly saveAdversarials?: string;
  readonly attacks: string;
  readonly out: string;
  readonly resume?: boolean;
  readonly failUnder?: number;
  readonly junit?: string;
  readonly seed?: number;
  readonly bpda?: boolean;
  readonly bpdaSurrogate?: readonly BpdaSurrogateSpec[];
  readonly eot?: number;
  readonly batchSize?: number;
  readonly threads?: number;
}

/** eval's options for sharding (also read by `gibbon worker`). */
export interface ShardValues {
  readonly queue?: string;
  readonly queueName?: string;
  readonly queueSchema?: string;
  readonly workers?: number;
  readonly lease?: number;
}

/** The queue the options name (the URL may also come from GIBBON_QUEUE_URL, which keeps the password out of `ps`). */
export function queueAddress(values: ShardValues): QueueAddress {
  const url = values.queue === 'env' || values.queue === undefined ? process.env.GIBBON_QUEUE_URL : values.queue;
  if (!url) {
    const why = values.queue === undefined ? 'no --queue given and GIBBON_QUEUE_URL is not set' : 'GIBBON_QUEUE_URL is not set';
    throw new GibbonError('invalid_option', `a sharded run needs the queue's PostgreSQL URL: ${why}`, { option: '--queue' });
  }
  return { url, queue: values.queueName ?? DEFAULT_QUEUE, schema: values.queueSchema ?? DEFAULT_SCHEMA };
}

/** What a coordinator stores for its workers: eval's options (no outputs) and the folder relative paths are relative to. */
export interface WorkerSpec {
  readonly values: EvalValues;
  readonly cwd: string;
}

/** The threat model (with the command line's overrides) and the ensemble. */
export function readEvalPlan(values: EvalValues): { tm: ThreatModel; ensemble: Ensemble } {
  const base = loadThreatModel(values.threat);
  let data: DataSource | undefined;
  if (values.data !== undefined) data = values.data === MNIST_TEST ? MNIST_TEST : { x: values.data, labels: values.labels! };
  const tm = withOverrides(base, { n: values.n, data, seed: values.seed });
  return { tm, ensemble: resolveEnsemble(values.attacks, '--attacks') };
}

/**
 * How the evaluated ONNX file is read: the command line's --feed, --wrt-input, --output,
 * --output-reduce and --input-shape over the threat model's `model` section; the normalisation
 * from input.mean/std; symbolic sizes from input.shape or the data.
 */
function evaluatedModelOptions(tm: ThreatModel, values: EvalValues): OnnxModelOptions {
  const m = tm.model ?? {};
  const threatFeeds = Object.entries(m.feeds ?? {}).map(([name, value]) => ({ name, value }));
  const given = new Set((values.feed ?? []).map((f) => f.name));
  const dataPath = tm.data === MNIST_TEST ? undefined : tm.data.x;
  const options = modelInterfaceOptions(
    {
      inputShape: values.inputShape ?? tm.input.shape,
      feed: [...threatFeeds.filter((f) => !given.has(f.name)), ...(values.feed ?? [])],
      wrtInput: values.wrtInput ?? m.input,
      output: values.output ?? m.output,
      outputReduce: values.outputReduce ?? m.output_reduce,
      ...evaluatedNormalization(tm.input), // input.mean/std, after the unit-space mapping under per-channel bounds
    },
    tm.input.shape ? undefined : dataPath,
    values.data !== undefined ? '--data' : 'data.x',
  );
  if (tm.data === MNIST_TEST && !options.exampleShape) return { ...options, exampleShape: [1, 28, 28] };
  return options;
}

export interface EvalInputs {
  readonly models: OpenedModels;
  /** evaluate()'s options but where the results go and how progress is shown. */
  readonly options: EvaluationOptions;
}

/** Opens the models and reads the data of the evaluation `values` describe (notes go to `note`); dispose `models` when done. */
export async function openEvalInputs(values: EvalValues, tm: ThreatModel, ensemble: Ensemble, note: (line: string) => void): Promise<EvalInputs> {
  const batchSize = values.batchSize ?? DEFAULT_EVAL_BATCH;
  const modelOptions = { threads: values.threads, batchSize, nonDifferentiable: values.bpda ? ('identity' as const) : ('zero' as const) };
  // BPDA surrogates (--bpda-surrogate) replace ops of the evaluated model only, not of a transfer surrogate.
  const bpda = bpdaPolicy(values.bpda ?? false, values.bpdaSurrogate);
  const models = await openModels(tm, tm.endpoint ? values.model : (values.model ?? defaultModelPath()), {
    model: tm.endpoint ? undefined : { ...modelOptions, ...evaluatedModelOptions(tm, values), nonDifferentiable: bpda.policy },
    surrogate: { ...modelOptions, normalization: surrogateNormalization(tm.input) },
  });
  try {
    const fields =
      values.data !== undefined || values.n !== undefined
        ? {
            x: values.data !== undefined ? '--data' : THREAT_MODEL_DATA_FIELDS.x,
            labels: values.data !== undefined ? '--labels' : THREAT_MODEL_DATA_FIELDS.labels,
            n: values.n !== undefined ? '--n' : 'n',
          }
        : THREAT_MODEL_DATA_FIELDS;
    const data = loadEvaluationData(tm, models.target, fields);
    for (const line of data.notes) note(line);
    return {
      models,
      options: {
        model: models.target,
        white: models.white,
        modelPath: models.facts.path,
        surrogate: models.surrogate,
        threatModel: tm,
        data,
        ensemble,
        batchSize,
        bpda: values.bpda ?? false,
        bpdaSurrogates: bpda.described,
        eotSamples: values.eot,
        threads: values.threads,
        gibbonVersion: packageVersion(),
      },
    };
  } catch (e) {
    await models.dispose();
    throw e;
  }
}
