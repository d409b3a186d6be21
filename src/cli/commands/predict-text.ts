/**
 * `gibbon predict TEXT_MODEL --text "..." [--text "..."]` or `--input FILE.jsonl` (labels optional;
 * with labels it reports accuracy): each text's class and scores, the class counts, and with
 * `--out` the logits (N, classes) as float32 .npy. An empty text is refused here (the library
 * scores it as all padding), a text longer than the model accepts is cut (or refused, as the
 * vocabulary says), with a note saying how many were cut.
 */
import { GibbonError } from '../../errors.js';
import { readTextJsonl } from '../../data/text-jsonl.js';
import { writeNpy } from '../../tensor/npy.js';
import { OnnxTextModel } from '../../text/onnx-text-model.js';
import { splitTokens } from '../../text/tokenizer.js';
import { checkOutputIsNotAnInput, checkWritableFile } from '../files.js';
import type { Terminal } from '../terminal.js';
import { percent } from '../format.js';
import { argmax } from '../../tensor/scores.js';

export interface PredictTextValues {
  readonly model: string;
  readonly input?: string;
  readonly text?: readonly string[];
  readonly vocab?: string;
  readonly out?: string;
  readonly batchSize?: number;
  readonly threads?: number;
}

export async function runTextPredict(values: PredictTextValues, terminal: Terminal): Promise<void> {
  if (values.out) checkWritableFile(values.out, '--out');
  checkOutputIsNotAnInput({ path: values.out, option: '--out' }, [
    { path: values.model, option: 'MODEL' },
    { path: values.input, option: '--input' },
    { path: values.vocab, option: '--vocab' },
  ]);
  const model = await OnnxTextModel.open(values.model, { vocabularyPath: values.vocab, threads: values.threads, batchSize: values.batchSize });
  try {
    const data = values.input ? readTextJsonl(values.input, { option: 'input', unlabelled: true, classes: model.labels }) : undefined;
    const texts = data ? data.texts : [...(values.text ?? [])];
    texts.forEach((t, i) => {
      if (t.trim() === '')
        throw new GibbonError('invalid_input', `text ${i + 1} is empty; give a text with at least one word`, { option: values.input ? 'input' : 'text' });
    });
    const v = model.vocabulary;
    const cut = texts.filter((t) => splitTokens(t, v.unit, v.lowercase, v.maxLength + 1).length > v.maxLength).length;
    if (cut > 0 && v.overflow === 'truncate') {
      terminal.note(
        `note: ${cut} text${cut === 1 ? ' is' : 's are'} longer than the ${v.maxLength} ${v.unit === 'word' ? 'words' : 'characters'} the model reads; read up to there`,
      );
    }
    const started = performance.now();
    const scores = await model.scores(texts);
    const seconds = (performance.now() - started) / 1000;
    const name = (k: number): string => model.labels?.[k] ?? String(k);
    const predicted = scores.map((s) => argmax(s));
    const lines = [`${texts.length} texts, ${model.classes} classes, ${seconds.toFixed(2)} s`];
    const perClass = new Array<number>(model.classes).fill(0);
    for (const p of predicted) perClass[p]!++;
    lines.push(`predicted classes: ${perClass.map((c, k) => `${name(k)}:${c}`).join(' ')}`);
    if (texts.length <= 20) {
      predicted.forEach((p, i) => {
        const excerpt = texts[i]!.replace(/\s+/g, ' ').slice(0, 60);
        lines.push(`  ${name(p)}  [${Array.from(scores[i]!, (x) => x.toFixed(3)).join(', ')}]  ${JSON.stringify(excerpt)}${texts[i]!.length > 60 ? '…' : ''}`);
      });
    }
    if (data && data.labels.some((y) => y >= 0)) {
      let n = 0;
      let correct = 0;
      data.labels.forEach((y, i) => {
        if (y < 0) return;
        n++;
        if (predicted[i] === y) correct++;
      });
      lines.push(`accuracy: ${percent(correct, n)} (${correct}/${n} labelled)`);
    }
    if (values.out) {
      const flat = new Float32Array(texts.length * model.classes);
      scores.forEach((s, i) => flat.set(s, i * model.classes));
      writeNpy(values.out, { type: 'float32', data: flat, shape: [texts.length, model.classes] });
      lines.push(`wrote logits [${texts.length}, ${model.classes}] to ${values.out}`);
    }
    terminal.out(lines.join('\n'));
  } finally {
    await model.dispose();
  }
}
