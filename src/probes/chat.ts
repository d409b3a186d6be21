/**
 * What a probe talks to: a chat endpoint that takes a conversation and answers one assistant turn,
 * text and/or tool calls, as OpenAI-compatible `/v1/chat/completions` endpoints do. A target is an
 * HTTP endpoint (chat-target.ts), a JavaScript function, or the assistant simulator (simulator.ts).
 */

/** A call of one of the assistant's tools, as the assistant emitted it. */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments as the JSON text the assistant wrote. */
  readonly arguments: string;
}

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string;
  /** Assistant turns: the tools it called. */
  readonly toolCalls?: readonly ToolCall[];
  /** Tool turns: the call this result answers. */
  readonly toolCallId?: string;
}

/** One assistant turn. */
export interface ChatAnswer {
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
}

export interface ChatTarget {
  /** For reports: a URL without credentials, or a name. */
  readonly name: string;
  /** One assistant turn for the conversation so far. Throws an EndpointError when no usable answer came. */
  chat(messages: readonly ChatMessage[], signal?: AbortSignal): Promise<ChatAnswer>;
}
