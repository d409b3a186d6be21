/** How numbers read in the report: accuracies as percentages, ε as written, durations in words. */

/** 0.9921875 → '99.2%'. */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** ε as a person wrote it: 0.3 → '0.3', 8/255 → '8/255'. */
export function formatEps(eps: number): string {
  const short = Number(eps.toPrecision(4));
  const over255 = eps * 255;
  if (short !== eps && Math.abs(over255 - Math.round(over255)) < 1e-6 && Math.round(over255) > 0) return `${Math.round(over255)}/255`;
  return String(short);
}

/** Three significant digits: 1.23456 → '1.23', 0.000123 → '0.000123'. */
export function formatNumber(value: number, digits = 3): string {
  if (value === 0) return '0';
  return String(Number(value.toPrecision(digits)));
}

const GROUPED = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** 1234567 → '1,234,567'. */
export function formatCount(value: number): string {
  return GROUPED.format(value);
}

/** 4.25 → '4.3 s', 185 → '3 min 5 s', 7384 → '2 h 3 min'. */
export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(seconds < 1 ? 2 : 1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const total = Math.round(seconds);
  if (total < 3600) return `${Math.floor(total / 60)} min ${total % 60} s`;
  return `${Math.floor(total / 3600)} h ${Math.floor((total % 3600) / 60)} min`;
}

const NORM_SYMBOLS: Record<string, string> = { linf: 'L∞', l2: 'L2', l1: 'L1', l0: 'L0' };

/** 'linf' → 'L∞'; other names as they are. */
export function formatNormName(norm: string): string {
  return NORM_SYMBOLS[norm.toLowerCase()] ?? norm;
}

const LABELS: Record<string, string> = { eps: 'ε', epsilon: 'ε', epsilons: 'ε', n: 'n' };

/** 'iterative-weaker-than-single-step' → 'Iterative weaker than single step'; 'eps' → 'ε'. */
export function humanise(id: string): string {
  if (LABELS[id] !== undefined) return LABELS[id];
  const words = id.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A change of accuracy in percentage points: 0.05 → '+5.0 pt', −0.2 → '−20.0 pt'. */
export function signedPoints(difference: number): string {
  const points = difference * 100;
  return `${points > 0 ? '+' : points < 0 ? '−' : '±'}${Math.abs(points).toFixed(1)} pt`;
}

/** ISO time as 'YYYY-MM-DD HH:MM UTC' (the report's own text when it is not a valid time). */
export function formatCreated(created: string): string {
  const time = new Date(created);
  if (Number.isNaN(time.getTime())) return created;
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
