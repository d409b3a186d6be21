/**
 * Built-in classifier architectures, built directly as ONNX graphs (opset 17, IR version 8) so that
 * gibbon can train and attack them without PyTorch. Each model has one input `input`, float32
 * ('batch', C, H, W), and one output `logits` ('batch', classes). Initializers are named like the
 * PyTorch state_dict keys (`conv1.weight`, `bn1.running_mean`, `fc1.bias`, …), Gemm uses transB=1
 * with (out, in) weights as torch.onnx exports, and initialisation follows PyTorch's defaults:
 * Conv/Linear weights and biases U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5), BatchNorm
 * weight 1, bias 0, running mean 0, running variance 1 (epsilon 1e-5, ONNX momentum 0.9 = PyTorch
 * momentum 0.1). The weights are drawn from `Rng(seed)`, so the same seed gives the same model.
 *
 * - `mlp`: Flatten → Linear(CHW, 256) → ReLU → Linear(256, 256) → ReLU → [Dropout] → Linear(256, classes).
 * - `cnn`: Conv(C, 32, 3, pad 1) → ReLU → MaxPool 2 → Conv(32, 64, 3, pad 1) → ReLU → MaxPool 2 →
 *   Flatten → Linear(64·H/4·W/4, 128) → ReLU → [Dropout] → Linear(128, classes).
 * - `madry`: the MNIST CNN of Madry et al. (2018), arXiv:1706.06083: Conv(C, 32, 5, pad 2) → ReLU →
 *   MaxPool 2 → Conv(32, 64, 5, pad 2) → ReLU → MaxPool 2 → Flatten → Linear(·, 1024) → ReLU →
 *   [Dropout] → Linear(1024, classes).
 * - `resnet`: a CIFAR-style ResNet-8 (He et al. 2016, arXiv:1512.03385): Conv(C, 16, 3) → BN → ReLU →
 *   three stages of one BasicBlock (16, 32, 64 channels; strides 1, 2, 2; 1×1 conv + BN shortcut
 *   where the shape changes) → GlobalAveragePool → Flatten → [Dropout] → Linear(64, classes).
 *
 * The optional Dropout is the inference form (`Dropout(X, ratio)` without training_mode): an
 * identity at inference, kept in the graph so the training code can find the rate.
 *
 * @example
 * const ir = buildArchitecture('madry', { seed: 1, dropout: 0.5 });
 * saveModel(ir, 'madry.onnx');
 */
import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';
import { GibbonError } from '../errors.js';
import { float } from '../onnx/attributes.js';
import { GraphBuilder } from '../onnx/builder.js';
import { DataType as DT } from '../onnx/dtypes.js';
import type { Graph } from '../onnx/graph.js';
import type { ModelIR } from '../onnx/model.js';
import { encodeTensor } from '../onnx/tensor-proto.js';
import { Rng } from '../random.js';

export const ARCHITECTURES = ['mlp', 'cnn', 'madry', 'resnet'] as const;
export type ArchitectureName = (typeof ARCHITECTURES)[number];

export interface ArchitectureOptions {
  /** Seed of the weight initialisation (default 0). */
  seed?: number;
  /** Per-example input shape C, H, W (default [1, 28, 28]). */
  inputShape?: readonly [number, number, number];
  /** Number of classes (default 10). */
  numClasses?: number;
  /** Dropout rate before the last layer; 0 (default) adds no Dropout node. */
  dropout?: number;
}

/** Opset and IR version of the built models. */
export const ARCHITECTURE_OPSET = 17;
const IR_VERSION = 8n;

const DESCRIPTIONS: Record<ArchitectureName, string> = {
  mlp: 'MLP: Flatten → Linear 256 → ReLU → Linear 256 → ReLU → Linear classes',
  cnn: 'small CNN (fast): conv 32@3×3 → pool → conv 64@3×3 → pool → Linear 128 → Linear classes',
  madry: 'Madry et al. (2018) MNIST CNN: conv 32@5×5 → pool → conv 64@5×5 → pool → Linear 1024 → Linear classes',
  resnet: 'ResNet-8 with BatchNorm (CIFAR-style): conv 16 → 3 BasicBlocks (16, 32, 64 channels) → global average pool → Linear classes',
};

/** One line describing the architecture (for --help and the models README). */
export function describeArchitecture(name: ArchitectureName): string {
  checkName(name);
  return DESCRIPTIONS[name];
}

