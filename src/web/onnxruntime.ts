/**
 * What the browser build gives runtime/session.ts for `import ort from 'onnxruntime-node'`:
 * onnxruntime-web's WebAssembly backend, which has the same InferenceSession and Tensor API. The
 * wasm glue and binary are not bundled; they are served beside the bundle (webRuntimeSettings).
 */
import * as ort from 'onnxruntime-web/wasm';

export default ort;
