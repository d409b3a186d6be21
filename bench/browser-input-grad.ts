/**
 * `npm run bench:browser [-- --runs 10]`: input_grad throughput (forward + CE + input gradient,
 * images/s at batch 128) in the browser playground (onnxruntime-web, wasm SIMD, threads as
 * cross-origin isolation allows, headless chromium) against Node (onnxruntime-node) with the same
 * threads, on the bundled MNIST CNN (models/mnist-standard.onnx) and the reference mnist_cnn.
 * Prints one line per model with the ratio browser / Node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxModel } from '../src/model/onnx-model.js';
import { argmaxPerRow } from '../src/tensor/scores.js';
import { ROOT } from '../test/helpers/cli.js';
import { benchmarkInPage, loadModelInPage, startPlayground } from '../test/helpers/playground.js';

const BATCH = 128;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(values.runs);

async function nodeThroughput(file: string, threads: number): Promise<number> {
  const model = await OnnxModel.load(file, { threads });
  try {
    const x = { data: Float32Array.from({ length: BATCH * 784 }, (_, i) => ((i * 7919) % 256) / 255), shape: [BATCH, 1, 28, 28] };
    const labels = Int32Array.from(argmaxPerRow(await model.logits(x), model.numClasses));
    await model.lossAndGrad(x, labels, 'ce');
    const t0 = performance.now();
    for (let r = 0; r < runs; r++) await model.lossAndGrad(x, labels, 'ce');
    return (BATCH * runs) / ((performance.now() - t0) / 1000);
  } finally {
    await model.dispose();
  }
}

const models = [join(ROOT, 'models', 'mnist-standard.onnx'), join(ROOT, 'test', 'fixtures', 'reference', 'mnist_cnn', 'mnist_cnn.onnx')];
const playground = await startPlayground();
try {
  const visit = await playground.open();
  const runtime = await visit.ready();
  console.log(`browser: onnxruntime-web ${runtime.onnxruntime}, ${runtime.threads} wasm thread(s), cross-origin isolated: ${runtime.crossOriginIsolated}`);
  for (const file of models) {
    await loadModelInPage(visit.page, new Uint8Array(readFileSync(file)), file.split('/').pop()!);
    const browser = await benchmarkInPage(visit.page, BATCH, runs);
    const node = await nodeThroughput(file, runtime.threads);
    const name = file.slice(ROOT.length + 1);
    console.log(
      `${name}: input_grad batch ${BATCH}, ${runs} runs — browser ${browser.toFixed(0)} images/s, Node ${node.toFixed(0)} images/s (${runtime.threads} threads), browser/Node ${(browser / node).toFixed(2)}`,
    );
  }
  if (visit.problems.length > 0) console.log(`page problems: ${visit.problems.join('; ')}`);
} finally {
  await playground.close();
}
