/**
 * One error base for the whole library. Every error has a machine-readable `code` and, where it
 * makes sense, a location (file, node, op type, option) so that messages can say exactly where the
 * problem is. Library code throws these; only the CLI renders them and sets the exit code.
 */
export type ErrorCode =
  | 'file_not_found'
  | 'file_unwritable'
  | 'invalid_onnx'
  | 'unsupported_opset'
  | 'unsupported_op'
  | 'unsupported_attribute'
  | 'invalid_model'
  | 'invalid_graph'
  | 'invalid_npy'
  | 'invalid_input'
  | 'invalid_option'
  | 'invalid_threat_model'
  | 'invalid_checkpoint'
  | 'runtime_failure'
  | 'budget_exhausted'
  | 'training_diverged'
  | 'internal';

export interface ErrorLocation {
  /** File the problem was found in. */
  readonly path?: string;
  /** Graph node (name and op type) the problem was found at. */
  readonly node?: { readonly name: string; readonly opType: string };
  /** CLI or API option the problem concerns. */
  readonly option?: string;
}

export class GibbonError extends Error {
  readonly code: ErrorCode;
  readonly location: ErrorLocation;

  constructor(code: ErrorCode, message: string, location: ErrorLocation = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GibbonError';
    this.code = code;
    this.location = location;
  }
}

/** Raised when a graph contains an op that gibbon has no gradient rule for. */
export class UnsupportedOpError extends GibbonError {
  readonly opType: string;
  readonly supportedOps: readonly string[];

  constructor(opType: string, nodeName: string, supportedOps: readonly string[], domain = '') {
    const qualified = domain && domain !== 'ai.onnx' ? `${domain}::${opType}` : opType;
    super('unsupported_op', `no gradient rule for op '${qualified}' at node '${nodeName}'; supported ops: ${supportedOps.join(', ')}`, {
      node: { name: nodeName, opType },
    });
    this.name = 'UnsupportedOpError';
    this.opType = opType;
    this.supportedOps = supportedOps;
  }
}

/** One line for a terminal: `✖ message → at node 'x' (Conv)`. */
export function formatError(error: unknown): string {
  if (error instanceof GibbonError) {
    const where: string[] = [];
    const loc = error.location;
    if (loc.node && !error.message.includes(`'${loc.node.name}'`)) where.push(`node '${loc.node.name}' (${loc.node.opType})`);
    if (loc.path && !error.message.includes(loc.path)) where.push(`file ${loc.path}`);
    if (loc.option && !error.message.includes(loc.option)) where.push(`option ${loc.option}`);
    return `✖ ${error.message}${where.length ? ` → at ${where.join(', ')}` : ''}`;
  }
  if (error instanceof Error) return `✖ ${error.message}`;
  return `✖ ${String(error)}`;
}