function checkName(name: string): asserts name is ArchitectureName {
  if (!(ARCHITECTURES as readonly string[]).includes(name)) {
    throw new GibbonError('invalid_option', `unknown architecture '${name}'; valid: ${ARCHITECTURES.join(', ')}`, { option: 'architecture' });
  }
}

interface Resolved {
  readonly seed: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly numClasses: number;
  readonly dropout: number;
}

function resolveOptions(name: ArchitectureName, options: ArchitectureOptions): Resolved {
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new GibbonError('invalid_option', `seed must be an integer in [0, 4294967295]; got ${seed}`, { option: 'seed' });
  }
  const shape = options.inputShape ?? [1, 28, 28];
  if (!Array.isArray(shape) || shape.length !== 3 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new GibbonError('invalid_option', `inputShape must be three positive integers [C, H, W]; got [${String(shape)}]`, { option: 'inputShape' });
  }
  const [c, h, w] = shape;
  if ((name === 'cnn' || name === 'madry') && (h % 4 !== 0 || w % 4 !== 0)) {
    throw new GibbonError('invalid_option', `inputShape [${c}, ${h}, ${w}]: the '${name}' architecture pools twice by 2, so H and W must be divisible by 4`, {
      option: 'inputShape',
    });
  }
  const numClasses = options.numClasses ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new GibbonError('invalid_option', `numClasses must be an integer ≥ 2; got ${numClasses}`, { option: 'numClasses' });
  }
  const dropout = options.dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) {
    throw new GibbonError('invalid_option', `dropout must be a rate in [0, 1); got ${dropout}`, { option: 'dropout' });
  }
  return { seed, c, h, w, numClasses, dropout };
}

/** Emits layers with PyTorch-named, PyTorch-initialised parameters. */
class LayerWriter {
  readonly b: GraphBuilder;
  private readonly rng: Rng;

  constructor(
    readonly graph: Graph,
    seed: number,
  ) {
    this.b = new GraphBuilder(graph, graph.name);
    this.rng = new Rng(seed);
  }

  private tensor(name: string, dims: readonly number[], data: Float32Array): string {
    this.graph.initializers.set(name, encodeTensor(name, DT.FLOAT, dims, data));
    return name;
  }

  /** U(−1/√fanIn, 1/√fanIn), PyTorch's default for Conv and Linear weights and biases. */
  private uniform(name: string, dims: readonly number[], fanIn: number): string {
    const bound = 1 / Math.sqrt(fanIn);
    const n = dims.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = this.rng.uniformIn(-bound, bound);
    return this.tensor(name, dims, data);
  }

  private filled(name: string, n: number, value: number): string {
    return this.tensor(name, [n], new Float32Array(n).fill(value));
  }

  conv(x: string, name: string, cin: number, cout: number, k: number, options: { stride?: number; pad?: number; bias?: boolean } = {}): string {
    const { stride = 1, pad = 0, bias = true } = options;
    const fanIn = cin * k * k;
    const inputs = [x, this.uniform(`${name}.weight`, [cout, cin, k, k], fanIn)];
    if (bias) inputs.push(this.uniform(`${name}.bias`, [cout], fanIn));
    return this.b.op('Conv', inputs, { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] }, { name });
  }

  batchNorm(x: string, name: string, channels: number): string {
    const inputs = [
      x,
      this.filled(`${name}.weight`, channels, 1),
      this.filled(`${name}.bias`, channels, 0),
      this.filled(`${name}.running_mean`, channels, 0),
      this.filled(`${name}.running_var`, channels, 1),
    ];
    return this.b.op('BatchNormalization', inputs, { epsilon: float(1e-5), momentum: float(0.9) }, { name });
  }

  linear(x: string, name: string, inFeatures: number, outFeatures: number, output?: string): string {
    const inputs = [x, this.uniform(`${name}.weight`, [outFeatures, inFeatures], inFeatures), this.uniform(`${name}.bias`, [outFeatures], inFeatures)];
    return this.b.node('Gemm', inputs, { transB: 1 }, { name, outputNames: output ? [output] : undefined })[0]!;
  }

  relu(x: string): string {
    return this.b.op('Relu', [x]);
  }

  maxPool2(x: string): string {
    return this.b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  }

  flatten(x: string): string {
    return this.b.op('Flatten', [x], { axis: 1 });
  }

  /** Inference Dropout(X, ratio) when rate > 0, else nothing. */
  dropout(x: string, rate: number): string {
    if (rate === 0) return x;
    const ratio = 'dropout.ratio';
    this.graph.initializers.set(ratio, encodeTensor(ratio, DT.FLOAT, [], Float32Array.of(rate)));
    return this.b.op('Dropout', [x, ratio], {}, { name: 'dropout' });
  }
}

