/**
 * A user's labelled texts as JSONL: one JSON object per line, `{"text": "...", "label": 1}` or
 * `{"label": "spam"}`. Blank lines are skipped. Every problem is an error naming the file and the
 * line: invalid UTF-8, invalid JSON, a line that is not an object, a missing or non-string text,
 * an empty (or whitespace-only) text, a missing label, a label that is not a class. Class names
 * come from `classes` when given (a label may then be an index or a name); otherwise names found in
 * the file are the classes in sorted order, and integer labels 0…K−1 are classes '0'…'K−1'.
 */
import { GibbonError } from '../errors.js';
import { readRegularFile } from '../tensor/regular-file.js';
import type { TextDataset } from './text-data.js';

/** Largest JSONL file read (bytes). */
export const MAX_JSONL_BYTES = 512 * 1024 * 1024;

export interface TextJsonlOptions {
  /** Class names, index = class id. Default: inferred from the labels (see the file comment). */
  classes?: readonly string[];
  /** Read at most this many examples. */
  limit?: number;
  /** CLI option the path came from, for messages. */
  option?: string;
}

/** Parses JSONL bytes; `where` names the source in messages. */
export function parseTextJsonl(bytes: Uint8Array, where: string, options: TextJsonlOptions = {}): TextDataset {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const fail = (line: number, what: string): never => {
    throw new GibbonError('invalid_input', `${where} line ${line}: ${what}`, { path: where, ...(options.option ? { option: options.option } : {}) });
  };
  const texts: string[] = [];
  const raw: { label: number | string; line: number }[] = [];
  let start = 0;
  let line = 0;
  while (start <= bytes.length && (options.limit === undefined || texts.length < options.limit)) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    line++;
    const chunk = bytes.subarray(start, end);
    start = end + 1;
    let s: string;
    try {
      s = decoder.decode(chunk);
    } catch {
      fail(line, 'invalid UTF-8; the file must be UTF-8 encoded');
    }
    s = s!.replace(/\r$/, '');
    if (line === 1) s = s.replace(/^\ufeff/, '');
    if (s.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(s);
    } catch (e) {
      fail(line, `invalid JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(line, 'expected an object {"text": "...", "label": ...}');
    const obj = value as Record<string, unknown>;
    if (!('text' in obj)) fail(line, 'no "text" field');
    if (typeof obj.text !== 'string') fail(line, `"text" must be a string; found ${typeof obj.text}`);
    if ((obj.text as string).trim() === '') fail(line, 'empty text');
    if (!('label' in obj) || obj.label === null) fail(line, 'no "label" field (a class index or name)');
    const label = obj.label;
    if (!(typeof label === 'string' || (typeof label === 'number' && Number.isInteger(label) && label >= 0))) {
      fail(line, `"label" must be a class index (an integer ≥ 0) or a class name; found ${JSON.stringify(label)}`);
    }
    texts.push(obj.text as string);
    raw.push({ label: label as number | string, line });
  }
  if (texts.length === 0) throw new GibbonError('invalid_input', `${where} holds no examples`, { path: where });
  let classes = options.classes ? [...options.classes] : undefined;
  if (!classes) {
    const names = [...new Set(raw.filter((r) => typeof r.label === 'string').map((r) => r.label as string))].sort();
    const maxIndex = Math.max(-1, ...raw.filter((r) => typeof r.label === 'number').map((r) => r.label as number));
    if (names.length > 0 && maxIndex >= 0) {
      const first = raw.find((r) => typeof r.label !== typeof raw[0]!.label)!;
      fail(first.line, 'labels mix class names and indices; give the class names (option classes) or use one kind');
    }
    classes = names.length > 0 ? names : Array.from({ length: maxIndex + 1 }, (_, i) => String(i));
  }
  if (classes.length < 2)
    throw new GibbonError('invalid_input', `${where}: labels name only ${classes.length} class; a classifier needs at least 2`, { path: where });
  const labels = new Int32Array(raw.length);
  raw.forEach((r, i) => {
    const c = typeof r.label === 'number' ? r.label : classes.indexOf(r.label);
    if (c < 0 || c >= classes.length) fail(r.line, `label ${JSON.stringify(r.label)} is not a class (classes: ${classes.join(', ')})`);
    labels[i] = c;
  });
  return { texts, labels, classes, source: where };
}

/** Reads a JSONL file of labelled texts (size-capped; see parseTextJsonl). */
export function readTextJsonl(path: string, options: TextJsonlOptions = {}): TextDataset {
  const bytes = readRegularFile(path, { what: 'JSONL file', maxBytes: MAX_JSONL_BYTES, option: options.option });
  return parseTextJsonl(bytes, path, options);
}
