/**
 * FLOPs of one forward pass per image of an ONNX classifier: 2 per multiply-add of its Conv,
 * ConvTranspose, Gemm and MatMul nodes (the arithmetic that bounds the speed; elementwise ops,
 * pooling and normalisation are left out, as is usual), with value shapes from gibbon's probe.
 */
import { probeValues } from '../src/autodiff/probe.js';
import { canonicalize } from '../src/onnx/canonicalize.js';
import type { ModelIR } from '../src/onnx/model.js';

export async function forwardFlopsPerImage(ir: ModelIR): Promise<number> {
  const model = canonicalize(ir);
  const facts = await probeValues(model);
  const dims = (v: string): number[] => (facts.get(v)?.shape ?? []).map((d) => d ?? 1);
  const size = (s: number[]): number => s.reduce((a, d) => a * d, 1);
  let macs = 0;
  for (const n of model.graph.nodes) {
    if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
      const w = dims(n.inputs[1]!);
      // Conv: each output element sums Cin/group × kernel products; ConvTranspose: each input element scatters W's Cout/group × kernel.
      macs += n.opType === 'Conv' ? size(dims(n.outputs[0]!)) * size(w.slice(1)) : size(dims(n.inputs[0]!)) * size(w.slice(1));
    } else if (n.opType === 'Gemm' || n.opType === 'MatMul') {
      const a = dims(n.inputs[0]!);
      const transA = n.attributes.find((x) => x.name === 'transA')?.i === 1n;
      const k = n.opType === 'Gemm' && transA ? a[0]! : a[a.length - 1]!;
      macs += size(dims(n.outputs[0]!)) * k;
    }
  }
  return 2 * macs; // the probe runs at batch 1 (batch-dependent dimensions read as 1)
}
