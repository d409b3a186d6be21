/**
 * The assistant simulator (probes/simulator.ts) behind an OpenAI-compatible HTTP API, on fastify:
 * `POST /v1/chat/completions` takes `{model, messages: [{role, content, tool_calls?, tool_call_id?}]}`
 * (content a string, null, or a list of `{type: "text", text}` parts) and answers a chat completion
 * whose message holds `content` and, when the simulator calls a tool, `tool_calls` (finish_reason
 * "tool_calls"); `GET /v1/models` lists the one model; `GET /healthz` says ok. Bodies are capped
 * (1 MiB), conversations bounded (200 messages, 100 000 characters each); anything else is a 400
 * with an OpenAI-style error object. Listens on 127.0.0.1 unless told otherwise.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { ChatMessage, ChatRole } from '../probes/chat.js';
import type { AssistantSimulator } from '../probes/simulator.js';

export interface SimulatorServerOptions {
  readonly host?: string;
  readonly port?: number;
  readonly bodyLimit?: number;
  /** Model name answered (default 'gibbon-assistant-simulator'). */
  readonly model?: string;
}

export interface SimulatorServer {
  readonly url: string;
  readonly server: FastifyInstance;
  close(): Promise<void>;
}

const MAX_MESSAGES = 200;
const MAX_CONTENT = 100_000;
const ROLES = new Set<ChatRole>(['system', 'user', 'assistant', 'tool']);

class BadRequest extends Error {}

function content(value: unknown, at: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') {
    if (value.length > MAX_CONTENT) throw new BadRequest(`${at}.content is longer than ${MAX_CONTENT} characters`);
    return value;
  }
  if (Array.isArray(value) && value.length <= 64) {
    const parts = value.map((p, i) => {
      const part = p as { type?: unknown; text?: unknown };
      if (part?.type !== 'text' || typeof part.text !== 'string') throw new BadRequest(`${at}.content[${i}] must be {type: "text", text: string}`);
      return part.text;
    });
    return content(parts.join('\n'), at);
  }
  throw new BadRequest(`${at}.content must be a string, null or a list of text parts`);
}

/** The request's messages, checked. */
export function readMessages(body: unknown): ChatMessage[] {
  const messages = (body as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(messages) || messages.length === 0) throw new BadRequest('messages must be a non-empty list');
  if (messages.length > MAX_MESSAGES) throw new BadRequest(`at most ${MAX_MESSAGES} messages`);
  return messages.map((raw, i): ChatMessage => {
    const at = `messages[${i}]`;
    const m = raw as { role?: unknown; content?: unknown; tool_calls?: unknown; tool_call_id?: unknown } | null;
    if (typeof m !== 'object' || m === null || !ROLES.has(m.role as ChatRole)) throw new BadRequest(`${at}.role must be system, user, assistant or tool`);
    const calls = Array.isArray(m.tool_calls)
      ? m.tool_calls.slice(0, 32).map((c, j) => {
          const call = c as { id?: unknown; function?: { name?: unknown; arguments?: unknown } };
          if (typeof call?.function?.name !== 'string') throw new BadRequest(`${at}.tool_calls[${j}].function.name must be a string`);
          return {
            id: String(call.id ?? `call_${j}`),
            name: call.function.name,
            arguments: typeof call.function.arguments === 'string' ? call.function.arguments : '{}',
          };
        })
      : undefined;
    return {
      role: m.role as ChatRole,
      content: content(m.content, at),
      ...(calls?.length ? { toolCalls: calls } : {}),
      ...(typeof m.tool_call_id === 'string' ? { toolCallId: m.tool_call_id } : {}),
    };
  });
}

export async function serveSimulator(simulator: AssistantSimulator, o: SimulatorServerOptions = {}): Promise<SimulatorServer> {
  const model = o.model ?? 'gibbon-assistant-simulator';
  const server = Fastify({ bodyLimit: o.bodyLimit ?? 1024 * 1024, logger: false });
  let served = 0;
  server.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    const status = error instanceof BadRequest ? 400 : (error.statusCode ?? 500);
    void reply
      .code(status)
      .send({ error: { message: status === 500 ? 'the simulator failed' : error.message, type: status === 500 ? 'server_error' : 'invalid_request_error' } });
  });
  server.get('/healthz', async () => ({ status: 'ok' }));
  server.get('/v1/models', async () => ({ object: 'list', data: [{ id: model, object: 'model', owned_by: 'gibbon' }] }));
  server.post('/v1/chat/completions', async (request) => {
    const messages = readMessages(request.body);
    const answer = await simulator.chat(messages);
    served++;
    const calls = answer.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    return {
      id: `chatcmpl-${served}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: answer.content === '' && calls.length ? null : answer.content,
            ...(calls.length ? { tool_calls: calls } : {}),
          },
          finish_reason: calls.length ? 'tool_calls' : 'stop',
        },
      ],
    };
  });
  await server.listen({ host: o.host ?? '127.0.0.1', port: o.port ?? 0 });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const host = o.host ?? '127.0.0.1';
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1/chat/completions`, server, close: () => server.close() };
}
