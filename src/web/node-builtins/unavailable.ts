/** What the browser stand-ins of Node's modules throw when code reaches a Node-only facility. */
import { GibbonError } from '../../errors.js';

/** A function that fails, naming the Node facility the browser does not have. */
export function unavailable(name: string): (...args: unknown[]) => never {
  return () => {
    throw new GibbonError('internal', `${name} is not available in the browser (the web build has no file system or processes)`);
  };
}
