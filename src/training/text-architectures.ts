/**
 * Built-in text classifiers for `gibbon train`, built directly as ONNX graphs (opset 17) like
 * architectures.ts. Each has one input `input`, int64 token ids ('batch', maxLength), padded with
 * the vocabulary's padId (0), and one output `logits` ('batch', classes). The first node is the
 * embedding lookup `Gather(embedding.weight, input)` (white-box text attacks differentiate its
 * output); padded positions are masked to zero right after it, so padding never changes a score.
 * Initialisation follows PyTorch: embeddings N(0, 1), Conv/Linear U(−1/√fan_in, 1/√fan_in).
 *
 * - `text-bag` (fastText-like; Joulin et al. 2017, arXiv:1607.01759): mean of the embeddings of the
 *   text's tokens → Linear(dim, classes). Default dim 32.
 * - `text-cnn` (a small word CNN after Kim 2014, arXiv:1408.5882): embeddings (dim 32) →
 *   Conv(32, 64, width 3) → ReLU → max over time → Linear(64, classes).
 * - `char-cnn` (a small character CNN after Zhang et al. 2015, arXiv:1509.01626): character
 *   embeddings (dim 16) → Conv(16, 64, width 5) → ReLU → MaxPool 4 → Conv(64, 64, width 5) → ReLU →
 *   max over time → Linear(64, classes).
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { encodeTensor } from '../onnx/tensor-proto.js';
import { Rng } from '../random.js';
import { ARCHITECTURE_OPSET } from './architectures.js';

export const TEXT_ARCHITECTURES = ['text-bag', 'text-cnn', 'char-cnn'] as const;
export type TextArchitectureName = (typeof TEXT_ARCHITECTURES)[number];

export const TEXT_ARCHITECTURE_DESCRIPTIONS: Record<TextArchitectureName, string> = {
  'text-bag': 'embedding bag (fastText-like): mean of word embeddings (dim 32) → Linear classes',
  'text-cnn': 'word CNN: word embeddings (dim 32) → conv 64@3 → ReLU → max over time → Linear classes',
  'char-cnn': 'character CNN: char embeddings (dim 16) → conv 64@5 → pool 4 → conv 64@5 → max over time → Linear classes',
};

/** Tokens each architecture reads: words or characters. */
export const TEXT_ARCHITECTURE_UNIT: Record<TextArchitectureName, 'word' | 'char'> = { 'text-bag': 'word', 'text-cnn': 'word', 'char-cnn': 'char' };

export interface TextArchitectureOptions {
  /** Rows of the embedding table (the vocabulary size). Required. */
  vocabularySize: number;
  /** Tokens per text (the input length). Required. */
  maxLength: number;
  /** Number of classes (default 2). */
  numClasses?: number;
  /** Embedding dimension (default 32 for word models, 16 for char-cnn). */
  dim?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

export function isTextArchitecture(name: string): name is TextArchitectureName {
  return (TEXT_ARCHITECTURES as readonly string[]).includes(name);
}

/** A freshly initialised text classifier (without its vocabulary; see vocabulary.ts withVocabulary). */
export function buildTextArchitecture(name: TextArchitectureName, o: TextArchitectureOptions): ModelIR {
  if (!isTextArchitecture(name)) {
    throw new GibbonError('invalid_option', `unknown text architecture '${name}'; valid: ${TEXT_ARCHITECTURES.join(', ')}`, { option: 'arch' });
  }
  const numClasses = o.numClasses ?? 2;
  const dim = o.dim ?? (name === 'char-cnn' ? 16 : 32);
  for (const [key, value, min] of [
    ['vocabularySize', o.vocabularySize, 2],
    ['maxLength', o.maxLength, name === 'char-cnn' ? 8 : 1],
    ['numClasses', numClasses, 2],
    ['dim', dim, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < min) throw new GibbonError('invalid_option', `${key} must be an integer ≥ ${min}; got ${value}`, { option: key });
  }
  const graph: Graph = {
    name,
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.INT64, shape: ['batch', o.maxLength] }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['batch', numClasses] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const rng = new Rng(o.seed ?? 0);
  const b = new GraphBuilder(graph, name);
  const param = (pname: string, dims: number[], draw: () => number): string => {
    const data = new Float32Array(dims.reduce((a, d) => a * d, 1));
    for (let i = 0; i < data.length; i++) data[i] = draw();
    graph.initializers.set(pname, encodeTensor(pname, DT.FLOAT, dims, data));
    return pname;
  };
  const uniform = (fanIn: number) => () => rng.uniformIn(-1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
  const linear = (x: string, lname: string, inF: number, outF: number, output?: string): string =>
    b.node(
      'Gemm',
      [x, param(`${lname}.weight`, [outF, inF], uniform(inF)), param(`${lname}.bias`, [outF], uniform(inF))],
      { transB: 1 },
      {
        name: lname,
        outputNames: output ? [output] : undefined,
      },
    )[0]!;
  const conv = (x: string, cname: string, cin: number, cout: number, k: number): string =>
    b.op(
      'Conv',
      [x, param(`${cname}.weight`, [cout, cin, 1, k], uniform(cin * k)), param(`${cname}.bias`, [cout], uniform(cin * k))],
      { kernel_shape: [1, k], pads: [0, (k - 1) >> 1, 0, k >> 1] },
      { name: cname },
    );

  const embedded = b.op('Gather', [param('embedding.weight', [o.vocabularySize, dim], () => rng.normal()), 'input'], { axis: 0 }, { name: 'embedding' });
  const mask = b.op('Cast', [b.op('Greater', ['input', b.int64Scalar(0)])], { to: DT.FLOAT }, { name: 'mask' }); // (N, L): 1 at tokens, 0 at padding
  const masked = b.op('Mul', [embedded, b.op('Unsqueeze', [mask, b.int64s([2])])], {}, { name: 'masked' }); // (N, L, D)
  if (name === 'text-bag') {
    const sum = b.op('ReduceSum', [masked, b.int64s([1])], { keepdims: 0 }, { name: 'bag_sum' });
    const count = b.op('Max', [b.op('ReduceSum', [mask, b.int64s([1])], { keepdims: 1 }), b.scalar(1)], {}, { name: 'bag_count' });
    linear(b.op('Div', [sum, count], {}, { name: 'bag_mean' }), 'fc', dim, numClasses, 'logits');
  } else {
    // (N, L, D) → (N, D, 1, L): a 1-D convolution over time as a 2-D one of height 1.
    let h = b.op('Unsqueeze', [b.op('Transpose', [masked], { perm: [0, 2, 1] }), b.int64s([2])], {}, { name: 'channels_first' });
    if (name === 'text-cnn') {
      h = b.op('Relu', [conv(h, 'conv1', dim, 64, 3)]);
    } else {
      h = b.op('MaxPool', [b.op('Relu', [conv(h, 'conv1', dim, 64, 5)])], { kernel_shape: [1, 4], strides: [1, 4] });
      h = b.op('Relu', [conv(h, 'conv2', 64, 64, 5)]);
    }
    h = b.op('Flatten', [b.op('GlobalMaxPool', [h])], { axis: 1 });
    linear(h, 'fc', 64, numClasses, 'logits');
  }
  const proto = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'gibbon',
    docString: `${TEXT_ARCHITECTURE_DESCRIPTIONS[name]}; ${o.vocabularySize} tokens × ${dim}, length ${o.maxLength}, ${numClasses} classes, seed ${o.seed ?? 0}`,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(ARCHITECTURE_OPSET) })],
  });
  return { proto, graph, opset: ARCHITECTURE_OPSET };
}
