/** Chat answers: what a usable completion is, and the error naming what is missing; function targets checked the same way. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { GibbonError } from '../errors.js';
import { FunctionChatTarget, HttpChatTarget, readChatAnswer } from './chat-target.js';

const read = (json: unknown): ReturnType<typeof readChatAnswer> =>
  readChatAnswer(json, (what) => {
    throw new Error(what);
  });

describe('chat targets', () => {
  test('a completion with content, with tool calls (arguments as text or object), or both', () => {
    assert.deepEqual(read({ choices: [{ message: { content: 'hi' } }] }), { content: 'hi', toolCalls: [] });
    const r = read({
      choices: [
        { message: { content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'delete_records', arguments: { confirm: true } } }] } },
      ],
    });
    assert.deepEqual(r, { content: '', toolCalls: [{ id: 'c', name: 'delete_records', arguments: '{"confirm":true}' }] });
  });

  test('missing or wrong fields are named', () => {
    assert.throws(() => read({}), /choices/);
    assert.throws(() => read({ choices: [] }), /choices/);
    assert.throws(() => read({ choices: [{}] }), /choices\[0\]\.message is missing/);
    assert.throws(() => read({ choices: [{ message: { content: 5 } }] }), /content is not a string or null/);
    assert.throws(() => read({ choices: [{ message: { content: null } }] }), /neither content nor tool_calls/);
    assert.throws(() => read({ choices: [{ message: { content: '', tool_calls: [{ function: {} }] } }] }), /tool_calls\[0\]\.function\.name/);
  });

  test('function targets: a string or { content, toolCalls }; anything else is an error', async () => {
    assert.deepEqual(await new FunctionChatTarget('echo', async (m) => m[m.length - 1]!.content).chat([{ role: 'user', content: 'x' }]), {
      content: 'x',
      toolCalls: [],
    });
    const bad = new FunctionChatTarget('bad', async () => ({ text: 'x' }) as never);
    await assert.rejects(bad.chat([{ role: 'user', content: 'x' }]), (e: unknown) => e instanceof GibbonError && /chat function bad returned/.test(e.message));
  });

  test('an endpoint URL must be http(s)', () => {
    assert.throws(() => new HttpChatTarget({ url: 'not a url' }), /is not a URL/);
    assert.throws(() => new HttpChatTarget({ url: 'file:///etc/passwd' }), /http\(s\) URL/);
    assert.equal(new HttpChatTarget({ url: 'http://u:p@127.0.0.1:1/v1?key=s' }).name, 'http://127.0.0.1:1/v1?…');
  });
});
