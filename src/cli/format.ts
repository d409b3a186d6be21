/** How the CLI's output reads: paths as the user would type them, tables in aligned columns. */
import { relative } from 'node:path';

/** A path relative to the working directory when it lies below it, else as given. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** Rows as indented lines: the first column left-aligned, the others right-aligned, three spaces apart. */
export function alignColumns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map(
    (r) =>
      '  ' +
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('   ')
        .trimEnd(),
  );
}

/** k of n as a percentage with two decimals. */
export function percent(k: number, n: number): string {
  return `${((100 * k) / n).toFixed(2)}%`;
}
