/**
 * Browser stand-in for Node's `process` global, injected by the web build wherever bundled code
 * names `process` (the evaluation runner records the environment in the report).
 */
export const process = Object.freeze({
  version: 'none (browser)',
  platform: 'browser',
  arch: 'wasm32',
  pid: 0,
  env: Object.freeze({}) as Readonly<Record<string, string | undefined>>,
});
