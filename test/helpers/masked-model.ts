/**
 * A deliberately gradient-masked model for tests: the bundled MNIST CNN with an input quantiser
 * x ↦ Round(k·x)/k inserted before its first op. Its predictions barely change, but the gradient
 * through Round is zero almost everywhere, so gradient attacks stall (Athalye et al. 2018).
 */
import { GraphBuilder } from '../../src/onnx/builder.js';
import { DataType as DT } from '../../src/onnx/dtypes.js';
import { cloneModel, loadModel, type ModelIR } from '../../src/onnx/model.js';

export function maskedModel(path: string, levels = 4): ModelIR {
  const original = loadModel(path);
  const model = cloneModel(original);
  const g = model.graph;
  const input = g.inputs[0]!.name;
  const before = g.nodes.length;
  const b = new GraphBuilder(g, 'quantise');
  const k = b.constant(DT.FLOAT, [], Float32Array.of(levels), 'levels');
  const scaled = b.op('Mul', [input, k]);
  const rounded = b.op('Round', [scaled]);
  const quantised = b.op('Div', [rounded, k]);
  const added = g.nodes.splice(before);
  for (const node of g.nodes) node.inputs = node.inputs.map((v) => (v === input ? quantised : v));
  g.nodes = [...added, ...g.nodes];
  // A new model: no path and no file hash of the original.
  return { proto: model.proto, graph: g, opset: model.opset };
}
