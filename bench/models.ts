/**
 * Benchmark models built in code (no download): the Madry et al. (2018) MNIST CNN —
 * conv 32@5×5 pad 2, ReLU, maxpool 2, conv 64@5×5 pad 2, ReLU, maxpool 2, fc 1024, ReLU, fc 10 —
 * with seeded random weights (speed does not depend on weight values), input 'input'
 * (batch, 1, 28, 28), output 'logits'. It is the built-in 'madry' architecture (opset 17).
 */
import type { ModelIR } from '../src/onnx/model.js';
import { buildArchitecture } from '../src/training/architectures.js';

export function madryCnn(seed = 0): ModelIR {
  return buildArchitecture('madry', { seed });
}
