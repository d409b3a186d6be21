import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as node from 'node:path';
import * as browser from './path.js';

test('the browser path functions agree with node:path (POSIX, working directory /)', () => {
  const cases = ['a/b', '/a/b/', 'a/../../b', '/a/./b/../c.d', 'model.onnx', '', '/', '../x'];
  for (const p of cases) {
    assert.equal(browser.join(p, 'x'), node.posix.join(p, 'x'), `join ${p}`);
    assert.equal(browser.resolve('/', p), node.posix.resolve('/', p), `resolve ${p}`);
    assert.equal(browser.isAbsolute(p), node.posix.isAbsolute(p), `isAbsolute ${p}`);
    if (p) assert.equal(browser.dirname(p), node.posix.dirname(p), `dirname ${p}`);
    assert.equal(browser.extname(p), node.posix.extname(p), `extname ${p}`);
  }
  assert.equal(browser.relative('/a/b', '/a/c/d'), node.posix.relative('/a/b', '/a/c/d'));
});
