/**
 * `gibbon train` on texts: `--data spam-assassin` (its seeded train split; the test split is the
 * held-out set) or `--data FILE.jsonl` (`--heldout N` examples held out, seeded), with `--arch
 * text-bag|text-cnn|char-cnn` (a vocabulary is built from the training texts and stored in the
 * model) or `--model FILE` (a text model with its vocabulary, fine-tuned). Writes the model, the
 * per-epoch log and a checkpoint like image training, and prints accuracy and the precision and
 * recall of class 1 (spam) on the held-out texts.
 */
import { GibbonError } from '../../errors.js';
import { spamAssassinSplit } from '../../data/spam-assassin.js';
import { selectTexts, type TextDataset } from '../../data/text-data.js';
import { readTextJsonl } from '../../data/text-jsonl.js';
import { loadModel, saveModel, type ModelIR } from '../../onnx/model.js';
import { Rng } from '../../random.js';
import { OnnxTextModel } from '../../text/onnx-text-model.js';
import { buildVocabulary, vocabularyOfModel, withVocabulary } from '../../text/vocabulary.js';
import { buildTextArchitecture, isTextArchitecture, TEXT_ARCHITECTURE_UNIT } from '../../training/text-architectures.js';
import { textClassifierMetrics, trainTextModel } from '../../training/text-training.js';
import { parseSchedule } from '../../training/schedules.js';
import type { Terminal } from '../terminal.js';
import { optimizerSpec, pct, prepareTrainingOutputs, trainingProgress, type TrainValues } from './train-shared.js';

function textData(v: TrainValues): { train: TextDataset; heldOut?: TextDataset } {
  if (v.data === 'spam-assassin') {
    const train = spamAssassinSplit('train');
    return { train: v.n !== undefined ? selectTexts(train, [...Array(Math.min(v.n, train.texts.length)).keys()]) : train, heldOut: spamAssassinSplit('test') };
  }
  const all = readTextJsonl(v.data, { option: 'data', limit: v.n !== undefined ? v.n + v.heldout : undefined });
  const n = all.texts.length;
  if (v.heldout >= n)
    throw new GibbonError('invalid_option', `--heldout ${v.heldout} leaves no training examples out of ${n} in ${all.source}`, { option: 'heldout' });
  const order = Rng.derive(v.seed, 'heldout').permutation(n);
  const held = Array.from(order.subarray(0, v.heldout)).sort((a, b) => a - b);
  const rest = Array.from(order.subarray(v.heldout)).sort((a, b) => a - b);
  return { train: selectTexts(all, rest, `${all.source}:train`), heldOut: v.heldout > 0 ? selectTexts(all, held, `${all.source}:heldout`) : undefined };
}

export async function runTextTraining(v: TrainValues, terminal: Terminal): Promise<void> {
  const schedule = parseSchedule(v.schedule);
  if (v.method !== 'standard') {
    throw new GibbonError(
      'invalid_option',
      `text models train with --method standard (text adversarial training goes through the augment hook); got '${v.method}'`,
      {
        option: 'method',
      },
    );
  }
  if (v.arch !== undefined && !isTextArchitecture(v.arch)) {
    throw new GibbonError('invalid_option', `--arch ${v.arch} is an image architecture; text data needs text-bag, text-cnn or char-cnn`, { option: 'arch' });
  }
  const { checkpointPath, logPath } = prepareTrainingOutputs(v, terminal);
  const { train, heldOut } = textData(v);
  let source: ModelIR;
  if (v.model !== undefined) {
    source = loadModel(v.model);
    if (!vocabularyOfModel(source))
      throw new GibbonError('invalid_model', `${v.model} has no vocabulary ('gibbon.text' metadata); it is not a text model`, { option: 'model' });
  } else {
    const arch = v.arch as Parameters<typeof buildTextArchitecture>[0];
    const unit = TEXT_ARCHITECTURE_UNIT[arch];
    const maxLength = v.maxLength ?? (unit === 'word' ? 256 : 1000);
    const vocabulary = buildVocabulary(train.texts, { unit, maxLength, maxSize: v.vocabSize ?? (unit === 'word' ? 10000 : 300), classes: train.classes });
    const model = buildTextArchitecture(arch, { vocabularySize: vocabulary.tokens.length, maxLength, numClasses: train.classes.length, seed: v.seed });
    source = withVocabulary(model, vocabulary);
  }
  const batchSize = v.batchSize ?? 32;
  terminal.note(
    `training ${v.model ?? `--arch ${v.arch}`} on ${train.texts.length} texts of ${train.source}` +
      (heldOut ? ` (${heldOut.texts.length} held out: ${heldOut.source})` : '') +
      ` · ${v.epochs} epochs of ${Math.ceil(train.texts.length / batchSize)} steps · ${v.optimizer} lr ${v.lr ?? (v.optimizer === 'sgd' ? 0.01 : 1e-3)} ${v.schedule}`,
  );
  const progress = trainingProgress(terminal, logPath, v.epochs);
  try {
    const result = await trainTextModel(source, train, heldOut, {
      epochs: v.epochs,
      batchSize,
      lr: v.lr ?? (v.optimizer === 'sgd' ? 0.01 : 1e-3),
      optimizer: optimizerSpec(v),
      schedule: schedule.type === 'step' ? { ...schedule, stepSize: schedule.stepSize * Math.ceil(train.texts.length / batchSize) } : schedule,
      clipGrad: v.clipGrad,
      seed: v.seed,
      threads: v.threads,
      checkpointPath,
      resume: v.resume,
      ...progress.callbacks,
    });
    saveModel(result.model, v.out);
    terminal.out(
      `wrote ${v.out} (${result.seconds.toFixed(0)} s of training over ${result.history.length} epochs); log ${logPath}; checkpoint ${checkpointPath}`,
    );
    if (heldOut) {
      const model = await OnnxTextModel.fromModel(result.model, { threads: v.threads });
      try {
        const m = await textClassifierMetrics(model, heldOut, 1);
        const positive = heldOut.classes[1] ?? '1';
        terminal.out(`held-out ${m.n}: accuracy ${pct(m.accuracy)} · ${positive}: precision ${pct(m.precision)}, recall ${pct(m.recall)}`);
      } finally {
        await model.dispose();
      }
    }
  } finally {
    progress.stop();
  }
}
