/**
 * What text attacks see of a text classifier. A black box answers class scores for whole texts; a
 * white box also exposes its tokens, its embedding table and the gradient of a loss with respect to
 * the embedding rows it looked up (HotFlip-style attacks rank token swaps by these).
 *
 * Implementations: an ONNX text model with its vocabulary (text/onnx-text-model.ts), a JavaScript
 * function, an HTTP endpoint. Every call to `scores` costs `texts.length` queries; the harness counts them.
 */

/** One token of a text as the model reads it: its id and where it came from in the text. */
export interface TextToken {
  /** Row of the embedding table (the vocabulary's id, after unknown-token mapping). */
  readonly id: number;
  /** UTF-16 offsets into the original text, [start, end); a padding or special token has start === end. */
  readonly start: number;
  readonly end: number;
}

export interface TextClassifier {
  /** Number of classes; `scores` answers this many logits per text. */
  readonly classes: number;
  /** Class names, index = class id, where known (e.g. ["ham", "spam"]). */
  readonly labels?: readonly string[];
  /** Logits (or any scores whose argmax is the decision) for each text, one array of `classes` numbers each. */
  scores(texts: readonly string[]): Promise<Float32Array[]>;
}

/** The embedding table a white-box model looks tokens up in: `rows` × `dim`, row-major. */
export interface EmbeddingTable {
  readonly rows: number;
  readonly dim: number;
  readonly values: Float32Array;
  /** Token string of each row (the vocabulary), index = id; undefined where a row has no surface form. */
  readonly tokens: readonly (string | undefined)[];
  /** 'word' (tokens are words) or 'char' (tokens are characters). */
  readonly unit: 'word' | 'char';
}

/** The gradient of the cross-entropy loss of `label` for one text with respect to its looked-up embedding rows. */
export interface TokenGradients {
  readonly tokens: readonly TextToken[];
  /** tokens.length × dim, row-major: d loss / d embedding(token i). */
  readonly gradient: Float32Array;
  /** The logits of the same forward pass. */
  readonly logits: Float32Array;
}

export interface WhiteBoxTextClassifier extends TextClassifier {
  readonly embedding: EmbeddingTable;
  /** How the model splits a text into tokens (the same split `scores` uses). */
  tokenize(text: string): TextToken[];
  /** One forward and backward pass per text; counts as texts.length queries. */
  tokenGradients(texts: readonly string[], labels: readonly number[]): Promise<TokenGradients[]>;
}

export function isWhiteBox(model: TextClassifier): model is WhiteBoxTextClassifier {
  return 'tokenGradients' in model && 'embedding' in model;
}
