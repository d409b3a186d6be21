/**
 * How the assistant simulator understands untrusted text (simulator.ts): which instructions a message
 * carries, read the way a capable model reads — through obfuscations (obfuscation.ts) and typos
 * (a word within one edit of a keyword, two for long ones, still counts). Pure functions.
 *
 * Cues (anywhere in the conversation's untrusted messages):
 * - override: a verb like ignore/disregard/forget/bypass within 5 words before instructions/rules/
 *   guidelines/…, or a phrase such as "new instructions", "developer mode";
 * - persona: role-play framing (pretend, act as, you are now, stay in character, unrestricted …).
 * Requests (in the newest untrusted messages): reveal the secret, reveal the system prompt, call a
 * named tool, or a harmful topic; with the encoding they were read through.
 */
import { readableViews, unleet, type ReadableView } from './obfuscation.js';

const OVERRIDE_VERBS = ['ignore', 'disregard', 'forget', 'override', 'bypass', 'skip', 'drop', 'discard', 'abandon', 'suspend'];
const OVERRIDE_OBJECTS = [
  'instructions',
  'instruction',
  'rules',
  'guidance',
  'guidelines',
  'directions',
  'prompt',
  'restrictions',
  'policy',
  'constraints',
  'orders',
];
const OVERRIDE_PHRASES = [
  'new instructions',
  'updated instructions',
  'system override',
  'admin override',
  'maintenance mode',
  'debug mode',
  'developer mode',
  'set aside',
];
const PERSONA_WORDS = ['pretend', 'roleplay', 'persona', 'unrestricted', 'unfiltered', 'jailbroken', 'uncensored'];
const PERSONA_PHRASES = ['act as', 'you are now', 'stay in character', 'play a game', 'role play', 'from now on you', 'imagine you are', 'in this story'];
const LEAK_VERBS = [
  'what',
  'need',
  'reveal',
  'print',
  'show',
  'tell',
  'output',
  'repeat',
  'disclose',
  'share',
  'display',
  'write',
  'give',
  'spell',
  'recite',
  'say',
  'type',
  'echo',
  'leak',
  'provide',
];
const SECRET_OBJECTS = ['secret', 'password', 'passphrase', 'canary', 'token', 'credentials', 'passcode'];
const PROMPT_OBJECTS = ['instructions', 'prompt', 'preamble', 'configuration', 'above', 'initialization'];

/** Harmful topics the simulator refuses unless a persona or override talks it round. */
export const HARMFUL_TOPICS = [
  'pick a lock',
  'hotwire a car',
  'write malware',
  'write a phishing email',
  'make a weapon',
  'steal a password',
  'disable a security camera',
  'forge a signature',
] as const;

export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [];
}

