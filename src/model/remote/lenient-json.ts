/**
 * Reading an endpoint's JSON answer, which comes from a server the user may not trust. Python's
 * json module writes bare NaN, Infinity and -Infinity, which JSON.parse refuses; those become null
 * (the score checks then report a score that is not a number). One linear pass outside strings
 * replaces them and measures the nesting depth, so that neither a hostile answer (`[` followed by a
 * million spaces, which made a look-behind regex quadratic) nor a deeply nested one (10⁵ levels,
 * which overflows the stack of anything that walks the value recursively) can stall or crash the
 * reader. The text itself is then parsed by JSON.parse (linear, native).
 */

/** Deepest nesting of arrays and objects accepted; an answer of class scores is a few levels deep. */
export const MAX_JSON_DEPTH = 256;

/** Why an answer could not be read: not JSON at all, or nested deeper than `maxDepth`. */
export class JsonAnswerError extends Error {
  constructor(
    readonly kind: 'syntax' | 'too_deep',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'JsonAnswerError';
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

/** Bare tokens outside strings that become null, with the character they start with. */
const NON_FINITE: readonly [number, string][] = [
  [0x4e, 'NaN'],
  [0x49, 'Infinity'],
  [0x2d, '-Infinity'],
];

/**
 * Parses `text` as JSON that may hold bare NaN/Infinity/-Infinity (read as null). Throws
 * `JsonAnswerError` ('too_deep' past `maxDepth` levels, 'syntax' otherwise). Time and memory are
 * linear in the length of the text.
 */
export function parseLenientJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const parts: string[] = [];
  let copied = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > maxDepth) throw new JsonAnswerError('too_deep', `it nests arrays and objects more than ${maxDepth} levels deep`);
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) depth--;
    else {
      for (const [first, token] of NON_FINITE) {
        if (c === first && text.startsWith(token, i)) {
          parts.push(text.slice(copied, i), 'null');
          copied = i + token.length;
          i = copied - 1;
          break;
        }
      }
    }
  }
  const repaired = parts.length === 0 ? text : parts.join('') + text.slice(copied);
  try {
    return JSON.parse(repaired);
  } catch (e) {
    throw new JsonAnswerError('syntax', (e as Error).message, { cause: e });
  }
}
