/**
 * The shell of every gibbon HTML page (report.html, the detection report, certification.html):
 * doctype, charset, viewport, a Content-Security-Policy that forbids fetching anything (data:
 * images only where the page has them), the generator, the title and the inline style sheet. The
 * pages differ in their body and styles only.
 */
import { html, trustedHtml, type SafeHtml } from './safe-html.js';

export interface PageHead {
  readonly title: string;
  readonly styles: string;
  /** The gibbon version that wrote the page, as a generator meta tag (omitted when not given). */
  readonly gibbonVersion?: string;
  /** Whether the page shows data: images; the Content-Security-Policy allows them only then. */
  readonly dataImages?: boolean;
}

/** One self-contained HTML document around `body`. */
export function htmlPage(head: PageHead, body: SafeHtml): SafeHtml {
  const policy = `default-src 'none';${head.dataImages ? ' img-src data:;' : ''} style-src 'unsafe-inline'`;
  const generator = head.gibbonVersion === undefined ? '' : html` <meta name="generator" content="gibbon ${head.gibbonVersion}" />`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="Content-Security-Policy" content="${trustedHtml(policy)}" />
        ${generator}
        <title>${head.title}</title>
        <style>
          ${trustedHtml(head.styles)}
        </style>
      </head>
      <body>
        ${body}
      </body>
    </html> `;
}
