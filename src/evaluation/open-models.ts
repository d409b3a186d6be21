/**
 * The models of one evaluation, opened once: the model under evaluation (an ONNX file, or the HTTP
 * endpoint the threat model names), its gradients when it has any, and a transfer attacker's
 * surrogate. What each can do is in the types: `target` gives class scores (or, for a label-only
 * endpoint, decisions), `white` — present only for an ONNX file — gives gradients, and `facts`
 * says which oracles the target can back. An endpoint never has a `white`, so no code path can ask
 * it for gradients.
 *
 * Each model is checked against the threat model (input.shape, an L2 budget within the domain)
 * as soon as it is open; a failure closes whatever was already open.
 */
import { GibbonError } from '../errors.js';
import { OnnxModel, type OnnxModelOptions } from '../model/onnx-model.js';
import type { OracleKind } from '../model/oracles.js';
import { HttpModel } from '../model/remote/http-model.js';
import type { EvaluationModel, EvaluationTarget } from './runner.js';
import { ALLOWED_ORACLES, checkThreatModelFitsModel, type ThreatModel } from './threat-model.js';

/** What the opened model under evaluation is and can do. */
export interface EvaluatedModelFacts {
  /** An ONNX file, or an HTTP endpoint. */
  readonly kind: 'onnx' | 'endpoint';
  /** The model as reports name it: the file as given, or the endpoint's URL without credentials. */
  readonly path: string;
  /** The oracles the target can back: all three for an ONNX file; scores and decisions, or decisions only, for an endpoint. */
  readonly oracles: readonly OracleKind[];
}

export interface OpenedModels {
  /** The model under evaluation, as far as any attacker may ask it: class scores or decisions. */
  readonly target: EvaluationTarget;
  /** The same model's gradients (an ONNX file only). */
  readonly white?: EvaluationModel;
  /** The surrogate whose gradients a transfer attacker uses (knowledge 'transfer' only). */
  readonly surrogate?: EvaluationModel;
  /** The endpoint behind `target`, for its request counts. */
  readonly endpoint?: HttpModel;
  readonly facts: EvaluatedModelFacts;
  /** Releases every model opened here. */
  dispose(): Promise<void>;
}

export interface OpenModelsOptions {
  /** How the ONNX file under evaluation is read (its interface, BPDA policy, threads, batch size). */
  readonly model?: OnnxModelOptions;
  /** How the surrogate is read. */
  readonly surrogate?: OnnxModelOptions;
  /** Where an endpoint's auth.env is looked up (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The oracles an opened endpoint can back (label-only: decisions alone). */
function endpointOracles(endpoint: HttpModel): readonly OracleKind[] {
  return endpoint.decisionOnly ? ['decision'] : ['score', 'decision'];
}

/** An endpoint as the runner's target: scores or decisions, nothing else. */
function endpointTarget(endpoint: HttpModel): EvaluationTarget {
  return {
    numClasses: endpoint.numClasses,
    inputShape: endpoint.inputShape,
    decisionOnly: endpoint.decisionOnly,
    logits: (x) => endpoint.logits(x),
    outputsProbabilities: endpoint.outputs === 'probabilities',
    ir: {},
  };
}

/**
 * Refuses knowledge the target cannot serve. The threat model already ties an endpoint to scores
 * or decisions; this keeps it so for threat models built in code.
 */
function checkKnowledgeFits(tm: ThreatModel, facts: EvaluatedModelFacts): void {
  // A transfer attacker's gradients are the surrogate's; only its decisions come from the target.
  const needed = ALLOWED_ORACLES[tm.knowledge].filter((k) => !(tm.knowledge === 'transfer' && k === 'gradient'));
  const missing = needed.filter((k) => !facts.oracles.includes(k));
  if (missing.length > 0) {
    throw new GibbonError(
      'invalid_option',
      `knowledge '${tm.knowledge}' needs ${missing.join(' and ')} answers, which ${facts.path} cannot give (it gives ${facts.oracles.join(' and ')})`,
      { option: 'knowledge' },
    );
  }
}

/**
 * Opens the models of an evaluation under `tm`: the endpoint of `tm.endpoint`, or else the ONNX
 * file `path`, then the surrogate of a transfer threat model. `path` must be absent with an endpoint.
 */
export async function openModels(tm: ThreatModel, path: string | undefined, options: OpenModelsOptions = {}): Promise<OpenedModels> {
  if (tm.endpoint && path !== undefined) {
    throw new GibbonError('invalid_option', `both MODEL (${path}) and the threat model's endpoint name the model to evaluate; give one of them`, {
      option: 'endpoint',
    });
  }
  if (!tm.endpoint && path === undefined) throw new GibbonError('internal', 'openModels needs a model file or a threat model with an endpoint');
  let endpoint: HttpModel | undefined;
  let white: OnnxModel | undefined;
  let surrogate: OnnxModel | undefined;
  const dispose = async (): Promise<void> => {
    await surrogate?.dispose();
    await white?.dispose();
    await endpoint?.dispose();
  };
  if (tm.endpoint) {
    // input.shape is required with an endpoint (validateThreatModel).
    endpoint = await HttpModel.open(tm.endpoint, { inputShape: [null, ...tm.input.shape!], env: options.env });
  } else {
    white = await OnnxModel.load(path!, options.model);
  }
  const facts: EvaluatedModelFacts = endpoint
    ? { kind: 'endpoint', path: endpoint.url, oracles: endpointOracles(endpoint) }
    : { kind: 'onnx', path: path!, oracles: ['gradient', 'score', 'decision'] };
  const target = endpoint ? endpointTarget(endpoint) : white!;
  try {
    checkKnowledgeFits(tm, facts);
    checkThreatModelFitsModel(tm, target, facts.path);
    if (tm.surrogate) {
      surrogate = await OnnxModel.load(tm.surrogate, options.surrogate);
      checkThreatModelFitsModel(tm, surrogate, tm.surrogate);
    }
  } catch (e) {
    await dispose();
    throw e;
  }
  return { target, ...(white ? { white } : {}), ...(surrogate ? { surrogate } : {}), ...(endpoint ? { endpoint } : {}), facts, dispose };
}
