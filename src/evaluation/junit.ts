/**
 * An evaluation as JUnit XML for CI dashboards: one test suite, one test case per ε ("robust
 * accuracy at ε=0.3 (linf)") that fails when the robust accuracy there is below the bar; per-attack
 * accuracies go to the case's system-out, failed masking checks to the suite's system-err.
 * A pure function of the report (the CLI writes the file).
 */
import type { Report } from '../report/index.js';

/** Escapes text for XML attributes and content; drops characters XML 1.0 cannot hold. */
export function escapeXml(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const percent = (v: number): string => `${(100 * v).toFixed(2)}%`;

export interface JunitOptions {
  /** Robust accuracy (a fraction) each ε must reach; without it every case passes. */
  readonly failUnder?: number;
}

export function formatJunit(report: Report, options: JunitOptions = {}): string {
  const norm = String(report.threat_model['norm'] ?? '');
  const modelName = report.model.path.split(/[\\/]/).pop() ?? report.model.path;
  const suite = `gibbon eval ${modelName}`;
  const cases = report.robust_accuracy.map((point) => {
    const attacks = report.attacks.filter((a) => a.eps === point.eps);
    const seconds = attacks.reduce((s, a) => s + a.seconds, 0);
    const name = `robust accuracy at ε=${point.eps} (${norm})`;
    const below = options.failUnder !== undefined && point.accuracy < options.failUnder;
    const out = [
      `clean accuracy ${percent(report.clean_accuracy)}; robust accuracy ${percent(point.accuracy)} at ε=${point.eps} over ${report.n} examples`,
      ...attacks.map(
        (a) =>
          `${a.name.endsWith('(check)') ? `${a.name} alone` : `after ${a.name}`}: ${percent(a.accuracy)} (mean norm ${a.mean_norm === null ? '-' : a.mean_norm.toPrecision(4)}, ${a.queries} queries, ${a.seconds.toFixed(2)} s)`,
      ),
    ].join('\n');
    const failure = below
      ? `\n      <failure message="${escapeXml(`robust accuracy ${percent(point.accuracy)} is below ${percent(options.failUnder!)}`)}" type="BelowThreshold">${escapeXml(
          `at ε=${point.eps} (${norm}) ${Math.round(point.accuracy * report.n)} of ${report.n} examples stay robust; the bar is ${percent(options.failUnder!)}`,
        )}</failure>`
      : '';
    return {
      failed: below,
      xml: `    <testcase classname="${escapeXml(`gibbon.eval.${modelName}`)}" name="${escapeXml(name)}" time="${seconds.toFixed(3)}">${failure}
      <system-out>${escapeXml(out)}</system-out>
    </testcase>`,
    };
  });
  const failedChecks = report.masking_checks.filter((c) => !c.passed);
  const err = failedChecks.map((c) => `masking check failed: ${c.name}: ${c.detail}${c.advice ? ` — ${c.advice}` : ''}`).join('\n');
  const failures = cases.filter((c) => c.failed).length;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="gibbon" tests="${cases.length}" failures="${failures}" errors="0" time="${report.seconds.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0" time="${report.seconds.toFixed(3)}" timestamp="${escapeXml(report.created.replace(/Z$/, ''))}">`,
    '    <properties>',
    `      <property name="model" value="${escapeXml(report.model.path)}"/>`,
    `      <property name="model_sha256" value="${escapeXml(report.model.sha256)}"/>`,
    `      <property name="data" value="${escapeXml(report.data)}"/>`,
    `      <property name="n" value="${report.n}"/>`,
    `      <property name="seed" value="${report.seed}"/>`,
    `      <property name="clean_accuracy" value="${report.clean_accuracy}"/>`,
    ...(options.failUnder !== undefined ? [`      <property name="fail_under" value="${options.failUnder}"/>`] : []),
    '    </properties>',
    ...cases.map((c) => c.xml),
    ...(err ? [`    <system-err>${escapeXml(err)}</system-err>`] : []),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
