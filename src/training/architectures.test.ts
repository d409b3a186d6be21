/**
 * Built-in architectures: each serialises, loads and runs in onnxruntime (MNIST and 3×32×32
 * shapes), has the parameter count of its PyTorch twin, is initialised like PyTorch from the seed,
 * and gibbon can build its parameter-gradient graph.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGradientGraph, trainableInitializers } from '../autodiff/gradient-graph.js';
import { loadMnist } from '../data/mnist.js';
import { GibbonError } from '../errors.js';
import { OnnxModel } from '../model/onnx-model.js';
import { parseModel, serializeModel, type ModelIR } from '../onnx/model.js';
import { decodeTensor } from '../onnx/tensor-proto.js';
import { Rng } from '../random.js';
import { ARCHITECTURES, buildArchitecture, describeArchitecture, type ArchitectureName, type ArchitectureOptions } from './architectures.js';

/** Values of learnable parameters as PyTorch counts them: BatchNorm running statistics are buffers, and the Dropout rate is no parameter. */
function parameterCount(ir: ModelIR): number {
  let n = 0;
  for (const [name, t] of ir.graph.initializers) {
    if (name.endsWith('.running_mean') || name.endsWith('.running_var') || name === 'dropout.ratio') continue;
    n += t.dims.reduce((a, d) => a * Number(d), 1);
  }
  return n;
}

/*
 * Expected counts, layer by layer: Conv weight cout·cin·k² (+ cout bias), Linear in·out + out,
 * BatchNorm 2·channels (weight, bias). MNIST shape [1, 28, 28] (28/4 = 7), then [3, 32, 32] (32/4 = 8).
 * mlp:    784·256+256 = 200 960; 256·256+256 = 65 792; 256·10+10 = 2 570 → 269 322.
 *         [3,32,32]: 3072·256+256 = 786 688 → 786 688 + 65 792 + 2 570 = 855 050.
 * cnn:    conv1 32·1·9+32 = 320; conv2 64·32·9+64 = 18 496; fc1 (64·7·7 = 3136)·128+128 = 401 536;
 *         fc2 128·10+10 = 1 290 → 421 642.
 *         [3,32,32]: conv1 32·3·9+32 = 896; fc1 (64·8·8 = 4096)·128+128 = 524 416 → 545 098.
 * madry:  conv1 32·25+32 = 832; conv2 64·32·25+64 = 51 264; fc1 3136·1024+1024 = 3 212 288;
 *         fc2 1024·10+10 = 10 250 → 3 274 634.
 *         [3,32,32]: conv1 32·3·25+32 = 2 432; fc1 4096·1024+1024 = 4 195 328 → 4 259 274.
 * resnet: conv1 16·1·9 = 144; bn1 32;
 *         layer1.0: 2 convs 16·16·9 = 2 304 each + 2 BN of 32 → 4 672;
 *         layer2.0: conv1 32·16·9 = 4 608, conv2 32·32·9 = 9 216, 2 BN of 64, downsample conv 32·16 = 512 + BN 64 → 14 528;
 *         layer3.0: conv1 64·32·9 = 18 432, conv2 64·64·9 = 36 864, 2 BN of 128, downsample 64·32 = 2 048 + BN 128 → 57 728;
 *         fc 64·10+10 = 650 → 144 + 32 + 4 672 + 14 528 + 57 728 + 650 = 77 754.
 *         [3,32,32]: conv1 16·3·9 = 432 (+288) → 78 042.
 */
const EXPECTED_PARAMS: Record<ArchitectureName, { mnist: number; cifar: number }> = {
  mlp: { mnist: 269_322, cifar: 855_050 },
  cnn: { mnist: 421_642, cifar: 545_098 },
  madry: { mnist: 3_274_634, cifar: 4_259_274 },
  resnet: { mnist: 77_754, cifar: 78_042 },
};

const CIFAR: ArchitectureOptions = { inputShape: [3, 32, 32] };

