import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { GibbonError } from '../errors.js';
import { readNpy, toFloat32 } from '../tensor/npy.js';
import { renderReportHtml } from './html.js';
import { galleryImages, upscaleFactor } from './images.js';
import type { GalleryItem, Report } from './schema.js';
import { REPOSITORY_ROOT, sampleReport } from './testing/sample-report.js';

/** The page with whitespace between tags removed and runs of spaces collapsed, for matching. */
function render(report: Report): string {
  return renderReportHtml(report)
    .replace(/\s+/g, ' ')
    .replace(/> </g, '><')
    .replace(/ (<\/(?:td|th|p|span|li|strong)>)/g, '$1')
    .replace(/<\/span ><span/g, '</span><span')
    .replace(/(<(?:td|th|p|span|li)(?: [^>]*)?>) /g, '$1');
}

const page = render(sampleReport());

/** Every src="…" and href="…" value, and every CSS url(…). */
function references(markup: string): string[] {
  const attributes = [...markup.matchAll(/\b(?:src|href|xlink:href|action|poster|data)\s*=\s*"([^"]*)"/gi)].map((m) => m[1]!);
  const css = [...markup.matchAll(/url\(\s*['"]?([^'")]*)/gi)].map((m) => m[1]!);
  return [...attributes, ...css];
}

function imageSources(markup: string): string[] {
  return [...markup.matchAll(/<img\b[^>]*\bsrc="([^"]*)"/g)].map((m) => m[1]!);
}

function decodeDataUri(uri: string): ReturnType<typeof decode> {
  const prefix = 'data:image/png;base64,';
  assert.ok(uri.startsWith(prefix), uri.slice(0, 40));
  return decode(Buffer.from(uri.slice(prefix.length), 'base64'));
}

test('the page references nothing outside itself: 27 data: PNGs, the chart’s own clip paths, no script, no http(s) anywhere', () => {
  const refs = references(page);
  const images = refs.filter((r) => r.startsWith('data:image/png;base64,'));
  assert.equal(images.length, 27, 'three images per gallery example');
  for (const ref of refs.filter((r) => !images.includes(r))) {
    assert.match(ref, /^#[\w-]+$/, 'only same-page fragments besides the images');
    assert.ok(page.includes(`id="${ref.slice(1)}"`), `${ref} points into the page`);
  }
  assert.doesNotMatch(page, /https?:\/\//);
  assert.doesNotMatch(page, /<script|<link|<iframe|@import/i);
  assert.match(page, /http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"/);
});

test('one accuracy row per ε plus the clean row, each with its percentage', () => {
  const report = sampleReport();
  const table = /<table class="data" id="accuracy-table">([\s\S]*?)<\/table>/.exec(page)![1]!;
  assert.equal([...table.matchAll(/<tr[ >]/g)].length, 1 + 1 + report.robust_accuracy.length, 'header, clean, one per ε');
  assert.match(table, /0 \(clean\)<\/td><td class="num">99\.6%/);
  for (const p of report.robust_accuracy) {
    const row = new RegExp(`<tr data-eps="${p.eps}"><td>${p.eps}</td><td class="num"><span class="bar"[^>]*></span>${(p.accuracy * 100).toFixed(1)}%`);
    assert.match(table, row);
  }
  const attacks = /<table class="data" id="attacks-table">([\s\S]*?)<\/table>/.exec(page)![1]!;
  assert.equal([...attacks.matchAll(/<tr[ >]/g)].length, 1 + report.attacks.length);
  assert.equal([...attacks.matchAll(/<tr class="group-start">/g)].length, 2, 'a line between attacks');
  assert.match(
    attacks,
    /<td><code>apgd-ce<\/code><\/td><td class="num">0\.1<\/td><td class="num">69\.1%<\/td><td class="num">0\.1<\/td><td class="num">18,898<\/td><td class="num">101<\/td><td class="num">[\d.]+ s<\/td>/,
  );
});

test('every masking check is listed; failed ones come first, in a prominent alert, with their advice', () => {
  const report = sampleReport();
  for (const c of report.masking_checks) assert.ok(page.includes(`data-check="${c.name}"`), c.name);
  assert.equal([...page.matchAll(/✓ passed/g)].length, report.masking_checks.length);
  assert.doesNotMatch(page, /masking-alert/);

  report.masking_checks[3] = { ...report.masking_checks[3]!, passed: false, detail: 'loss rose on 12.0% of examples', advice: 'more steps, or EOT' };
  const failing = render(report);
  assert.match(failing, /<section id="masking-alert" class="alert alert-bad" role="alert">/);
  assert.match(failing, /<strong>Loss not increasing<\/strong> — loss rose on 12\.0% of examples<br ?\/?><span class="advice">Try: more steps, or EOT<\/span>/);
  const rows = [...failing.matchAll(/data-check="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(rows[0], report.masking_checks[3]!.name);
  assert.equal(rows.length, report.masking_checks.length);
  assert.match(failing, /<p class="stat-value">1 failed<\/p><p class="stat-note">5 of 6 passed/);
});

test('text from the report is escaped everywhere, the chart included', () => {
  const evil = '<img src=x onerror="alert(1)">&\'';
  const report = sampleReport();
  report.model.path = `/models/${evil}.onnx`;
  report.attacks = report.attacks.map((a) => (a.name === 'pgd' ? { ...a, name: evil } : a));
  report.gallery[0]!.attack = evil;
  report.masking_checks[0] = { name: evil, passed: false, detail: evil, advice: evil };
  report.warnings = [{ code: evil, message: evil }];
  report.threat_model = { [evil]: evil, nested: { list: [evil, 1] } };
  report.class_names = Array.from({ length: 10 }, (_, k) => `${evil}${k}`);
  report.data = evil;
  report.environment.platform = evil;
  const out = render(report);
  assert.ok(!out.includes('<img src=x'), 'raw markup from the report reached the page');
  assert.ok(!out.includes('onerror="'), 'an attribute from the report reached the page');
  const escaped = '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;';
  // model path (title, h1, table), attack (table ×4, legend, gallery), check (alert, table ×2), warning ×2, threat model ×2, data ×2, platform, class names.
  assert.ok(out.split(escaped).length - 1 >= 20, `escaped text found ${out.split(escaped).length - 1} times`);
  assert.match(
    out,
    /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;&amp;&quot;<\/text>|&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;&amp;&#39;<\/text>/,
    'the chart legend is escaped',
  );
  for (const ref of references(out)) assert.match(ref, /^(data:image\/png;base64,|#echarts-c\d+$)/);
});

test('gallery images are the real digits, enlarged ×4 with nearest neighbour, with labels and confidences', () => {
  const report = sampleReport();
  const x = readNpy(join(REPOSITORY_ROOT, 'test', 'fixtures', 'reference', 'inputs', 'x.npy'));
  const pixels = toFloat32(x);
  const sources = imageSources(page);
  assert.equal(sources.length, 3 * report.gallery.length);
  report.gallery.forEach((item, k) => {
    const row = pixels.subarray(item.index * 784, (item.index + 1) * 784);
    for (let p = 0; p < 784; p++) assert.equal(Math.fround(item.clean[p]!), row[p], `fixture pixel ${p} of example ${item.index}`);
    const clean = decodeDataUri(sources[3 * k]!);
    assert.deepEqual([clean.width, clean.height, clean.channels], [112, 112, 1]);
    for (const [r, c] of [
      [0, 0],
      [14, 14],
      [20, 9],
      [27, 27],
    ] as const) {
      const expected = Math.round(row[r * 28 + c]! * 255);
      for (const [dr, dc] of [
        [0, 0],
        [3, 3],
        [1, 2],
      ] as const)
        assert.equal(clean.data[(4 * r + dr) * 112 + 4 * c + dc], expected);
    }
    const difference = decodeDataUri(sources[3 * k + 2]!);
    assert.equal(difference.channels, 3, 'a one-channel difference is drawn in colour');
  });
  const first = report.gallery[0]!;
  assert.match(page, new RegExp(`#0 · true class <strong>7</strong></span><span class="badge badge-bad">7 → ${first.adversarial_prediction}</span>`));
  assert.ok(page.includes(`${first.adversarial_prediction} · ${(first.adversarial_confidence * 100).toFixed(1)}%`));
  assert.equal(
    [...page.matchAll(/<span class="badge badge-good">held<\/span>/g)].length,
    report.gallery.filter((g) => g.adversarial_prediction === g.label).length,
  );
});

test('a 3-channel image: RGB PNGs, the difference scaled so the largest change spans the full range', () => {
  const [c, h, w] = [3, 8, 10];
  const clean = Array.from({ length: c * h * w }, (_, i) => ((i * 37) % 101) / 100);
  const adversarial = clean.map((v, i) => Math.min(1, Math.max(0, v + (i % 3 === 0 ? 0.03 : i % 3 === 1 ? -0.03 : 0))));
  const item: GalleryItem = {
    index: 0,
    eps: 0.03,
    attack: 'pgd',
    label: 1,
    clean_prediction: 1,
    clean_confidence: 0.9,
    adversarial_prediction: 2,
    adversarial_confidence: 0.8,
    shape: [c, h, w],
    clean,
    adversarial,
  };
  const images = galleryImages(item);
  const scale = upscaleFactor(h, w);
  assert.equal(scale, 12);
  const png = decodeDataUri(images.clean);
  assert.deepEqual([png.width, png.height, png.channels], [w * scale, h * scale, 3]);
  // Pixel (y=2, x=5), channel 1 is value [1, 2, 5] in CHW order.
  assert.equal(png.data[((2 * scale + 7) * w * scale + 5 * scale + 11) * 3 + 1], Math.round(clean[1 * h * w + 2 * w + 5]! * 255));
  const difference = decodeDataUri(images.difference).data;
  assert.equal(Math.max(...difference), 255);
  assert.equal(Math.min(...difference), 0);
  assert.ok(Math.abs(images.amplification - 1 / 0.03) < 1e-6);

  const report: Report = { ...sampleReport(), gallery: [item] };
  const out = render(report);
  assert.match(out, /difference ×33/);
  assert.match(out, /\(grey: unchanged\)/);
});

test('pixels outside [0, 1] are mapped from the report’s bounds', () => {
  const item: GalleryItem = {
    index: 0,
    eps: 8,
    attack: 'pgd',
    label: 0,
    clean_prediction: 0,
    clean_confidence: 1,
    adversarial_prediction: 0,
    adversarial_confidence: 1,
    shape: [1, 1, 2],
    clean: [0, 255],
    adversarial: [8, 247],
  };
  const clean = decodeDataUri(galleryImages(item, [0, 255]).clean);
  assert.equal(clean.data[0], 0);
  assert.equal(clean.data[clean.width - 1], 255);
  assert.equal(galleryImages(item, [0, 255]).maxChange, 8);
});

test('rendering is pure: the same report gives the same bytes', () => {
  assert.ok(renderReportHtml(sampleReport()) === renderReportHtml(sampleReport()), 'two renderings differ');
});

test('an invalid report is refused with the field named', () => {
  const report = sampleReport();
  report.gallery[1]!.clean = report.gallery[1]!.clean.slice(1);
  assert.throws(
    () => renderReportHtml(report),
    (e: unknown) => e instanceof GibbonError && /gallery\[1\]\.clean: has 783 pixels; shape \[1, 28, 28\] needs 784/.test(e.message),
  );
});

test('black-box attacks with per-example queries get a success-versus-queries chart with its own ids', () => {
  const report = sampleReport();
  const withQueries: Report = {
    ...report,
    attacks: [
      ...report.attacks,
      {
        name: 'square',
        eps: 0.3,
        accuracy: 0.02,
        mean_norm: 0.3,
        queries: 900,
        steps: 40,
        seconds: 1,
        attacked: 10,
        queries_to_success: [1, 3, 3, 12, 40, 250],
      },
    ],
  };
  const markup = render(withQueries);
  assert.doesNotMatch(page, /id="query-chart"/, 'no chart without query data');
  const section = /<section id="queries" class="card chart-card">([\s\S]*?)<\/section>/.exec(markup)![1]!;
  assert.match(section, /success rate versus queries/);
  assert.match(section, /<svg[^>]*aria-labelledby="query-chart-title"/);
  assert.match(section, /square ε=0\.3/);
  // Every id on the page is unique, so each chart's clip paths stay its own.
  const ids = [...markup.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(new Set(ids).size, ids.length, `duplicate ids: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(', ')}`);
  for (const ref of references(markup).filter((r) => r.startsWith('#'))) assert.ok(ids.includes(ref.slice(1)), `${ref} points into the page`);
});
