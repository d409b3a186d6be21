/**
 * The hostile-input suite (docs/security.md): more than 100 generated hostile inputs — ONNX models,
 * external data, .npy files, threat models, HTTP endpoints and checkpoints — each run through the
 * built CLI by test/hostile/harness.ts. Every case ends within 10 s, stays under 1 GiB resident,
 * and either fails with one line naming the file, node or option (non-zero exit) or gives the
 * right output; no case reads a file outside the model's folder (onnx-cases.ts says how that is
 * shown). The cases run three at a time, since most of their time is the CLI starting up.
 */
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { contextFor, type HostileCase } from './case.js';
import { checkpointCases, CHECKPOINT_THREAT, endpointCases, EVAL_ARGS, startHostileServer, type HostileServer } from './endpoint-cases.js';
import { assertCleanSuccess, runHostile } from './harness.js';
import { npyCases, threatModelCases } from './npy-cases.js';
import { externalDataCases, onnxCases } from './onnx-cases.js';
import { makeWorkspace } from './workspace.js';

const ws = makeWorkspace();
let server: HostileServer | undefined;
let evaluated: string | undefined;

const cases: HostileCase[] = [...onnxCases(), ...externalDataCases(), ...npyCases(), ...threatModelCases(), ...endpointCases(), ...checkpointCases()];

before(async () => {
  server = await startHostileServer();
  writeFileSync(join(ws.models, 'tm-checkpoint.yaml'), CHECKPOINT_THREAT);
  const r = await runHostile([...EVAL_ARGS, '--out', 'evaluated'], { cwd: ws.models, timeoutMs: 30_000 });
  assertCleanSuccess(r, 'the evaluation whose checkpoint is forged');
  evaluated = join(ws.models, 'evaluated');
});

after(async () => {
  await server?.close();
  rmSync(ws.root, { recursive: true, force: true });
});

const ctx = contextFor(
  ws,
  () => server!.url,
  () => evaluated!,
);

test('the suite has at least 100 cases in every group', () => {
  assert.ok(cases.length >= 100, `${cases.length} cases`);
  const groups = new Set(cases.map((c) => c.group));
  assert.deepEqual([...groups].sort(), ['checkpoint', 'endpoint', 'external-data', 'npy', 'onnx', 'threat-model']);
});

// All groups interleaved, three at a time: the endpoint cases mostly wait on timers and sockets,
// the others mostly on the CPU while the CLI starts.
function interleaved(list: readonly HostileCase[]): HostileCase[] {
  const byGroup = [...new Set(list.map((c) => c.group))].map((g) => list.filter((c) => c.group === g));
  const out: HostileCase[] = [];
  for (let i = 0; out.length < list.length; i++) for (const g of byGroup) if (i < g.length) out.push(g[i]!);
  return out;
}

describe('hostile inputs', { concurrency: 3 }, () => {
  for (const c of interleaved(cases)) test(`${c.group}: ${c.name}`, () => c.run(ctx));
});
