/**
 * Optimizers for gibbon's trainer, with PyTorch `torch.optim` semantics: SGD (momentum, dampening,
 * Nesterov, L2 weight decay), Adam (L2 weight decay added to the gradient) and AdamW (decoupled
 * weight decay), as torch 1.13's single-tensor (non-foreach, non-fused, non-amsgrad) algorithm.
 * Defaults are torch's: SGD momentum 0, dampening 0, nesterov false, weightDecay 0; Adam/AdamW
 * beta1 0.9, beta2 0.999, eps 1e-8, weightDecay 0 (Adam) or 0.01 (AdamW).
 *
 * Numerics: parameters and state are float32 arrays updated element by element; each hyper-parameter
 * is rounded to float32 once per step, as torch's CPU kernels do, and the bias corrections
 * (1 − β^t) and step sizes are computed in doubles, as torch does in Python. Agreement with torch is
 * a few float32 ulps (see optimizers.test.ts).
 *
 * State: like torch, each parameter's state is created the first time it has a gradient, and Adam
 * counts steps per parameter (a parameter without a gradient in a step is not updated and its step
 * count does not advance). Buffers are keyed `momentum:<param>` (SGD with momentum) and `m:<param>`,
 * `v:<param>`, `step:<param>` (Adam/AdamW; `step:` is a one-element array holding the count, exact up
 * to 2^24 steps).
 *
 * @example
 * const opt = createOptimizer({ type: 'sgd', momentum: 0.9, weightDecay: 5e-4 });
 * opt.step(params, grads, learningRate(schedule, 0.01, step, totalSteps));
 * const saved = opt.state(); // … later: createOptimizer(saved.spec).load(saved)
 */
import { boolean, nonNegativeNumber, numberIn, resolveOptions, type OptionRule } from '../options.js';
import { GibbonError } from '../errors.js';

export type OptimizerSpec =
  | { type: 'sgd'; momentum?: number; dampening?: number; nesterov?: boolean; weightDecay?: number }
  | { type: 'adam' | 'adamw'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

export interface OptimizerState {
  spec: OptimizerSpec;
  steps: number;
  buffers: Record<string, Float32Array>;
}

export interface Optimizer {
  readonly spec: OptimizerSpec;
  /** One update, in place, of every param that has a grad, at learning rate lr (PyTorch torch.optim semantics). */
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number): void;
  /** Snapshot for checkpoints (copies) and restore. */
  state(): OptimizerState;
  load(state: OptimizerState): void;
}

interface SgdSettings {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

interface AdamSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

type Resolved = ({ type: 'sgd' } & Readonly<SgdSettings>) | ({ type: 'adam' | 'adamw' } & Readonly<AdamSettings>);

const SGD_RULES: { readonly [K in keyof SgdSettings]: OptionRule } = {
  // torch only asks for momentum ≥ 0; momentum ≥ 1 makes the buffer grow without bound.
  momentum: numberIn(0, 1, { openHigh: true }),
  dampening: numberIn(0, 1),
  nesterov: boolean,
  weightDecay: nonNegativeNumber,
};

const ADAM_RULES: { readonly [K in keyof AdamSettings]: OptionRule } = {
  beta1: numberIn(0, 1, { openHigh: true }),
  beta2: numberIn(0, 1, { openHigh: true }),
  eps: nonNegativeNumber,
  weightDecay: nonNegativeNumber,
};

const TYPES = ['sgd', 'adam', 'adamw'] as const;

/** The spec with torch's defaults filled in, validated and frozen. */
function resolveSpec(spec: OptimizerSpec): Resolved {
  if (typeof spec !== 'object' || spec === null || !(TYPES as readonly unknown[]).includes(spec.type)) {
    const got = typeof spec === 'object' && spec !== null ? JSON.stringify(spec.type) : JSON.stringify(spec);
    throw new GibbonError('invalid_option', `optimizer type must be one of ${TYPES.map((t) => `'${t}'`).join(', ')}; got ${got}`, { option: 'type' });
  }
  if (spec.type === 'sgd') {
    const { type, ...given } = spec;
    const s = resolveOptions<SgdSettings>(type, { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 }, given, SGD_RULES);
    if (s.nesterov && (s.momentum <= 0 || s.dampening !== 0)) {
      throw new GibbonError(
        'invalid_option',
        `sgd: nesterov momentum requires momentum > 0 and dampening 0 (as torch.optim.SGD); got momentum ${s.momentum}, dampening ${s.dampening}`,
        { option: 'nesterov' },
      );
    }
    return Object.freeze({ type, ...s });
  }
  const { type, ...given } = spec;
  const defaults: AdamSettings = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: type === 'adamw' ? 0.01 : 0 };
  return Object.freeze({ type, ...resolveOptions<AdamSettings>(type, defaults, given, ADAM_RULES) });
}

