/**
 * Success rates of L∞ PGD with the CTC head on the CRNN digit recogniser (test/fixtures/ctc) over its
 * 50 held-out lines, at several ε: targeted (force the deterministic target of test/ctc-attack.test.ts)
 * and untargeted (change the transcription). Prints one row per ε.
 *   npm run build && node dist/bench/ctc-attack-rates.js [eps,eps,…] [steps] [step size / ε]
 */
import { PgdAttack } from '../src/attacks/pgd.js';
import { runSequenceAttack } from '../src/attacks/sequence-attack.js';
import { SequenceOnnxModel } from '../src/model/sequence-model.js';
import { CRNN_PATH, ctcLines, targetText } from '../test/helpers/ctc-fixture.js';

const epsilons = (process.argv[2] ?? '0.01,0.02,0.05,0.1,0.15,0.2').split(',').map(Number);
const steps = Number(process.argv[3] ?? 100);
const relStepsize = Number(process.argv[4] ?? 0.05);
const lines = ctcLines();
const model = await SequenceOnnxModel.load(CRNN_PATH, { blank: lines.blank, charset: lines.charset, threads: 2 });
const read = await model.transcribe(lines.x);
const n = lines.texts.length;
console.log(`clean line accuracy ${read.filter((s, i) => s === lines.texts[i]).length}/${n}; PGD-${steps}, step ${relStepsize}·ε, no random start`);
const targets = lines.texts.map((t, i) => model.encode(targetText(t, i, lines.charset)));
console.log('ε        targeted  untargeted  seconds');
for (const eps of epsilons) {
  const started = performance.now();
  const attack = new PgdAttack({ steps, relStepsize, randomStart: false });
  const t = await runSequenceAttack(attack, model, lines.x, { eps, norm: 'linf', targets, seed: 1 });
  const u = await runSequenceAttack(attack, model, lines.x, { eps, norm: 'linf', seed: 1 });
  const rate = (s: Uint8Array): string => `${((100 * s.reduce((a, b) => a + b, 0)) / n).toFixed(0)}%`.padStart(4);
  console.log(`${eps.toFixed(4)}   ${rate(t.outcome.success)}      ${rate(u.outcome.success)}        ${((performance.now() - started) / 1000).toFixed(1)}`);
}
await model.dispose();
