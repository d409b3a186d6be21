/** Thread counts for onnxruntime sessions (kept apart from session.ts so the CLI can use it without loading onnxruntime). */
import { availableParallelism } from 'node:os';

/**
 * Threads actually used for a request: at most the number of cores (more only makes the threads
 * fight over the cores; a model file or option asking for 10⁶ threads must not spawn them).
 */
export function cappedThreads(requested: number | undefined): number {
  const cores = availableParallelism();
  if (requested === undefined || !Number.isFinite(requested) || requested < 1) return cores;
  return Math.min(Math.floor(requested), cores);
}
