/**
 * An ONNX text classifier with its vocabulary (vocabulary.ts): a white-box `TextClassifier`.
 * `scores` tokenizes each text, pads the ids to the model's length and runs the model in batches;
 * `tokenGradients` runs the gradient graph of the per-example cross-entropy with respect to the
 * embedding lookup's output (embedding-gradient-graph.ts), built on first use.
 *
 * Handling of awkward texts (documented in docs/text-models.md): unknown tokens map to the
 * vocabulary's unknown id; a text longer than the model's length is cut to its first tokens (or
 * refused when the vocabulary says `overflow: "error"`); an empty text is all padding and gets the
 * model's answer for no tokens.
 *
 * @example
 * const model = await OnnxTextModel.open('models/spam-bag.onnx');
 * const [logits] = await model.scores(['WIN A FREE IPHONE NOW']);
 * await model.dispose();
 */
import { GibbonError } from '../errors.js';
import { checkOption, positiveInteger } from '../options.js';
import { canonicalize } from '../onnx/canonicalize.js';
import { loadModel, type ModelIR } from '../onnx/model.js';
import { GraphProgram } from '../runtime/graph-program.js';
import { outputClassScores } from '../training/training-graph.js';
import type { EmbeddingTable, TextToken, TokenGradients, WhiteBoxTextClassifier } from './classifier.js';
import { buildEmbeddingGradientGraph, TEXT_LABELS_INPUT, TEXT_LOGITS_OUTPUT } from './embedding-gradient-graph.js';
import {
  bindVocabulary,
  embeddingValues,
  idMatrix,
  readVocabularyFile,
  tokenIds,
  tokenizeText,
  vocabularyOfModel,
  type TextVocabulary,
  type VocabularyBinding,
} from './vocabulary.js';

export interface OnnxTextModelOptions {
  /** The vocabulary, when it is not in the model's metadata (or to override it). */
  vocabulary?: TextVocabulary;
  /** onnxruntime threads (default: the number of cores). */
  threads?: number;
  /** Texts per run (default 64). */
  batchSize?: number;
}

export class OnnxTextModel implements WhiteBoxTextClassifier {
  readonly classes: number;
  readonly labels?: readonly string[];
  readonly embedding: EmbeddingTable;
  private readonly ids: Map<string, number>;
  private gradient?: GraphProgram<{ gradOutput: string }>;

  private constructor(
    readonly model: ModelIR,
    readonly vocabulary: TextVocabulary,
    readonly binding: VocabularyBinding,
    private readonly forward: GraphProgram,
    classes: number,
    private readonly options: OnnxTextModelOptions,
  ) {
    this.classes = classes;
    if (vocabulary.classes && vocabulary.classes.length === classes) this.labels = vocabulary.classes;
    this.ids = tokenIds(vocabulary);
    const tokens = vocabulary.tokens.map((t, i) => (i === vocabulary.padId || i === vocabulary.unknownId ? undefined : t));
    this.embedding = { rows: binding.rows, dim: binding.dim, values: embeddingValues(model, binding), tokens, unit: vocabulary.unit };
  }

  /** Opens an ONNX text model; its vocabulary comes from its metadata or the sidecar file `vocabularyPath`. */
  static async open(path: string, options: OnnxTextModelOptions & { vocabularyPath?: string } = {}): Promise<OnnxTextModel> {
    const vocabulary = options.vocabulary ?? (options.vocabularyPath ? readVocabularyFile(options.vocabularyPath, 'vocab') : undefined);
    return OnnxTextModel.fromModel(loadModel(path), { ...options, vocabulary });
  }

