/** report.html's reference tables: the threat model (every field, nested ones flattened), the model, and the run and its environment. */
import { formatCount, formatCreated, formatSeconds, humanise } from './format.js';
import { html, type SafeHtml } from './safe-html.js';
import type { Report } from './schema.js';

export function threatModelTable(threatModel: Record<string, unknown>): SafeHtml {
  const rows = flatten(threatModel, []);
  if (rows.length === 0) return html`<p class="empty">The report holds no threat model.</p>`;
  return html`<table class="kv" id="threat-model-table">
    <tbody>
      ${rows.map(
        ([path, value]) =>
          html`<tr>
            <th title="${path.join('.')}">${path.map(humanise).join(' › ')}</th>
            <td>${value}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function flatten(value: Record<string, unknown>, prefix: string[]): [string[], SafeHtml][] {
  return Object.entries(value).flatMap(([key, v]): [string[], SafeHtml][] => {
    const path = [...prefix, key];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) return flatten(v as Record<string, unknown>, path);
    return [[path, describeValue(v)]];
  });
}

function describeValue(value: unknown): SafeHtml {
  if (value === null || value === undefined) return html`<span class="muted">none</span>`;
  if (typeof value === 'boolean') return html`${value ? 'yes' : 'no'}`;
  if (typeof value === 'number') return html`${String(value)}`;
  if (typeof value === 'string') return html`${value}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return html`<span class="muted">none</span>`;
    if (value.every((v) => v === null || typeof v !== 'object')) return html`${value.map((v) => String(v)).join(', ')}`;
    return html`${value.map((v) => html`<code class="block">${JSON.stringify(v)}</code>`)}`;
  }
  return html`<code>${JSON.stringify(value)}</code>`;
}

export function modelTable(report: Report): SafeHtml {
  const m = report.model;
  const rows: [string, SafeHtml][] = [
    ['path', html`<code>${m.path}</code>`],
    ['sha256', html`<code class="hash">${m.sha256}</code>`],
    ['input shape', html`${m.input_shape.map((d) => (d === null ? 'N' : String(d))).join(' × ')}`],
    [
      'classes',
      html`${m.num_classes}${report.class_names ? html` <span class="muted">(${report.class_names.slice(0, 4).join(', ')}${report.class_names.length > 4 ? ' …' : ''})</span>` : ''}`,
    ],
    ['output', html`${m.outputs_probabilities ? 'probabilities (final Softmax; gradients use the logits before it)' : 'logits'}`],
    [
      'non-differentiable ops',
      m.non_differentiable_ops.length === 0
        ? html`<span class="muted">none on the gradient path</span>`
        : html`<span class="warn-text">${m.non_differentiable_ops.map((o) => `${o.node} (${o.op_type})`).join(', ')}</span>`,
    ],
  ];
  return keyValueTable(rows, 'model-table');
}

export function runTable(report: Report): SafeHtml {
  const e = report.environment;
  const rows: [string, SafeHtml][] = [
    ['finished', html`${formatCreated(report.created)}`],
    ['run time', html`${formatSeconds(report.seconds)}`],
    ['data', html`${report.data} · ${formatCount(report.n)} examples`],
    ['seed', html`${report.seed}`],
    ['gibbon', html`${report.gibbon_version}`],
    ['Node.js', html`${e.node}`],
    ['onnxruntime', html`${e.onnxruntime}`],
    ['platform', html`${e.platform} · ${e.cpus} CPUs · ${e.threads} thread${e.threads === 1 ? '' : 's'}`],
  ];
  return keyValueTable(rows, 'run-table');
}

function keyValueTable(rows: [string, SafeHtml][], id: string): SafeHtml {
  return html`<table class="kv" id="${id}">
    <tbody>
      ${rows.map(
        ([k, v]) =>
          html`<tr>
            <th>${k}</th>
            <td>${v}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}
