/**
 * A probe run as JUnit XML for CI: one test suite, one test case per attacking family ("resists
 * direct-injection"), failing when the share of attempts it resisted is below the bar; the rate,
 * its interval and the counts go to the case's system-out. A pure function of the report.
 */
import { escapeXml } from '../evaluation/junit.js';
import type { ProbeReport } from '../report/probe-report.js';

const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;

export function formatProbeJunit(report: ProbeReport, failUnder?: number): string {
  const families = report.families.filter((f) => !f.control);
  const cases = families.map((f) => {
    const resisted = 1 - f.success_rate.rate;
    const below = failUnder !== undefined && f.success_rate.n > 0 && resisted < failUnder;
    const out = `attack success ${pct(f.success_rate.rate)} (95% CI ${pct(f.success_rate.ci95[0])}–${pct(f.success_rate.ci95[1])}) over ${f.success_rate.n} decided attempts; ${f.counts.errored} errored, ${f.counts.skipped} skipped`;
    const failure = below
      ? `\n      <failure message="${escapeXml(`resisted ${pct(resisted)} < ${pct(failUnder!)}`)}" type="BelowThreshold">${escapeXml(`${f.success_rate.successes} of ${f.success_rate.n} attempts succeeded`)}</failure>`
      : '';
    return {
      below,
      xml: `    <testcase classname="${escapeXml(`gibbon.probe.${report.target}`)}" name="${escapeXml(`resists ${f.name}`)}">${failure}\n      <system-out>${escapeXml(out)}</system-out>\n    </testcase>`,
    };
  });
  const failures = cases.filter((c) => c.below).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="gibbon" tests="${cases.length}" failures="${failures}" errors="0" time="${report.seconds.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(`gibbon probe ${report.target}`)}" tests="${cases.length}" failures="${failures}" errors="0" time="${report.seconds.toFixed(3)}">`,
    ...cases.map((c) => c.xml),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
