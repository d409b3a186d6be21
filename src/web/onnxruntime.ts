/**
 * The browser build's onnxruntime, and its only importer of onnxruntime-web: what
 * `import ort from 'onnxruntime-node'` in runtime/session.ts resolves to in the bundle
 * (tools/web/build-web.mjs). onnxruntime-web's WebAssembly backend has the same InferenceSession and
 * Tensor API. Its wasm glue and binary are not bundled; they are served beside the bundle.
 */
import * as ort from 'onnxruntime-web/wasm';

export default ort;

/** Where the wasm files are (a URL ending in '/') and how many wasm threads to use (1 unless cross-origin isolated). */
export function configureWebRuntime(wasmBase: string, threads: number): void {
  ort.env.wasm.wasmPaths = wasmBase;
  ort.env.wasm.numThreads = threads;
  // The playground already runs gibbon in a worker; onnxruntime's own proxy worker would add a hop.
  ort.env.wasm.proxy = false;
}

/** onnxruntime-web's version, for the page and the report's environment. */
export function webRuntimeVersion(): string {
  return ort.env.versions.web ?? 'unknown';
}