  static async fromModel(model: ModelIR, options: OnnxTextModelOptions = {}): Promise<OnnxTextModel> {
    if (options.batchSize !== undefined) checkOption('batchSize', options.batchSize, positiveInteger);
    const vocabulary = options.vocabulary ?? vocabularyOfModel(model);
    if (!vocabulary) {
      throw new GibbonError(
        'invalid_model',
        `${model.path ?? 'the model'} has no vocabulary: no 'gibbon.text' metadata; give a vocabulary file (option vocab)`,
        {
          path: model.path,
        },
      );
    }
    const binding = bindVocabulary(model, vocabulary);
    const forwardModel = canonicalize(model);
    await outputClassScores(forwardModel, shapesOf(binding, vocabulary));
    const classes = forwardModel.graph.outputs[0]!.shape![1] as number;
    const forward = await GraphProgram.compile(forwardModel, { threads: options.threads, label: 'text model' });
    return new OnnxTextModel(model, vocabulary, binding, forward, classes, options);
  }

  tokenize(text: string): TextToken[] {
    return tokenizeText(this.vocabulary, this.ids, text);
  }

  private feeds(tokens: readonly TextToken[][]): Record<string, { type: 'int64'; data: BigInt64Array; shape: number[] }> {
    return { [this.binding.input]: { type: 'int64', data: idMatrix(this.vocabulary, tokens), shape: [tokens.length, this.vocabulary.maxLength] } };
  }

  private async batched<T>(texts: readonly string[], run: (tokens: TextToken[][], start: number) => Promise<T[]>): Promise<T[]> {
    const size = this.options.batchSize ?? 64;
    const out: T[] = [];
    for (let start = 0; start < texts.length; start += size) {
      const tokens = texts.slice(start, start + size).map((t) => this.tokenize(t));
      out.push(...(await run(tokens, start)));
    }
    return out;
  }

  async scores(texts: readonly string[]): Promise<Float32Array[]> {
    const c = this.classes;
    return this.batched(texts, async (tokens) => {
      const out = await this.forward.run(this.feeds(tokens));
      const logits = Object.values(out)[0]!.data as Float32Array;
      return tokens.map((_, i) => logits.slice(i * c, (i + 1) * c));
    });
  }

  async tokenGradients(texts: readonly string[], labels: readonly number[]): Promise<TokenGradients[]> {
    if (labels.length !== texts.length) throw new GibbonError('invalid_input', `${texts.length} texts but ${labels.length} labels`);
    for (const [i, y] of labels.entries()) {
      if (!Number.isInteger(y) || y < 0 || y >= this.classes)
        throw new GibbonError('invalid_input', `label ${y} of text ${i} is not a class of the model (0–${this.classes - 1})`);
    }
    this.gradient ??= GraphProgram.lazy(
      async () => {
        const built = await buildEmbeddingGradientGraph(this.model, {
          input: this.binding.input,
          embeddingOutput: this.binding.embeddingOutput,
          inputShapes: shapesOf(this.binding, this.vocabulary),
        });
        return { model: built.model, info: { gradOutput: built.gradOutput } };
      },
      { threads: this.options.threads, label: 'text gradient graph' },
    );
    const program = this.gradient;
    const { gradOutput } = await program.info();
    const c = this.classes;
    const d = this.binding.dim;
    const length = this.vocabulary.maxLength;
    return this.batched(texts, async (tokens, start) => {
      const feeds = {
        ...this.feeds(tokens),
        [TEXT_LABELS_INPUT]: {
          type: 'int64' as const,
          data: BigInt64Array.from(labels.slice(start, start + tokens.length), (v) => BigInt(v)),
          shape: [tokens.length],
        },
      };
      const out = await program.run(feeds);
      const logits = out[TEXT_LOGITS_OUTPUT]!.data as Float32Array;
      const grad = out[gradOutput]!.data as Float32Array;
      return tokens.map((row, i) => ({
        tokens: row,
        gradient: grad.slice(i * length * d, (i * length + row.length) * d),
        logits: logits.slice(i * c, (i + 1) * c),
      }));
    });
  }

  async dispose(): Promise<void> {
    await Promise.all([this.forward.dispose(), this.gradient?.dispose()]);
  }
}

/** The token-id input's concrete length for probing (a symbolic length is the vocabulary's maxLength). */
function shapesOf(binding: VocabularyBinding, v: TextVocabulary): Record<string, readonly (number | null)[]> {
  return { [binding.input]: [null, v.maxLength] };
}
