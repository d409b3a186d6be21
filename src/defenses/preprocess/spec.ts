/**
 * The text form of a preprocessing pipeline, as `gibbon defend --preprocess` takes it:
 *
 *   SPEC  := STEP ( ',' STEP )*          steps run left to right in front of the model
 *   STEP  := NAME ':' VALUE
 *   NAME  := 'bit-depth' | 'median' | 'quantize' | 'resize-pad'
 *
 * bit-depth:BITS (1…16), median:SIZE (1…9), quantize:LEVELS (2…256), resize-pad:MIN_SCALE
 * ((0, 1]; 'resize-pad' alone means 0.8). Whitespace around items is ignored; names are
 * case-sensitive. Errors name the offending step and list what would be valid.
 */
import { GibbonError } from '../../errors.js';
import { bitDepth } from './bit-depth.js';
import type { InputTransform } from './input-transform.js';
import { medianFilter } from './median-filter.js';
import { quantize } from './quantize.js';
import { DEFAULT_MIN_SCALE, randomResizePad } from './random-resize-pad.js';

interface StepKind {
  readonly value: string;
  readonly integer: boolean;
  /** Used when the step has no ':VALUE'; absent: the value is required. */
  readonly default?: number;
  readonly make: (v: number) => InputTransform;
}

const STEPS: Readonly<Record<string, StepKind>> = {
  'bit-depth': { value: 'BITS', integer: true, make: bitDepth },
  median: { value: 'SIZE', integer: true, make: medianFilter },
  quantize: { value: 'LEVELS', integer: true, make: quantize },
  'resize-pad': { value: 'MIN_SCALE', integer: false, default: DEFAULT_MIN_SCALE, make: randomResizePad },
};

export const PREPROCESS_GRAMMAR = Object.entries(STEPS)
  .map(([name, k]) => `${name}:${k.value}`)
  .join(', ');

/** Parses SPEC into transforms; `option` names the option in errors (the CLI passes its flag, '--preprocess'). */
export function parsePreprocessSpec(spec: string, option = 'preprocess'): InputTransform[] {
  const fail = (what: string): never => {
    throw new GibbonError('invalid_option', `${option} '${spec}': ${what}; give a comma list of ${PREPROCESS_GRAMMAR}, e.g. bit-depth:4,median:2`, { option });
  };
  const items = spec.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) fail('empty step');
  return items.map((item) => {
    const colon = item.indexOf(':');
    const name = colon < 0 ? item : item.slice(0, colon).trim();
    const raw = colon < 0 ? undefined : item.slice(colon + 1).trim();
    const kind = Object.hasOwn(STEPS, name) ? STEPS[name]! : undefined;
    if (!kind) return fail(`unknown step '${name}' in '${item}'`);
    if (raw === undefined || raw === '') {
      if (kind.default !== undefined) return kind.make(kind.default);
      return fail(`step '${item}' needs a value (${name}:${kind.value})`);
    }
    const value = Number(raw);
    const pattern = kind.integer ? /^\d+$/ : /^(\d+\.?\d*|\.\d+)(e-?\d+)?$/i;
    if (!pattern.test(raw) || !Number.isFinite(value)) return fail(`'${raw}' in '${item}' is not ${kind.integer ? 'an integer' : 'a number'}`);
    try {
      return kind.make(value);
    } catch (e) {
      if (e instanceof GibbonError) return fail(`in '${item}': ${e.message}`);
      throw e;
    }
  });
}