function mlp(L: LayerWriter, o: Resolved): void {
  let h = L.flatten('input');
  h = L.relu(L.linear(h, 'fc1', o.c * o.h * o.w, 256));
  h = L.relu(L.linear(h, 'fc2', 256, 256));
  h = L.dropout(h, o.dropout);
  L.linear(h, 'fc3', 256, o.numClasses, 'logits');
}

function twoConvNet(L: LayerWriter, o: Resolved, kernel: number, hidden: number): void {
  const pad = (kernel - 1) / 2;
  let h = L.maxPool2(L.relu(L.conv('input', 'conv1', o.c, 32, kernel, { pad })));
  h = L.maxPool2(L.relu(L.conv(h, 'conv2', 32, 64, kernel, { pad })));
  h = L.flatten(h);
  h = L.relu(L.linear(h, 'fc1', 64 * (o.h / 4) * (o.w / 4), hidden));
  h = L.dropout(h, o.dropout);
  L.linear(h, 'fc2', hidden, o.numClasses, 'logits');
}

/** conv3×3-BN-ReLU-conv3×3-BN, plus the identity or a 1×1 conv + BN shortcut, then Add and ReLU. */
function basicBlock(L: LayerWriter, x: string, name: string, cin: number, cout: number, stride: number): string {
  let h = L.relu(L.batchNorm(L.conv(x, `${name}.conv1`, cin, cout, 3, { stride, pad: 1, bias: false }), `${name}.bn1`, cout));
  h = L.batchNorm(L.conv(h, `${name}.conv2`, cout, cout, 3, { pad: 1, bias: false }), `${name}.bn2`, cout);
  const shortcut =
    stride === 1 && cin === cout ? x : L.batchNorm(L.conv(x, `${name}.downsample.0`, cin, cout, 1, { stride, bias: false }), `${name}.downsample.1`, cout);
  return L.relu(L.b.op('Add', [h, shortcut], {}, { name: `${name}.add` }));
}

function resnet(L: LayerWriter, o: Resolved): void {
  let h = L.relu(L.batchNorm(L.conv('input', 'conv1', o.c, 16, 3, { pad: 1, bias: false }), 'bn1', 16));
  h = basicBlock(L, h, 'layer1.0', 16, 16, 1);
  h = basicBlock(L, h, 'layer2.0', 16, 32, 2);
  h = basicBlock(L, h, 'layer3.0', 32, 64, 2);
  h = L.flatten(L.b.op('GlobalAveragePool', [h]));
  h = L.dropout(h, o.dropout);
  L.linear(h, 'fc', 64, o.numClasses, 'logits');
}

/** A freshly initialised model of the named architecture. */
export function buildArchitecture(name: ArchitectureName, options: ArchitectureOptions = {}): ModelIR {
  checkName(name);
  const o = resolveOptions(name, options);
  const graph: Graph = {
    name,
    nodes: [],
    inputs: [{ name: 'input', dataType: DT.FLOAT, shape: ['batch', o.c, o.h, o.w] }],
    outputs: [{ name: 'logits', dataType: DT.FLOAT, shape: ['batch', o.numClasses] }],
    initializers: new Map(),
    valueInfo: [],
  };
  const L = new LayerWriter(graph, o.seed);
  if (name === 'mlp') mlp(L, o);
  else if (name === 'cnn') twoConvNet(L, o, 3, 128);
  else if (name === 'madry') twoConvNet(L, o, 5, 1024);
  else resnet(L, o);
  const proto = create(ModelProtoSchema, {
    irVersion: IR_VERSION,
    producerName: 'gibbon',
    docString: `${DESCRIPTIONS[name]}; input [${o.c}, ${o.h}, ${o.w}], ${o.numClasses} classes, dropout ${o.dropout}, seed ${o.seed}`,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(ARCHITECTURE_OPSET) })],
  });
  return { proto, graph, opset: ARCHITECTURE_OPSET };
}
