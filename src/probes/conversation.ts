/**
 * Plays a probe's turns against a target: each user turn is sent and answered; a tool turn is
 * preceded by the assistant's call of that tool (written by the probe, as an agent framework would
 * have issued it) and answered together with the user turn before it.
 */
import type { ChatAnswer, ChatMessage } from './chat.js';
import type { ProbeTurn } from './probe-set.js';

/** One target call; 'budget' when the request budget cannot cover it. */
export type Ask = (messages: readonly ChatMessage[]) => Promise<ChatAnswer | 'budget'>;

/** Appends the turns and the target's answers to `transcript`; 'budget' when a call was refused by the budget (the transcript ends there). */
export async function playTurns(turns: readonly ProbeTurn[], transcript: ChatMessage[], ask: Ask): Promise<'done' | 'budget'> {
  for (const [i, turn] of turns.entries()) {
    if ('user' in turn) transcript.push({ role: 'user', content: turn.user });
    else {
      const id = `call_probe_${i}`;
      transcript.push({ role: 'assistant', content: '', toolCalls: [{ id, name: turn.name ?? 'fetch_page', arguments: '{}' }] });
      transcript.push({ role: 'tool', content: turn.tool, toolCallId: id });
    }
    const next = turns[i + 1];
    if (next !== undefined && !('user' in next)) continue;
    const answer = await ask(transcript);
    if (answer === 'budget') return 'budget';
    transcript.push({ role: 'assistant', content: answer.content, ...(answer.toolCalls.length ? { toolCalls: answer.toolCalls } : {}) });
  }
  return 'done';
}

/** The text of an untrusted turn. */
export function turnText(turn: ProbeTurn): string {
  return 'user' in turn ? turn.user : turn.tool;
}

/** The turn with its text replaced. */
export function withTurnText(turn: ProbeTurn, text: string): ProbeTurn {
  return 'user' in turn ? { user: text } : { ...turn, tool: text };
}
