/**
 * What the HttpModel tests share: the reference MLP behind a local model server (test/helpers/model-server.ts),
 * a connect with a 1 ms backoff, and an assertion on EndpointErrors.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { referenceModelPath } from '../../src/attacks/testing/reference-data.js';
import { OnnxModel } from '../../src/model/onnx-model.js';
import { EndpointError, HttpModel, type HttpModelOptions } from '../../src/model/remote/http-model.js';
import { startModelServer, type ModelServer } from './model-server.js';

/** The reference inputs' shape. */
export const SHAPE = [null, 1, 28, 28];

export interface ServedModel {
  readonly onnx: OnnxModel;
  readonly server: ModelServer;
}

/** Serves the reference MLP for the tests of this file (started before them, closed after). */
export function serveReferenceModel(): ServedModel {
  const served = {} as { onnx: OnnxModel; server: ModelServer };
  before(async () => {
    served.onnx = await OnnxModel.load(referenceModelPath('mnist_mlp'), { threads: 1 });
    served.server = await startModelServer(served.onnx);
  });
  after(async () => {
    await served.server.close();
    await served.onnx.dispose();
  });
  return served;
}

/** An HttpModel on `server` (retries 1 ms apart). */
export function connectTo(server: ModelServer, options: Partial<HttpModelOptions> = {}): Promise<HttpModel> {
  return HttpModel.connect({ url: server.url, inputShape: SHAPE, backoffMs: 1, ...options });
}

/** Asserts an EndpointError of `problem` whose message matches. */
export function endpointError(problem: EndpointError['problem'], pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof EndpointError, `not an EndpointError: ${String(e)}`);
    assert.equal(e.problem, problem, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}
