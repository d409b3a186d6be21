/** Where a classifier's class scores (logits) are in its graph. */
import { GibbonError } from '../errors.js';
import { producers, type Graph } from './graph.js';

/** Where the class scores of a model come from. */
export type LogitsSource = 'output' | 'softmax-input' | 'sigmoid-input';

/**
 * The class-score value of a graph: the output itself, or the input of a final Softmax (also the
 * Flatten → Softmax → Reshape that canonicalisation makes of a Softmax before opset 13) or of a
 * final Sigmoid. Identity and Reshape/Flatten wrappers around the final activation are looked through.
 */
export function findLogits(g: Graph, output?: string): { logits: string; source: LogitsSource; output: string } {
  const out = output ?? g.outputs[0]?.name;
  if (!out || !g.outputs.some((o) => o.name === out)) {
    throw new GibbonError('invalid_option', `model has no output '${output}'; outputs: ${g.outputs.map((o) => o.name).join(', ')}`, { option: 'output' });
  }
  const prod = producers(g);
  let v = out;
  for (let p = prod.get(v); p && p.domain === '' && p.opType === 'Identity'; p = prod.get(v)) v = p.inputs[0]!;
  let p = prod.get(v);
  // A Softmax before opset 13 coerces its input to 2-D: Reshape(Softmax(Flatten(z))). Its input, the
  // flattened z, holds the class scores.
  if (p && p.domain === '' && (p.opType === 'Reshape' || p.opType === 'Flatten')) {
    const q = prod.get(p.inputs[0]!);
    if (q && q.domain === '' && q.opType === 'Softmax' && prod.get(q.inputs[0]!)?.opType === 'Flatten') p = q;
  }
  if (p && p.domain === '' && p.opType === 'Softmax') return { logits: p.inputs[0]!, source: 'softmax-input', output: out };
  if (p && p.domain === '' && p.opType === 'Sigmoid') return { logits: p.inputs[0]!, source: 'sigmoid-input', output: out };
  return { logits: out, source: 'output', output: out };
}