/** Edit distance with adjacent transpositions counting 1 (optimal string alignment), over code points. */
export function typoDistance(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/** A word read as `keyword` despite typos: within 1 edit (≥ 4 letters) or 2 (≥ 9), a swap of neighbours counting 1. */
export function readsAs(word: string, keyword: string): boolean {
  if (word === keyword) return true;
  const allowed = keyword.length >= 9 ? 2 : keyword.length >= 4 ? 1 : 0;
  if (allowed === 0 || Math.abs(word.length - keyword.length) > allowed) return false;
  return typoDistance(word, keyword) <= allowed;
}

const anyOf = (word: string, keywords: readonly string[]): boolean => keywords.some((k) => readsAs(word, k));

/** Index of the first occurrence of `phrase` (words in a row, typos allowed), or -1. */
export function findPhrase(ws: readonly string[], phrase: string): number {
  const p = words(phrase);
  outer: for (let i = 0; i + p.length <= ws.length; i++) {
    for (let j = 0; j < p.length; j++) if (!readsAs(ws[i + j]!, p[j]!)) continue outer;
    return i;
  }
  return -1;
}

/** Whether a word of `first` is followed within `window` words by a word of `second`. */
function near(ws: readonly string[], first: readonly string[], second: readonly string[], window: number): boolean {
  for (let i = 0; i < ws.length; i++) {
    if (!anyOf(ws[i]!, first)) continue;
    for (let j = i + 1; j <= i + window && j < ws.length; j++) if (anyOf(ws[j]!, second)) return true;
  }
  return false;
}

export interface Cues {
  readonly override: boolean;
  readonly persona: boolean;
}

/** Every word the reader looks for, of ≥ 3 letters (to rejoin words split by a stray space). */
const KEYWORDS = new Set(
  [
    ...OVERRIDE_VERBS,
    ...OVERRIDE_OBJECTS,
    ...PERSONA_WORDS,
    ...LEAK_VERBS,
    ...SECRET_OBJECTS,
    ...PROMPT_OBJECTS,
    ...OVERRIDE_PHRASES,
    ...PERSONA_PHRASES,
    ...HARMFUL_TOPICS,
    'rot13',
  ]
    .flatMap((p) => words(p))
    .filter((w) => w.length >= 3),
);

/** The keyword `fragment` reads as, if any (leetspeak digits read as letters). */
function keywordOf(fragment: string, extra: readonly string[]): string | undefined {
  const w = unleet(fragment);
  if (KEYWORDS.has(w) || extra.includes(w)) return w;
  return [...KEYWORDS, ...extra].find((k) => k.length >= 5 && readsAs(w, k));
}

/** The words, with neighbours rejoined where a word was split by a space ("pass word", "Wr 173" → "password", "write"), as a reader would. */
export function readWords(text: string, extra: readonly string[] = []): string[] {
  const ws = words(text);
  const out: string[] = [];
  for (let i = 0; i < ws.length; i++) {
    const known = (w: string): boolean => KEYWORDS.has(w) || extra.includes(w);
    const joined = i + 1 < ws.length && !known(ws[i]!) && !known(ws[i + 1]!) ? keywordOf(ws[i]! + ws[i + 1]!, extra) : undefined;
    if (joined !== undefined) {
      out.push(joined);
      i++;
    } else out.push(ws[i]!);
  }
  return out;
}

export function cuesIn(text: string): Cues {
  const ws = readWords(text);
  return {
    override: near(ws, OVERRIDE_VERBS, OVERRIDE_OBJECTS, 5) || OVERRIDE_PHRASES.some((p) => findPhrase(ws, p) >= 0),
    persona: ws.some((w) => anyOf(w, PERSONA_WORDS)) || PERSONA_PHRASES.some((p) => findPhrase(ws, p) >= 0),
  };
}

export type LeakFormat = 'plain' | 'base64' | 'reversed' | 'spelled';

export type Request =
  | { readonly kind: 'secret' | 'system-prompt'; readonly format: LeakFormat }
  | { readonly kind: 'tool'; readonly tool: string }
  | { readonly kind: 'harmful'; readonly topic: string };

/** The form a leak is asked for in ("in base64", "backwards", "letter by letter"). */
function leakFormat(ws: readonly string[]): LeakFormat {
  if (ws.includes('base64')) return 'base64';
  if (ws.some((w) => readsAs(w, 'backwards') || readsAs(w, 'reversed') || readsAs(w, 'reverse'))) return 'reversed';
  if (findPhrase(ws, 'letter by letter') >= 0 || ws.some((w) => readsAs(w, 'dashes') || readsAs(w, 'hyphens'))) return 'spelled';
  return 'plain';
}

/** The request `text` makes of the assistant, if any (`tools`: names of the assistant's tools it could be asked to call). */
export function requestIn(text: string, tools: readonly string[]): Request | undefined {
  const ws = readWords(
    text,
    tools.map((t) => t.toLowerCase()),
  );
  for (const tool of tools) {
    if (ws.includes(tool.toLowerCase()) || findPhrase(ws, tool.replace(/[_-]+/g, ' ')) >= 0) return { kind: 'tool', tool };
  }
  if (near(ws, LEAK_VERBS, SECRET_OBJECTS, 6)) return { kind: 'secret', format: leakFormat(ws) };
  if (near(ws, LEAK_VERBS, PROMPT_OBJECTS, 6)) return { kind: 'system-prompt', format: leakFormat(ws) };
  const topic = HARMFUL_TOPICS.find((t) => findPhrase(ws, t) >= 0);
  return topic ? { kind: 'harmful', topic } : undefined;
}

/** What a reader finds in one untrusted message: cues over all its readings, and the first request with the reading it came through. */
export interface Reading {
  readonly cues: Cues;
  readonly request?: Request;
  readonly via?: ReadableView['via'];
}

export function readMessage(text: string, tools: readonly string[]): Reading {
  const views = readableViews(text);
  const cues = views.map((v) => cuesIn(v.text));
  for (const v of views) {
    const request = requestIn(v.text, tools);
    if (request) return { cues: { override: cues.some((c) => c.override), persona: cues.some((c) => c.persona) }, request, via: v.via };
  }
  return { cues: { override: cues.some((c) => c.override), persona: cues.some((c) => c.persona) } };
}
