/**
 * Per-channel bounds in a threat model (`input: { lower: [...], upper: [...] }`), the general form of
 * model/channel-domain.ts: the threat model's bounds become the unit space [0, 1] that attacks see,
 * the evaluated model gets the unit space → raw units → (x − mean) / std mapping in front, the data
 * are mapped in, and saved adversarial examples are mapped back out to raw units.
 */
import {
  CHANNEL_EPS_CONVENTION,
  checkChannelCount,
  channelDomainProblem,
  describeChannelDomain,
  fromUnitSpace,
  unitSpaceNormalization,
  type ChannelDomain,
} from '../model/channel-domain.js';
import type { Normalization } from '../model/model-inputs.js';
import type { RawUnits } from './adversarial-export.js';

/** The input section as the threat model holds it (structural, so this file needs nothing from threat-model.ts). */
interface InputFields {
  readonly bounds?: readonly [number, number];
  readonly lower?: readonly number[];
  readonly upper?: readonly number[];
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

/** The per-channel domain of a threat model's input, if it has one. */
export function channelDomainOf(input: InputFields): ChannelDomain | undefined {
  return input.lower && input.upper ? { lower: input.lower, upper: input.upper } : undefined;
}

/**
 * Checks the input section's bounds and returns the domain attacks run in: input.bounds, or [0, 1]
 * with per-channel input.lower/upper (the unit space; a threat model validated once holds [0, 1]
 * there, which a second validation accepts). Also returns the fields the validated threat model keeps.
 */
export function checkInputBounds(
  input: InputFields,
  fail: (field: string, message: string) => never,
): { bounds: [number, number]; fields: { lower?: number[]; upper?: number[]; attack_space?: string } } {
  if (input.lower === undefined && input.upper === undefined) {
    if (!input.bounds)
      fail(
        'input.bounds',
        'input.bounds is missing; it must be [lower, upper] with finite lower < upper, e.g. [0, 1] (or per-channel input.lower and input.upper)',
      );
    return { bounds: [input.bounds![0], input.bounds![1]], fields: {} };
  }
  if (!input.lower || !input.upper) fail(input.lower ? 'input.upper' : 'input.lower', 'input.lower and input.upper go together: one bound per channel each');
  const problem = channelDomainProblem({ lower: input.lower!, upper: input.upper! });
  if (problem) fail('input.upper', `per-channel bounds: ${problem}`);
  if (input.bounds && (input.bounds[0] !== 0 || input.bounds[1] !== 1)) {
    fail('input.bounds', 'input.bounds and per-channel input.lower/upper exclude each other: with per-channel bounds attacks run in [0, 1] per channel');
  }
  const c = input.lower!.length;
  if (input.mean && input.mean.length > 1 && c > 1 && input.mean.length !== c) {
    fail('input.mean', `input.mean has ${input.mean.length} values but input.lower has ${c}; give one per channel`);
  }
  return { bounds: [0, 1], fields: { lower: [...input.lower!], upper: [...input.upper!], attack_space: CHANNEL_EPS_CONVENTION } };
}

/** Per-channel bounds must give one range per channel (axis 1) of the model's input. */
export function checkChannelsFitModel(input: InputFields, inputShape: readonly (number | null)[], modelPath: string): void {
  const domain = channelDomainOf(input);
  if (domain) checkChannelCount(domain, inputShape, `the input of ${modelPath}`, 'input.lower');
}

/** The normalisation put in front of the evaluated model: input.mean/std, composed with the unit-space mapping under per-channel bounds. */
export function evaluatedNormalization(input: InputFields): { mean?: readonly number[]; std?: readonly number[] } {
  const domain = channelDomainOf(input);
  const norm = input.mean && input.std ? { mean: input.mean, std: input.std } : undefined;
  return domain ? unitSpaceNormalization(domain, norm) : { mean: input.mean, std: input.std };
}

/** What a transfer surrogate gets in front under per-channel bounds (it takes raw units, as the data were given). */
export function surrogateNormalization(input: InputFields): Normalization | undefined {
  const domain = channelDomainOf(input);
  return domain ? unitSpaceNormalization(domain) : undefined;
}

/** The input domain for one-line summaries: "inputs in [0, 1]", or the per-channel ranges and what ε means. */
export function inputDomainText(input: InputFields & { readonly bounds: readonly [number, number] }): string {
  const domain = channelDomainOf(input);
  if (!domain) return `inputs in [${input.bounds.join(', ')}]`;
  return `inputs in ${describeChannelDomain(domain)}, attacked in [0, 1] per channel (ε is a fraction of each channel's range)`;
}

/**
 * Under per-channel bounds, how the saved adversarial examples (--save-adversarials) reach raw
 * units: the map out of the unit space and what the manifest says (`units`); distances stay in the
 * unit space, as ε. Undefined without per-channel bounds (the examples are saved as attacked).
 */
export function rawUnitsOf(input: InputFields): RawUnits | undefined {
  const domain = channelDomainOf(input);
  if (!domain) return undefined;
  return { text: `raw (${describeChannelDomain(domain)}); distance is in the unit space, as ε`, toRaw: (x) => fromUnitSpace(x, domain) };
}
