/**
 * `gibbon eval --bpda` and `--bpda-surrogate SPEC`: how the model's gradients treat
 * non-differentiable ops (BPDA, Athalye et al. 2018; autodiff/surrogates.ts).
 * - `--bpda`: straight-through (the identity) at every such op;
 * - `--bpda-surrogate smooth.onnx`: a differentiable surrogate (one-input, one-output ONNX model)
 *   at every such op;
 * - `--bpda-surrogate Round=smooth.onnx,quant/Sign_3=sign.onnx`: per op type (a name of a
 *   non-differentiable op type) or per node name;
 * with both, ops without a surrogate pass gradients straight through, else they keep the true
 * (zero) gradient.
 */
import type { NonDifferentiablePolicy } from '../autodiff/surrogates.js';
import { NON_DIFFERENTIABLE_OPS } from '../autodiff/vjp-rule.js';
import { loadModel } from '../onnx/model.js';
import type { BpdaSurrogateSpec } from './options.js';

const isOpType = (target: string): boolean => NON_DIFFERENTIABLE_OPS.includes(target) || target === 'Cast';

/** The model option for the flags, and how the report describes the surrogates. */
export function bpdaPolicy(identity: boolean, specs: readonly BpdaSurrogateSpec[] = []): { policy: NonDifferentiablePolicy; described: string[] } {
  if (specs.length === 0) return { policy: identity ? 'identity' : 'zero', described: [] };
  const surrogates = specs.map((s) => {
    const label = `--bpda-surrogate ${s.target !== undefined ? `${s.target}=` : ''}${s.path}`;
    const model = loadModel(s.path);
    if (s.target === undefined) return { model, label };
    return isOpType(s.target) ? { opType: s.target, model, label } : { node: s.target, model, label };
  });
  const described = specs.map((s) => `${s.target ?? 'every non-differentiable op'} → ${s.path}`);
  return { policy: { surrogates, otherwise: identity ? 'identity' : 'zero' }, described };
}
