/**
 * Per-channel input domains: channel c (axis 1 — an image's colour channel, a tabular feature)
 * ranges over [lower_c, upper_c]. Attacks, norms and the harness keep one scalar domain: gibbon
 * attacks in the unit space u ∈ [0, 1]^d, and x_c = lower_c + (upper_c − lower_c)·u_c is put in
 * front of the model as ONNX nodes, composed with a (x − mean) / std normalisation when there is
 * one (model-inputs.ts prepends the composition). Data are mapped in, u = (x − lower) / (upper −
 * lower); a budget ε is then a fraction of each channel's range; what is written out (adversarial
 * examples) is mapped back to raw units. A gradient in raw units is ∂L/∂u_c / (upper_c − lower_c).
 */
import { GibbonError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Normalization } from './model-inputs.js';

export interface ChannelDomain {
  readonly lower: readonly number[];
  readonly upper: readonly number[];
}

/** What ε means under per-channel bounds (reports and summaries say it). */
export const CHANNEL_EPS_CONVENTION =
  'each channel c is attacked as u = (x − lower_c) / (upper_c − lower_c) in [0, 1]: ε and perturbation norms are fractions of each channel’s range; saved adversarial examples are in raw units';

/** A problem with the domain, or undefined when it is valid: as many lower as upper bounds, finite, lower < upper. */
export function channelDomainProblem(d: ChannelDomain): string | undefined {
  if (d.lower.length === 0 || d.lower.length !== d.upper.length)
    return `give as many lower as upper bounds (one per channel); got ${d.lower.length} and ${d.upper.length}`;
  const c = d.lower.findIndex((l, i) => !Number.isFinite(l) || !Number.isFinite(d.upper[i]!) || !(l < d.upper[i]!));
  if (c >= 0) return `channel ${c} has lower ${d.lower[c]} and upper ${d.upper[c]}; each channel needs finite lower < upper`;
  return undefined;
}

/** `l1:u1,l2:u2,…` (one pair per channel) as a domain; throws a message saying the form otherwise. */
export function parseChannelDomain(text: string): ChannelDomain {
  const pairs = text.split(',').map((p) => p.split(':').map((s) => s.trim()));
  const form = 'give per-channel bounds as LOW:HIGH pairs, one per channel, e.g. 0:1,-100:100,0:5000';
  if (pairs.some((p) => p.length !== 2 || p.some((s) => s === '' || !Number.isFinite(Number(s))))) throw new Error(form);
  const d = { lower: pairs.map((p) => Number(p[0])), upper: pairs.map((p) => Number(p[1])) };
  const problem = channelDomainProblem(d);
  if (problem) throw new Error(`${problem}; ${form}`);
  return d;
}

/** "[0, 1], [-100, 100], [0, 5000] per channel". */
export function describeChannelDomain(d: ChannelDomain): string {
  return `${d.lower.map((l, i) => `[${l}, ${d.upper[i]}]`).join(', ')} per channel`;
}

/**
 * The normalisation that maps the unit space onto what the model takes: with x = l + r·u,
 * (x − m) / s = (u − (m − l)/r) / (s/r); without mean/std, m = 0 and s = 1. One mean/std value, or
 * one bound, applies to every channel.
 */
export function unitSpaceNormalization(d: ChannelDomain, norm?: Normalization): Normalization {
  const channels = Math.max(d.lower.length, norm?.mean.length ?? 1);
  const at = (a: readonly number[], c: number): number => a[a.length === 1 ? 0 : c]!;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const l = at(d.lower, c);
    const r = at(d.upper, c) - l;
    mean.push(((norm ? at(norm.mean, c) : 0) - l) / r);
    std.push((norm ? at(norm.std, c) : 1) / r);
  }
  return { mean, std };
}

/** Index of the channel (axis 1) of each flat position of a tensor of this shape, as a function. */
function channelAt(shape: readonly number[], channels: number): (i: number) => number {
  if (channels === 1) return () => 0;
  const inner = shape.slice(2).reduce((a, v) => a * v, 1);
  return (i) => Math.floor(i / inner) % channels;
}

/** Throws unless x's axis 1 has one entry per channel of the domain. */
export function checkChannelCount(d: ChannelDomain, shape: readonly (number | null)[], what: string, option: string): void {
  const c = d.lower.length;
  if (c > 1 && (shape.length < 2 || (shape[1] !== null && shape[1] !== c))) {
    throw new GibbonError('invalid_input', `${what} has shape [${shape.map((v) => v ?? '?').join(', ')}] but the domain gives ${c} channels (axis 1)`, {
      option,
    });
  }
}

/** x in raw units → the unit space; throws naming the position and channel of a value outside its channel's range. */
export function toUnitSpace(x: Tensor, d: ChannelDomain, what: string, option: string): Tensor {
  checkChannelCount(d, x.shape, what, option);
  const channel = channelAt(x.shape, d.lower.length);
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = channel(i);
    const v = x.data[i]!;
    const lo = d.lower[c]!;
    const hi = d.upper[c]!;
    if (!(v >= lo && v <= hi)) {
      throw new GibbonError(
        'invalid_input',
        `${what} has value ${v} at flat index ${i} (channel ${c}), outside that channel's range [${lo}, ${hi}]; scale the data or change the bounds (${option})`,
        { option },
      );
    }
    out[i] = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  }
  return { data: out, shape: [...x.shape] };
}

/** Unit-space values (any array of rows shaped `shape`) back in raw units. */
export function fromUnitSpace(x: Tensor, d: ChannelDomain): Tensor {
  const channel = channelAt(x.shape, d.lower.length);
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    const c = channel(i);
    out[i] = d.lower[c]! + (d.upper[c]! - d.lower[c]!) * x.data[i]!;
  }
  return { data: out, shape: [...x.shape] };
}

/** uint8 values 0…255 mapped onto each channel's range (raw units). */
export function uint8OntoChannels(data: Uint8Array, shape: readonly number[], d: ChannelDomain): Float32Array {
  return fromUnitSpace({ data: Float32Array.from(data, (v) => v / 255), shape }, d).data;
}
