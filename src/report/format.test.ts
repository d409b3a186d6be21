import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCount, formatEps, formatNormName, formatNumber, formatPercent, formatSeconds } from './format.js';
import { escapeHtml, html, trustedHtml } from './safe-html.js';

test('ε reads as written: decimals stay decimals, k/255 is recognised', () => {
  assert.equal(formatEps(0.3), '0.3');
  assert.equal(formatEps(8 / 255), '8/255');
  assert.equal(formatEps(0.5), '0.5');
  assert.equal(formatEps(1.5), '1.5');
  assert.equal(formatEps(0.123456), '0.1235');
});

test('percentages, counts, durations and norms', () => {
  assert.equal(formatPercent(0.99609375), '99.6%');
  assert.equal(formatPercent(0), '0.0%');
  assert.equal(formatCount(1234567), '1,234,567');
  assert.equal(formatNumber(0.04999999984), '0.05');
  assert.equal(formatNumber(1234.5), '1230');
  assert.equal(formatSeconds(0.318), '0.32 s');
  assert.equal(formatSeconds(7.439), '7.4 s');
  assert.equal(formatSeconds(86.4), '1 min 26 s');
  assert.equal(formatSeconds(7384), '2 h 3 min');
  assert.equal(formatNormName('linf'), 'L∞');
  assert.equal(formatNormName('l2'), 'L2');
});

test('the html template escapes values and keeps trusted markup', () => {
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  const inner = html`<b>${'<i>'}</b>`;
  assert.equal(html`<p>${inner}${['<', trustedHtml('<br>')]}${null}${0}</p>`.value, '<p><b>&lt;i&gt;</b>&lt;<br>0</p>');
});
