/** What `gibbon info` and `gibbon predict` say about a text model: its vocabulary and whether it fits the model. */
import { checkRuleSupport, DEFAULT_VJP_REGISTRY } from '../autodiff/gradient-graph.js';
import { GibbonError } from '../errors.js';
import type { ModelIR } from '../onnx/model.js';
import { bindVocabulary, vocabularyOfModel, type VocabularyBinding } from '../text/vocabulary.js';

export interface TextModelFacts {
  readonly unit: 'word' | 'char';
  readonly lowercase: boolean;
  readonly maxLength: number;
  readonly overflow: 'truncate' | 'error';
  readonly vocabularySize: number;
  readonly padId: number;
  readonly unknownId: number;
  readonly classes?: readonly string[];
  /** Where the vocabulary meets the model, or why it does not fit. */
  readonly binding: VocabularyBinding | { readonly error: string };
  /** Whether every op between the embedding output and the scores has a gradient rule (else the first that has none). */
  readonly embeddingGradient?: 'supported' | { readonly unsupported: string };
}

/** The facts of a model with a 'gibbon.text' vocabulary; undefined for other models. */
export function textModelFacts(model: ModelIR): TextModelFacts | undefined {
  const v = vocabularyOfModel(model);
  if (!v) return undefined;
  let binding: TextModelFacts['binding'];
  try {
    binding = bindVocabulary(model, v);
  } catch (e) {
    if (!(e instanceof GibbonError)) throw e;
    binding = { error: e.message };
  }
  let embeddingGradient: TextModelFacts['embeddingGradient'];
  if (!('error' in binding)) {
    try {
      checkRuleSupport(model.graph, [binding.embeddingOutput], DEFAULT_VJP_REGISTRY, model.opset);
      embeddingGradient = 'supported';
    } catch (e) {
      if (!(e instanceof GibbonError)) throw e;
      embeddingGradient = { unsupported: e.message.split(';')[0]! };
    }
  }
  return {
    unit: v.unit,
    lowercase: v.lowercase,
    maxLength: v.maxLength,
    overflow: v.overflow,
    vocabularySize: v.tokens.length,
    padId: v.padId,
    unknownId: v.unknownId,
    ...(v.classes ? { classes: v.classes } : {}),
    binding,
    ...(embeddingGradient ? { embeddingGradient } : {}),
  };
}

/** Rows for the info table. */
export function textInfoRows(t: TextModelFacts): [string, string][] {
  const rows: [string, string][] = [];
  rows.push([
    'text',
    `${t.unit === 'word' ? 'word' : 'character'} tokens${t.lowercase ? ', lower-cased' : ''}; ${t.vocabularySize.toLocaleString('en-US')} in the vocabulary (pad id ${t.padId}, unknown id ${t.unknownId})`,
  ]);
  rows.push([
    '',
    `${t.maxLength} tokens per text; longer texts are ${t.overflow === 'truncate' ? 'cut to their first tokens' : 'refused'}; unknown tokens read as the unknown id`,
  ]);
  if (t.classes) rows.push(['', `classes: ${t.classes.map((c, i) => `${i} ${c}`).join(', ')}`]);
  if ('error' in t.binding) rows.push(['', `✖ ${t.binding.error}`]);
  else rows.push(['', `embedding '${t.binding.table}' (${t.binding.rows} × ${t.binding.dim}), output '${t.binding.embeddingOutput}'`]);
  if (t.embeddingGradient === 'supported')
    rows.push(['gradients', 'every op between the embedding output and the class scores has a gradient rule (white box)']);
  else if (t.embeddingGradient) rows.push(['gradients', `✖ ${t.embeddingGradient.unsupported}: white-box text attacks will fail`]);
  return rows;
}
