/** Browser stand-in for node:os (the web build maps node:os here): the cores are those the browser reports. */
import { unavailable } from './unavailable.js';

export function availableParallelism(): number {
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
}

export const hostname = (): string => 'browser';
export const tmpdir = unavailable('os.tmpdir');
