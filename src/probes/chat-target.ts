/**
 * Chat targets: an OpenAI-compatible `/v1/chat/completions` endpoint over HTTP (through the remote
 * client's retries, backoff, rate limit, redirect and size rules: model/remote/http-client.ts), and a
 * JavaScript function. The endpoint is untrusted: its answer must hold `choices[0].message` with a
 * string (or null) `content` and well-formed `tool_calls`, or the call fails naming the missing field.
 */
import { GibbonError } from '../errors.js';
import { EndpointClient, EndpointError } from '../model/remote/http-client.js';
import type { ChatAnswer, ChatMessage, ChatTarget, ToolCall } from './chat.js';

export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
}

export interface HttpChatOptions {
  readonly url: string;
  /** The `model` field of requests (default 'gibbon-probe'). */
  readonly model?: string;
  /** Bearer token (Authorization header). */
  readonly token?: string;
  readonly timeoutMs?: number;
  /** Retries of a failed, timed-out or rate-limited (429) request (default 2). */
  readonly retries?: number;
  readonly backoffMs?: number;
  /** Requests per second (default: no limit). */
  readonly rateLimit?: number;
  readonly maxResponseBytes?: number;
  /** Tools offered to the assistant (`tools` of the request). */
  readonly tools?: readonly ToolDefinition[];
  readonly temperature?: number;
}

const MAX_TOOL_CALLS = 32;

/** The wire form of a conversation. */
function wireMessages(messages: readonly ChatMessage[]): unknown[] {
  return messages.map((m) => ({
    role: m.role,
    content: m.role === 'assistant' && m.content === '' && m.toolCalls?.length ? null : m.content,
    ...(m.toolCalls?.length
      ? { tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) }
      : {}),
    ...(m.toolCallId ? { tool_call_id: m.toolCallId } : {}),
  }));
}

/** Reads `choices[0].message` of an answer; `fail(field)` raises the error naming what is wrong. */
export function readChatAnswer(json: unknown, fail: (what: string) => never): ChatAnswer {
  const obj = (v: unknown): Record<string, unknown> | undefined =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const choices = obj(json)?.choices;
  if (!Array.isArray(choices) || choices.length === 0) return fail('choices (a non-empty list) is missing');
  const message = obj(obj(choices[0])?.message);
  if (!message) return fail('choices[0].message is missing');
  const content = message.content;
  if (content !== null && content !== undefined && typeof content !== 'string') return fail('choices[0].message.content is not a string or null');
  const raw = message.tool_calls;
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) return fail('choices[0].message.tool_calls is not a list');
  const calls: ToolCall[] = [];
  for (const [i, c] of ((raw as unknown[] | null | undefined) ?? []).slice(0, MAX_TOOL_CALLS).entries()) {
    const f = obj(obj(c)?.function);
    if (!f || typeof f.name !== 'string') return fail(`choices[0].message.tool_calls[${i}].function.name is missing`);
    const args = typeof f.arguments === 'string' ? f.arguments : JSON.stringify(f.arguments ?? {});
    const id = obj(c)?.id;
    calls.push({ id: typeof id === 'string' ? id.slice(0, 200) : `call_${i}`, name: f.name.slice(0, 200), arguments: args.slice(0, 20_000) });
  }
  if ((content === null || content === undefined) && calls.length === 0) return fail('choices[0].message has neither content nor tool_calls');
  return { content: (content ?? '').slice(0, 100_000), toolCalls: calls };
}

export class HttpChatTarget implements ChatTarget {
  readonly name: string;
  readonly client: EndpointClient;
  /** Most HTTP requests one chat call can send (1 + retries), for the run's hard budget. */
  readonly maxRequestsPerCall: number;

  constructor(private readonly o: HttpChatOptions) {
    let target: URL;
    try {
      target = new URL(o.url);
    } catch {
      throw new GibbonError('invalid_option', `--target ${JSON.stringify(o.url)} is not a URL; give e.g. http://127.0.0.1:8000/v1/chat/completions`, {
        option: 'target',
      });
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw new GibbonError('invalid_option', `--target must be an http(s) URL; got ${target.protocol}`, { option: 'target' });
    const retries = o.retries ?? 2;
    this.client = new EndpointClient({
      target,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      token: o.token,
      timeoutMs: o.timeoutMs ?? 60_000,
      retries,
      backoffMs: o.backoffMs ?? 500,
      maxResponseBytes: o.maxResponseBytes ?? 1024 * 1024,
      rateLimit: o.rateLimit,
    });
    this.name = this.client.url;
    this.maxRequestsPerCall = 1 + retries;
  }

  get requestsSent(): number {
    return this.client.counts.requests;
  }

  async chat(messages: readonly ChatMessage[]): Promise<ChatAnswer> {
    const body = {
      model: this.o.model ?? 'gibbon-probe',
      messages: wireMessages(messages),
      ...(this.o.temperature !== undefined ? { temperature: this.o.temperature } : {}),
      ...(this.o.tools?.length
        ? {
            tools: this.o.tools.map((t) => ({
              type: 'function',
              function: { name: t.name, description: t.description, parameters: { type: 'object', properties: {} } },
            })),
          }
        : {}),
    };
    const json = await this.client.send(JSON.stringify(body));
    return readChatAnswer(json, (what) => {
      this.client.counts.failures++;
      throw new EndpointError('invalid_model', this.client.url, 'missing_field', `endpoint ${this.client.url}: the answer is not a chat completion: ${what}`);
    });
  }
}

/** A JavaScript function as a target (its answers are checked like an endpoint's). */
export class FunctionChatTarget implements ChatTarget {
  constructor(
    readonly name: string,
    private readonly fn: (messages: readonly ChatMessage[]) => Promise<ChatAnswer | string>,
  ) {}

  async chat(messages: readonly ChatMessage[]): Promise<ChatAnswer> {
    const answer = await this.fn(messages);
    if (typeof answer === 'string') return { content: answer, toolCalls: [] };
    if (typeof answer?.content !== 'string' || !Array.isArray(answer.toolCalls))
      throw new GibbonError(
        'invalid_model',
        `chat function ${this.name} returned ${JSON.stringify(answer)?.slice(0, 80)}, not a string or { content, toolCalls }`,
      );
    return answer;
  }
}