const BUFFER_KINDS: Record<Resolved['type'], readonly string[]> = { sgd: ['momentum'], adam: ['m', 'v', 'step'], adamw: ['m', 'v', 'step'] };

const f32 = Math.fround;

class TorchOptimizer implements Optimizer {
  private steps = 0;
  private buffers = new Map<string, Float32Array>();
  /** Adam/AdamW: updates applied to each parameter so far. */
  private paramSteps = new Map<string, number>();

  constructor(readonly spec: Resolved) {}

  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number): void {
    if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
      throw new GibbonError('invalid_option', `${this.spec.type}: learning rate must be a finite number ≥ 0; got ${lr}`, { option: 'lr' });
    }
    // Check everything before changing anything, so a bad call leaves the model and state untouched.
    for (const [name, g] of grads) {
      const p = params.get(name);
      if (!p) throw new GibbonError('invalid_input', `${this.spec.type}: gradient for '${name}', which is not among the parameters`, { option: name });
      if (g.length !== p.length) {
        throw new GibbonError('invalid_input', `${this.spec.type}: gradient for '${name}' has ${g.length} values but the parameter has ${p.length}`, {
          option: name,
        });
      }
      for (const kind of BUFFER_KINDS[this.spec.type]) {
        const buf = this.buffers.get(`${kind}:${name}`);
        if (buf && kind !== 'step' && buf.length !== p.length) {
          throw new GibbonError(
            'invalid_checkpoint',
            `${this.spec.type}: optimizer buffer '${kind}:${name}' has ${buf.length} values but the parameter has ${p.length}; was the state loaded from another model?`,
            { option: name },
          );
        }
      }
    }
    for (const [name, p] of params) {
      const g = grads.get(name);
      if (!g) continue;
      if (this.spec.type === 'sgd') this.sgdUpdate(this.spec, name, p, g, lr);
      else this.adamUpdate(this.spec, name, p, g, lr);
    }
    this.steps++;
  }

  private buffer(key: string, n: number): { buf: Float32Array; fresh: boolean } {
    const old = this.buffers.get(key);
    if (old) return { buf: old, fresh: false };
    const buf = new Float32Array(n);
    this.buffers.set(key, buf);
    return { buf, fresh: true };
  }

  /** torch.optim.SGD: d = g + wd·p; buf = μ·buf + (1−τ)·d (first step: buf = d); d = nesterov ? d + μ·buf : buf; p −= lr·d. */
  private sgdUpdate(s: Readonly<SgdSettings>, name: string, p: Float32Array, g: Float32Array, lr: number): void {
    const wd = f32(s.weightDecay);
    const mu = f32(s.momentum);
    const keep = f32(1 - s.dampening);
    const rate = f32(lr);
    const n = p.length;
    if (s.momentum === 0) {
      for (let i = 0; i < n; i++) p[i] = p[i]! - rate * (wd !== 0 ? f32(g[i]! + wd * p[i]!) : g[i]!);
      return;
    }
    const { buf, fresh } = this.buffer(`momentum:${name}`, n);
    for (let i = 0; i < n; i++) {
      const d = wd !== 0 ? f32(g[i]! + wd * p[i]!) : g[i]!;
      buf[i] = fresh ? d : mu * buf[i]! + keep * d;
      p[i] = p[i]! - rate * (s.nesterov ? f32(d + mu * buf[i]!) : buf[i]!);
    }
  }

  /**
   * torch.optim.Adam / AdamW, step t of this parameter: AdamW first p *= 1 − lr·wd, Adam g += wd·p;
   * m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε).
   */
  private adamUpdate(s: Readonly<AdamSettings>, name: string, p: Float32Array, g: Float32Array, lr: number): void {
    const n = p.length;
    const t = (this.paramSteps.get(name) ?? 0) + 1;
    this.paramSteps.set(name, t);
    const m = this.buffer(`m:${name}`, n).buf;
    const v = this.buffer(`v:${name}`, n).buf;
    const decoupled = this.spec.type === 'adamw';
    const wd = f32(s.weightDecay);
    const decay = f32(1 - lr * s.weightDecay);
    const b1 = f32(s.beta1);
    const b2 = f32(s.beta2);
    const c1 = f32(1 - s.beta1);
    const c2 = f32(1 - s.beta2);
    const eps = f32(s.eps);
    const stepSize = f32(lr / (1 - s.beta1 ** t));
    const bc2Sqrt = f32(Math.sqrt(1 - s.beta2 ** t));
    for (let i = 0; i < n; i++) {
      let pi = p[i]!;
      if (decoupled) pi = f32(pi * decay);
      const gi = !decoupled && wd !== 0 ? f32(g[i]! + wd * pi) : g[i]!;
      const mi = (m[i] = b1 * m[i]! + c1 * gi);
      const vi = (v[i] = b2 * v[i]! + c2 * gi * gi);
      const denom = f32(f32(Math.sqrt(vi) / bc2Sqrt) + eps);
      p[i] = pi + f32(-stepSize * mi) / denom; // addcdiv_: self + value·t1 / t2, in that order
    }
  }

  state(): OptimizerState {
    const buffers: Record<string, Float32Array> = {};
    for (const [key, buf] of this.buffers) buffers[key] = buf.slice();
    for (const [name, t] of this.paramSteps) buffers[`step:${name}`] = Float32Array.of(t);
    return { spec: { ...this.spec }, steps: this.steps, buffers };
  }

  load(state: OptimizerState): void {
    const bad = (message: string, option?: string): GibbonError => new GibbonError('invalid_checkpoint', `optimizer state: ${message}`, { option });
    if (typeof state !== 'object' || state === null) throw bad('not an object');
    let saved: Resolved;
    try {
      saved = resolveSpec(state.spec);
    } catch (e) {
      throw new GibbonError('invalid_checkpoint', `optimizer state has an invalid spec: ${(e as Error).message}`, { option: 'spec' }, { cause: e });
    }
    if (saved.type !== this.spec.type) throw bad(`is for '${saved.type}' but this optimizer is '${this.spec.type}'`, 'type');
    for (const [key, value] of Object.entries(this.spec)) {
      const other = (saved as Record<string, unknown>)[key];
      if (other !== value) throw bad(`has ${key} ${String(other)} but this optimizer has ${key} ${String(value)}`, key);
    }
    if (!Number.isInteger(state.steps) || state.steps < 0) throw bad(`steps must be an integer ≥ 0; got ${state.steps}`, 'steps');
    const kinds = BUFFER_KINDS[this.spec.type];
    const buffers = new Map<string, Float32Array>();
    const paramSteps = new Map<string, number>();
    for (const [key, buf] of Object.entries(state.buffers ?? {})) {
      const colon = key.indexOf(':');
      const kind = key.slice(0, colon);
      if (colon <= 0 || !kinds.includes(kind)) {
        throw bad(`unexpected buffer '${key}' for ${this.spec.type}; expected ${kinds.map((k) => `'${k}:<param>'`).join(', ')}`, key);
      }
      if (!(buf instanceof Float32Array)) throw bad(`buffer '${key}' is not a Float32Array`, key);
      if (kind === 'step') {
        const t = buf[0]!;
        if (buf.length !== 1 || !Number.isInteger(t) || t < 1) throw bad(`buffer '${key}' must hold one step count ≥ 1`, key);
        paramSteps.set(key.slice(colon + 1), t);
      } else buffers.set(key, buf.slice());
    }
    if (this.spec.type !== 'sgd') {
      const names = new Set([...buffers.keys()].map((k) => k.slice(k.indexOf(':') + 1)));
      for (const name of new Set([...names, ...paramSteps.keys()])) {
        const m = buffers.get(`m:${name}`);
        const v = buffers.get(`v:${name}`);
        if (!m || !v || !paramSteps.has(name) || m.length !== v.length)
          throw bad(`buffers 'm:${name}', 'v:${name}' and 'step:${name}' must come together, m and v of equal length`, name);
      }
    }
    this.steps = state.steps;
    this.buffers = buffers;
    this.paramSteps = paramSteps;
  }
}

export function createOptimizer(spec: OptimizerSpec): Optimizer {
  return new TorchOptimizer(resolveSpec(spec));
}

/**
 * torch.nn.utils.clip_grad_norm_ (L2): the global norm over all grads; when maxNorm/(norm + 1e-6) < 1
 * every grad is scaled in place by that factor (so, as in torch, a norm within 1e-6 below maxNorm is
 * scaled very slightly too). Returns the norm before clipping, computed in doubles. A non-finite norm
 * is returned with the grads left as they are (torch would multiply them by NaN); skip that step.
 */
export function clipGradNorm(grads: ReadonlyMap<string, Float32Array>, maxNorm: number): number {
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm <= 0) {
    throw new GibbonError('invalid_option', `clipGradNorm: maxNorm must be a finite number > 0; got ${maxNorm}`, { option: 'maxNorm' });
  }
  let sumSquares = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sumSquares += g[i]! * g[i]!;
  const norm = Math.sqrt(sumSquares);
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(norm) && coef < 1) {
    const c = f32(coef);
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] = g[i]! * c;
  }
  return norm;
}
