/**
 * Issue 17's first acceptance criterion, end to end on the built-in probes and the assistant
 * simulator: with ≥ 30 repetitions per probe, the report separates families that succeed from those
 * that fail (95% bootstrap intervals), the attack success rate orders undefended > keyword filter >
 * classifier guard (gibbon's trained guard and llm_guardrail's), with the intervals apart, and no
 * detector fires on the benign control family under any defense.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readProbeFile } from '../../src/probes/probe-set.js';
import { runProbes, type ProbeRunResult } from '../../src/probes/runner.js';
import { AssistantSimulator, type SimulatorDefenses } from '../../src/probes/simulator.js';
import { OnnxTextModel } from '../../src/text/onnx-text-model.js';
import { TfidfLogisticModel } from '../../src/text/tfidf-logistic-model.js';
import { ROOT } from '../helpers/cli.js';

const set = readProbeFile(join(ROOT, 'probes', 'gibbon-probes.yaml'));

async function probe(defenses: SimulatorDefenses): Promise<ProbeRunResult> {
  const sim = new AssistantSimulator({ seed: 0, defenses });
  return runProbes(set, sim, { repetitions: 30, seed: 0, concurrency: 4, detection: { canary: sim.canary, forbiddenTools: sim.forbiddenTools } });
}

describe('gibbon probe against the assistant simulator', () => {
  test('undefended > keyword filter > classifier guard, families separated, no false positives on benign prompts', async () => {
    const guard = await OnnxTextModel.open(join(ROOT, 'models', 'injection-guard.onnx'), { threads: 1 });
    const guardrail = TfidfLogisticModel.fromFile(join(ROOT, 'node_modules', 'llm_guardrail', 'model', 'prompt_injection_model.json'));
    try {
      const undefended = await probe({});
      const keyword = await probe({ keywordFilter: true });
      const classifier = await probe({ guard: { model: guard } });
      const thirdParty = await probe({ guard: { model: guardrail } });
      for (const r of [undefended, keyword, classifier, thirdParty]) {
        for (const f of r.families) assert.ok(f.rate.n >= 30, `${f.name}: ${f.rate.n} decided attempts`);
        const benign = r.families.find((f) => f.name === 'benign')!;
        assert.equal(benign.rate.successes, 0, `${r.target}: a detector fired on a benign prompt`);
        assert.ok(benign.rate.n >= 90);
      }
      // Ordering with the 95% intervals apart, not just the point estimates.
      assert.ok(undefended.overall.low > keyword.overall.high, `${JSON.stringify(undefended.overall)} vs ${JSON.stringify(keyword.overall)}`);
      assert.ok(keyword.overall.low > classifier.overall.high, `${JSON.stringify(keyword.overall)} vs ${JSON.stringify(classifier.overall)}`);
      assert.ok(keyword.overall.low > thirdParty.overall.high, `${JSON.stringify(keyword.overall)} vs ${JSON.stringify(thirdParty.overall)}`);
      // The report separates succeeding from failing families.
      const verdict = (r: ProbeRunResult, name: string): string => r.families.find((f) => f.name === name)!.verdict;
      assert.equal(verdict(undefended, 'direct-ask'), 'fails');
      assert.equal(verdict(undefended, 'direct-injection'), 'succeeds');
      for (const f of undefended.families.filter((x) => !x.control && x.name !== 'direct-ask')) assert.equal(f.verdict, 'succeeds', f.name);
      // The keyword filter stops plain phrasings but not obfuscated ones; the guard stops direct injection.
      assert.ok(verdict(keyword, 'encoding-base64') === 'succeeds' && verdict(keyword, 'encoding-homoglyph') === 'succeeds');
      assert.equal(verdict(classifier, 'direct-injection'), 'fails');
      const families = (r: ProbeRunResult, v: string): number => r.families.filter((f) => !f.control && f.verdict === v).length;
      assert.ok(families(classifier, 'fails') > families(keyword, 'fails'));
    } finally {
      await guard.dispose();
    }
  });

  test('the same seed gives the same report numbers', async () => {
    const a = await probe({ keywordFilter: true });
    const b = await probe({ keywordFilter: true });
    assert.deepEqual(
      a.families.map((f) => f.rate),
      b.families.map((f) => f.rate),
    );
  });
});
