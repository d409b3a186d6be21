/**
 * report.json: written pretty-printed with a stable key order (the schema's), read back with the
 * schema version and every field checked. The format is documented in docs/report-schema.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GibbonError } from '../errors.js';
import { writeFileAtomically } from '../storage/atomic-write.js';
import { readJsonFile } from '../storage/json-file.js';
import { parseReport } from './parse.js';
import type { Report } from './schema.js';

export const REPORT_JSON_FILE = 'report.json';

/**
 * Validates `report` and writes it to `dir/report.json` (creating `dir`), replacing any earlier
 * file atomically so a reader never sees half a report. Returns the file's path.
 */
export function writeReportJson(dir: string, report: Report): string {
  const text = formatReportJson(report);
  const path = join(dir, REPORT_JSON_FILE);
  writeFileAtomically(path, text);
  return path;
}

/** The text of report.json for `report`: two-space indentation, arrays of numbers on one line. */
export function formatReportJson(report: Report): string {
  return `${formatValue(parseReport(report), '')}\n`;
}

/** Reads and validates a report.json written by this or an earlier compatible gibbon. */
export function readReportJson(path: string): Report {
  if (!existsSync(path)) throw new GibbonError('file_not_found', `file not found: ${path}`, { path });
  const value = readJsonFile(path, (reason, cause) => new GibbonError('invalid_input', `${path} is not valid JSON: ${reason}`, { path }, { cause }));
  return parseReport(value, path);
}

// Objects one key per line; arrays of scalars (pixels, shapes, ε lists) on one line, so a gallery
// image is a line, not a thousand.
function formatValue(value: unknown, indent: string): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v) ?? 'null').join(', ')}]`;
    return `[\n${value.map((v) => `${inner}${formatValue(v, inner)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${formatValue(v, inner)}`).join(',\n')}\n${indent}}`;
}