function floats(ir: ModelIR, name: string): Float32Array {
  const t = ir.graph.initializers.get(name);
  assert.ok(t, `initializer '${name}' exists`);
  return decodeTensor(t).data as Float32Array;
}

function assertOptionError(fn: () => unknown, option: string, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof GibbonError, String(e));
    assert.equal(e.code, 'invalid_option');
    assert.equal(e.location.option, option);
    assert.match(e.message, pattern);
    return true;
  });
}

async function logitsOf(ir: ModelIR, x: { data: Float32Array; shape: readonly number[] }): Promise<{ data: Float32Array; shape: readonly number[] }> {
  // Through bytes, as a file would go: the serialised model must parse and validate.
  const model = await OnnxModel.load(parseModel(serializeModel(ir)), { threads: 1 });
  try {
    return await model.logits(x);
  } finally {
    await model.dispose();
  }
}

function assertFiniteLogits(logits: { data: Float32Array; shape: readonly number[] }, n: number, classes: number): void {
  assert.deepEqual([...logits.shape], [n, classes]);
  for (const v of logits.data) assert.ok(Number.isFinite(v), `logit ${v} is finite`);
  // Random weights still separate examples: not all logits equal.
  assert.ok(new Set(logits.data).size > 1);
}

describe('buildArchitecture', () => {
  const mnist = loadMnist('test', { limit: 3 }).x;
  const rng = new Rng(7);
  const cifarX = { data: rng.fillUniform(new Float32Array(2 * 3 * 32 * 32)), shape: [2, 3, 32, 32] };

  for (const name of ARCHITECTURES) {
    test(`${name}: runs in onnxruntime on 3 MNIST images and on 3×32×32 inputs with 100 classes`, async () => {
      assertFiniteLogits(await logitsOf(buildArchitecture(name, { seed: 1 }), mnist), 3, 10);
      assertFiniteLogits(await logitsOf(buildArchitecture(name, { ...CIFAR, numClasses: 100, dropout: 0.3 }), cifarX), 2, 100);
    });

    test(`${name}: parameter count equals the PyTorch model's`, () => {
      assert.equal(parameterCount(buildArchitecture(name)), EXPECTED_PARAMS[name].mnist);
      assert.equal(parameterCount(buildArchitecture(name, CIFAR)), EXPECTED_PARAMS[name].cifar);
      assert.equal(parameterCount(buildArchitecture(name, { dropout: 0.5 })), EXPECTED_PARAMS[name].mnist);
    });

    test(`${name}: the same seed gives identical weights, another seed different ones`, () => {
      const a = buildArchitecture(name, { seed: 3 });
      const b = buildArchitecture(name, { seed: 3 });
      const c = buildArchitecture(name, { seed: 4 });
      assert.deepEqual([...a.graph.initializers.keys()], [...b.graph.initializers.keys()]);
      for (const [key, t] of a.graph.initializers) assert.deepEqual(t.rawData, b.graph.initializers.get(key)!.rawData, key);
      const w = name === 'mlp' ? 'fc1.weight' : 'conv1.weight';
      assert.notDeepEqual(floats(a, w), floats(c, w));
    });

    test(`${name}: gibbon builds the parameter-gradient graph, and it runs`, async () => {
      const ir = buildArchitecture(name, { dropout: 0.5 });
      const params = trainableInitializers(ir).filter((p) => p !== 'dropout.ratio');
      assert.equal(params.length, [...ir.graph.initializers.keys()].filter((k) => !/running_|dropout/.test(k)).length);
      const grad = await buildGradientGraph(ir, { wrt: 'params', loss: 'ce' });
      assert.equal(grad.numClasses, 10);
      assert.deepEqual(grad.inputShape.slice(1), [1, 28, 28]);
      for (const p of params) assert.ok(grad.gradOutputs.has(p), `gradient for ${p}`);
      const model = await OnnxModel.load(ir, { threads: 1 });
      try {
        const { grads, loss } = await model.paramGrads(mnist, loadMnist('test', { limit: 3 }).y);
        for (const v of loss) assert.ok(Number.isFinite(v) && v > 0);
        for (const p of params) {
          const g = grads.get(p);
          assert.ok(g, `gradient for ${p}`);
          assert.deepEqual([...g.shape], decodeTensor(ir.graph.initializers.get(p)!).dims, p);
          for (const v of g.data) assert.ok(Number.isFinite(v), `${p}: finite gradient`);
        }
        const last = name === 'resnet' ? 'fc.weight' : name === 'mlp' ? 'fc3.weight' : 'fc2.weight';
        assert.ok(
          grads.get(last)!.data.some((v) => v !== 0),
          `${last} has a non-zero gradient`,
        );
      } finally {
        await model.dispose();
      }
    });
  }

  test('model conventions: opset 17, IR 8, input/output names and shapes, Gemm transB=1 with (out, in) weights', () => {
    const ir = parseModel(serializeModel(buildArchitecture('madry', { numClasses: 7 })));
    assert.equal(ir.opset, 17);
    assert.equal(ir.proto.irVersion, 8n);
    assert.deepEqual(ir.graph.inputs, [{ name: 'input', dataType: 1, shape: ['batch', 1, 28, 28] }]);
    assert.deepEqual(ir.graph.outputs, [{ name: 'logits', dataType: 1, shape: ['batch', 7] }]);
    const gemms = ir.graph.nodes.filter((n) => n.opType === 'Gemm');
    assert.equal(gemms.length, 2);
    for (const g of gemms)
      assert.deepEqual(
        g.attributes.map((a) => [a.name, Number(a.i)]),
        [['transB', 1]],
      );
    assert.deepEqual(decodeTensor(ir.graph.initializers.get('fc1.weight')!).dims, [1024, 3136]);
    assert.deepEqual(decodeTensor(ir.graph.initializers.get('fc2.weight')!).dims, [7, 1024]);
    assert.deepEqual(
      [...ir.graph.initializers.keys()],
      ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'],
    );
  });

  test('resnet parameters are named like the PyTorch state_dict, with BatchNorm initialised as PyTorch does', () => {
    const ir = parseModel(serializeModel(buildArchitecture('resnet')));
    const names = [...ir.graph.initializers.keys()];
    for (const key of [
      'conv1.weight',
      'bn1.running_var',
      'layer1.0.conv2.weight',
      'layer2.0.downsample.0.weight',
      'layer3.0.downsample.1.running_mean',
      'fc.weight',
      'fc.bias',
    ]) {
      assert.ok(names.includes(key), key);
    }
    assert.ok(!names.includes('layer1.0.downsample.0.weight'), 'the first block keeps the identity shortcut');
    assert.ok(!names.some((n) => n.includes('conv') && n.endsWith('.bias')), 'convolutions before BatchNorm have no bias');
    assert.deepEqual([...floats(ir, 'bn1.weight')], new Array(16).fill(1));
    assert.deepEqual([...floats(ir, 'bn1.bias')], new Array(16).fill(0));
    assert.deepEqual([...floats(ir, 'layer3.0.bn2.running_mean')], new Array(64).fill(0));
    assert.deepEqual([...floats(ir, 'layer3.0.bn2.running_var')], new Array(64).fill(1));
    const bns = ir.graph.nodes.filter((n) => n.opType === 'BatchNormalization');
    assert.equal(bns.length, 9); // bn1, two per block, one per downsample shortcut (layer2, layer3)
    for (const bn of bns) {
      const attrs = Object.fromEntries(bn.attributes.map((a) => [a.name, a.f]));
      assert.equal(attrs['epsilon'], Math.fround(1e-5));
      assert.equal(attrs['momentum'], Math.fround(0.9));
    }
    assert.equal(ir.graph.nodes.filter((n) => n.opType === 'Add').length, 3);
    assert.equal(ir.graph.nodes.filter((n) => n.opType === 'GlobalAveragePool').length, 1);
  });

  test('weights and biases are U(−1/√fan_in, 1/√fan_in) and fill the range', () => {
    const ir = buildArchitecture('cnn', { seed: 5 });
    for (const [name, fanIn] of [
      ['conv1.weight', 9],
      ['conv1.bias', 9],
      ['conv2.weight', 288],
      ['fc1.weight', 3136],
      ['fc2.bias', 128],
    ] as const) {
      const bound = 1 / Math.sqrt(fanIn);
      const v = floats(ir, name);
      const max = v.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
      assert.ok(max <= bound, `${name}: |w| ≤ ${bound}`);
      if (v.length >= 288) assert.ok(max > 0.9 * bound, `${name} spans its range`);
    }
  });

  test('dropout adds one inference Dropout node with a float32 scalar ratio; 0 adds none', () => {
    const without = buildArchitecture('mlp');
    assert.ok(!without.graph.nodes.some((n) => n.opType === 'Dropout'));
    assert.ok(!without.graph.initializers.has('dropout.ratio'));
    const ir = buildArchitecture('mlp', { dropout: 0.25 });
    const drops = ir.graph.nodes.filter((n) => n.opType === 'Dropout');
    assert.equal(drops.length, 1);
    assert.deepEqual(drops[0]!.inputs.slice(1), ['dropout.ratio']);
    const ratio = decodeTensor(ir.graph.initializers.get('dropout.ratio')!);
    assert.deepEqual(ratio.dims, []);
    assert.deepEqual([...(ratio.data as Float32Array)], [0.25]);
    // The Dropout sits before the last Linear layer.
    const last = ir.graph.nodes.at(-1)!;
    assert.equal(last.opType, 'Gemm');
    assert.equal(last.inputs[0], drops[0]!.outputs[0]);
  });

  test('bad options are named', () => {
    assertOptionError(() => buildArchitecture('vgg' as ArchitectureName), 'architecture', /unknown architecture 'vgg'; valid: mlp, cnn, madry, resnet/);
    assertOptionError(() => buildArchitecture('cnn', { inputShape: [1, 30, 30] }), 'inputShape', /H and W must be divisible by 4/);
    assertOptionError(() => buildArchitecture('madry', { inputShape: [1, 28, 26] }), 'inputShape', /'madry'.*divisible by 4/);
    assertOptionError(() => buildArchitecture('mlp', { inputShape: [1, 28] as unknown as [number, number, number] }), 'inputShape', /three positive integers/);
    assertOptionError(() => buildArchitecture('mlp', { inputShape: [0, 28, 28] }), 'inputShape', /three positive integers/);
    assertOptionError(() => buildArchitecture('mlp', { numClasses: 1 }), 'numClasses', /numClasses must be an integer ≥ 2; got 1/);
    assertOptionError(() => buildArchitecture('mlp', { dropout: 1 }), 'dropout', /dropout must be a rate in \[0, 1\); got 1/);
    assertOptionError(() => buildArchitecture('mlp', { dropout: Number.NaN }), 'dropout', /dropout/);
    assertOptionError(() => buildArchitecture('mlp', { seed: -1 }), 'seed', /seed must be an integer/);
    // mlp and resnet take any image size.
    assert.equal(buildArchitecture('resnet', { inputShape: [1, 30, 30] }).graph.inputs[0]!.shape![3], 30);
  });

  test('describeArchitecture: one line per architecture', () => {
    for (const name of ARCHITECTURES) {
      const text = describeArchitecture(name);
      assert.ok(text.length > 10 && !text.includes('\n'), text);
    }
    assertOptionError(() => describeArchitecture('lenet' as ArchitectureName), 'architecture', /valid: mlp, cnn, madry, resnet/);
  });
});
