/** report.html's gallery: per example the clean input, the adversarial one and their amplified difference, with classes and confidences. */
import { formatEps, formatNumber, formatPercent } from './format.js';
import { galleryImages } from './images.js';
import { html, type SafeHtml } from './safe-html.js';
import type { GalleryItem, Report } from './schema.js';

export function gallerySection(report: Report, normLabel: string): SafeHtml {
  if (report.gallery.length === 0) return html``;
  const bounds = report.bounds ?? [0, 1];
  const cards = report.gallery.map((item) => exampleCard(item, report, bounds, normLabel));
  return html`<section id="gallery" class="card">
    <h2>Adversarial examples</h2>
    <p class="lead">
      Each example: the clean input, the attack's adversarial input inside the ε-ball, and their difference amplified so that the largest change uses the full
      range${report.gallery.some((g) => g.shape[0] === 1) ? ' (red: brighter, blue: darker, white: unchanged)' : ' (grey: unchanged)'}. Labels show the
      predicted class and its confidence.
    </p>
    <div class="gallery">${cards}</div>
  </section>`;
}

function exampleCard(item: GalleryItem, report: Report, bounds: readonly [number, number], normLabel: string): SafeHtml {
  const images = galleryImages(item, bounds);
  const name = (k: number): string => report.class_names?.[k] ?? String(k);
  const fooled = item.adversarial_prediction !== item.label;
  const change = perturbationSize(item, normLabel);
  const image = (src: string, alt: string): SafeHtml => html`<img src="${src}" width="${images.width}" height="${images.height}" alt="${alt}" />`;
  return html`<figure class="example ${fooled ? 'example-fooled' : 'example-held'}" style="--image-width:${images.width}px">
    <figcaption class="example-head">
      <span>#${item.index} · true class <strong>${name(item.label)}</strong></span
      ><span class="badge ${fooled ? 'badge-bad' : 'badge-good'}">${fooled ? `${name(item.label)} → ${name(item.adversarial_prediction)}` : 'held'}</span>
    </figcaption>
    <div class="triptych">
      <div class="panel">
        ${image(images.clean, `clean input, true class ${name(item.label)}`)}<span class="panel-title">clean</span
        ><span class="prediction ${item.clean_prediction === item.label ? '' : 'wrong'}"
          >${name(item.clean_prediction)} · ${formatPercent(item.clean_confidence)}</span
        >
      </div>
      <div class="panel">
        ${image(images.adversarial, `adversarial input, predicted ${name(item.adversarial_prediction)}`)}<span class="panel-title">adversarial</span
        ><span class="prediction ${fooled ? 'wrong' : ''}">${name(item.adversarial_prediction)} · ${formatPercent(item.adversarial_confidence)}</span>
      </div>
      <div class="panel">
        ${image(images.difference, 'amplified difference')}<span class="panel-title">difference ×${formatNumber(images.amplification, 2)}</span
        ><span class="prediction muted">${change}</span>
      </div>
    </div>
    <p class="example-foot"><code>${item.attack}</code> · ε = ${formatEps(item.eps)}</p>
  </figure>`;
}

function perturbationSize(item: GalleryItem, normLabel: string): string {
  let linf = 0;
  let squares = 0;
  for (let i = 0; i < item.clean.length; i++) {
    const d = item.adversarial[i]! - item.clean[i]!;
    linf = Math.max(linf, Math.abs(d));
    squares += d * d;
  }
  return normLabel === 'L2' ? `‖δ‖₂ = ${formatNumber(Math.sqrt(squares))}` : `‖δ‖∞ = ${formatNumber(linf)}`;
}
