/**
 * The report's charts, drawn by Apache ECharts' server-side renderer into static SVG strings: no
 * script, no fonts or files to fetch, so the report stays one offline file.
 * - robust accuracy versus ε (every report);
 * - success rate versus queries for query-based black-box attacks (reports whose attack records
 *   carry `queries_to_success`).
 */
import { createRequire } from 'node:module';
import type * as EChartsModule from 'echarts';
import type { Report } from './schema.js';
import { formatEps, formatPercent } from './format.js';
import { FONT_FAMILY } from './page.js';

// ECharts' single-file CommonJS build loads in ~0.15 s; its ESM entry points are hundreds of
// modules (~0.7–1.3 s), which every CLI command that imports the report would pay.
const echarts = createRequire(import.meta.url)('echarts') as typeof EChartsModule;

export const CHART_WIDTH = 640;
export const CHART_HEIGHT = 330;

const WORST_CASE_COLOUR = '#0b57d0';
// Tableau 10 without its blue, which is the worst case's.
const ATTACK_COLOURS = ['#f28e2b', '#59a14f', '#b07aa1', '#e15759', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

type Point = [number, number];

/** Robust accuracy against ε: the worst case over attacks, and each attack row (cumulative after each cascade stage). Returns SVG markup. */
export function renderRobustnessChart(report: Report, normLabel: string): string {
  const start: Point[] = [[0, report.clean_accuracy]];
  const worst = withStart(
    report.robust_accuracy.map((p): Point => [p.eps, p.accuracy]),
    start,
  );
  const names = [...new Set(report.attacks.map((a) => a.name))];
  const perAttack = names.map((name) => ({
    name,
    points: withStart(
      report.attacks.filter((a) => a.name === name).map((a): Point => [a.eps, a.accuracy]),
      start,
    ),
  }));
  const worstName = 'worst case';

  return renderSvgChart(
    {
      legend: { top: 8, left: 'center', itemWidth: 22, itemGap: 28, textStyle: { fontSize: 12, color: '#1f2328' }, data: [worstName, ...names] },
      xAxis: xAxis(`ε (${normLabel})`, { type: 'value', min: 0, axisLabel: { formatter: (v: number) => formatEps(v) } }),
      yAxis: fractionAxis('accuracy'),
      series: [
        ...perAttack.map((a, i) => ({
          type: 'line',
          name: a.name,
          data: a.points,
          color: ATTACK_COLOURS[i % ATTACK_COLOURS.length],
          lineStyle: { width: 1.5, type: 'dashed' },
          symbol: 'circle',
          symbolSize: 5,
          z: 2,
        })),
        {
          type: 'line',
          name: worstName,
          data: worst,
          color: WORST_CASE_COLOUR,
          lineStyle: { width: 3 },
          areaStyle: { color: WORST_CASE_COLOUR, opacity: 0.07 },
          symbol: 'circle',
          symbolSize: 8,
          label: {
            show: true,
            position: 'top',
            distance: 8,
            fontSize: 12,
            fontWeight: 'bold',
            color: WORST_CASE_COLOUR,
            formatter: (p: { value: Point }) => formatPercent(p.value[1]),
          },
          z: 3,
        },
      ],
    },
    'chart-title',
    'echarts-',
  );
}

/** Whether a report has per-example query counts to draw. */
export function hasQueryCurves(report: Report): boolean {
  return report.attacks.some((a) => a.queries_to_success !== undefined && (a.attacked ?? 0) > 0);
}

/**
 * Success rate versus queries, one step line per black-box attack and ε: the share of the
 * examples it attacked that it broke within q queries. Returns SVG markup, or '' without data.
 */
export function renderQueryChart(report: Report): string {
  const rows = report.attacks.filter((a) => a.queries_to_success !== undefined && (a.attacked ?? 0) > 0);
  if (rows.length === 0) return '';
  const most = Math.max(1, ...rows.flatMap((a) => a.queries_to_success!));
  const series = rows.map((a, i) => {
    const attacked = a.attacked!;
    const sorted = [...a.queries_to_success!].sort((p, q) => p - q);
    const points: Point[] = [[1, 0]];
    sorted.forEach((q, k) => {
      if (k + 1 < sorted.length && sorted[k + 1] === q) return;
      points.push([Math.max(1, q), (k + 1) / attacked]);
    });
    points.push([most, sorted.length / attacked]);
    return {
      type: 'line',
      name: `${a.name} ε=${formatEps(a.eps)}`,
      data: points,
      step: 'end',
      color: ATTACK_COLOURS[i % ATTACK_COLOURS.length],
      lineStyle: { width: 2 },
      showSymbol: false,
    };
  });
  return renderSvgChart(
    {
      legend: { top: 8, left: 'center', itemWidth: 22, itemGap: 20, textStyle: { fontSize: 12, color: '#1f2328' }, data: series.map((x) => x.name) },
      xAxis: xAxis('queries per example', { type: 'log', min: 1, max: most }),
      yAxis: fractionAxis('success rate'),
      series,
    },
    'query-chart-title',
    'echarts-q-',
  );
}

/** Sorted by ε, starting at (0, clean accuracy) unless ε = 0 was measured. */
function withStart(points: Point[], start: Point[]): Point[] {
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  return sorted.length > 0 && sorted[0]![0] === 0 ? sorted : [...start, ...sorted];
}

// ECharts names its CSS classes and clip paths from process-wide counters (zr0-cls-0, zr1-c0 …):
// renaming them in order of appearance makes the same report give the same bytes, and a prefix per
// chart keeps two charts on one page from sharing ids. The namespace declarations are dropped
// because inline SVG in HTML does not need them, and the size becomes the page's to choose.
function tidySvg(svg: string, titleId: string, prefix: string): string {
  const names = new Map<string, string>();
  const counts = new Map<string, number>();
  return svg
    .replace(/\bzr\d+-([a-z]+-?)\d+\b/g, (name, kind: string) => {
      if (!names.has(name)) {
        const k = counts.get(kind) ?? 0;
        counts.set(kind, k + 1);
        names.set(name, `${prefix}${kind}${k}`);
      }
      return names.get(name)!;
    })
    .replace(/^<svg([^>]*)>/, (_, attributes: string) => {
      const kept = attributes.replace(/\s+xmlns(:\w+)?="[^"]*"/g, '').replace(/\s+(width|height)="[^"]*"/g, '');
      return `<svg${kept} role="img" aria-labelledby="${titleId}" preserveAspectRatio="xMidYMid meet">`;
    });
}

/** A horizontal axis in the house look, named below it; `scale` says its type, range and labels. */
export function xAxis(name: string, scale: Record<string, unknown>): Record<string, unknown> {
  return {
    ...scale,
    name,
    nameLocation: 'middle',
    nameGap: 30,
    nameTextStyle: { fontSize: 13, color: '#1f2328' },
    splitLine: { lineStyle: { color: '#eaeef2' } },
    axisLine: { lineStyle: { color: '#8c959f' } },
  };
}

/** An axis from 0% to 100% (accuracy, success rate, true- and false-positive rates), shared by the pages' charts; `nameGap` 42 suits a y axis, 30 an x axis. */
export function fractionAxis(name: string, nameGap = 42): Record<string, unknown> {
  return {
    type: 'value',
    min: 0,
    max: 1,
    interval: 0.2,
    name,
    nameLocation: 'middle',
    nameGap,
    nameTextStyle: { fontSize: 13, color: '#1f2328' },
    axisLabel: { formatter: (v: number) => formatPercent(v, 0) },
    splitLine: { lineStyle: { color: '#eaeef2' } },
  };
}

/** Renders an echarts option (plus the house look: no animation, fonts, margins) to tidy static SVG. */
export function renderSvgChart(option: Record<string, unknown>, titleId: string, prefix: string): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: CHART_WIDTH, height: CHART_HEIGHT });
  try {
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: FONT_FAMILY, fontSize: 12, color: '#59636e' },
      grid: { left: 56, right: 28, top: 52, bottom: 50 },
      ...option,
    });
    return tidySvg(chart.renderToSVGString(), titleId, prefix);
  } finally {
    chart.dispose();
  }
}
