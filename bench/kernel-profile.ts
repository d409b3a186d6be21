/**
 * Reading onnxruntime profiles (`enableProfiling`): each node's fastest kernel time over the runs
 * profiled. On a machine shared with other work, the sum of these tracks the idle run time much
 * better than the wall clock or mean kernel times do. Used by profile-graphs.ts and
 * maxpool-grad-speed.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileEvent {
  readonly cat?: string;
  readonly name: string;
  readonly dur: number;
  readonly args?: { readonly op_name?: string };
}

/** The newest profile in `dir` whose file name starts with `prefix`. */
export function profileFile(dir: string, prefix: string): string {
  const files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.json'));
  if (files.length === 0) throw new Error(`no onnxruntime profile ${prefix}*.json in ${dir}`);
  return join(dir, files.sort().at(-1)!);
}

/** Node name → its op type and fastest kernel time (µs) in the profile `file`. */
export function fastestKernels(file: string): Map<string, { op: string; us: number }> {
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  const byNode = new Map<string, { op: string; us: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const prev = byNode.get(name);
    if (!prev || e.dur < prev.us) byNode.set(name, { op: e.args?.op_name ?? '?', us: e.dur });
  }
  return byNode;
}
