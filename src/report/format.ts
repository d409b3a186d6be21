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
