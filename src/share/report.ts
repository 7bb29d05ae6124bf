/**
 * The review report (pure): one self-contained HTML page — inline CSS, pictures as data: URLs, no script and no
 * address outside the file — laid out to print to A4. Every string from the user (finding texts, file and model
 * names) is escaped, so a note reads as text whatever it contains.
 */
import type { Box } from '../analysis/boxes';
import type { Metric, ResultsDocument } from '../evaluate/results';
import { METRIC_NAMES, summaryText } from '../evaluate/table';
import type { FindingScope } from './findings';

export interface ReportModel {
  id: string;
  name: string;
  role: 'teacher' | 'student';
  task: string;
  /** Size of the .onnx file; null when unknown. */
  bytes: number | null;
}

/** One agreement number as the view shows it, and what it measures. */
export interface ReportNumber {
  text: string;
  /** null: no number (the tasks differ). */
  metric: Metric | null;
}

export interface ReportSection {
  title: string;
  /** The finding's note; null for the section of the current view. */
  text: string | null;
  scope: FindingScope | null;
  /** ISO 8601 time the finding was pinned. */
  created: string | null;
  image: { name: string; width: number; height: number };
  /** The part of the image the finding is about (image pixels); null: all of it. */
  region: Box | null;
  models: string[];
  /** The view's settings in words (threshold, opacity). */
  settings: string;
  /** The panes side by side as a PNG data: URL; null when it could not be made (`problem` says why). */
  viewPng: string | null;
  numbers: ReportNumber[];
  problem?: string;
}

export interface ReportInput {
  /** ISO 8601 time the report was made. */
  created: string;
  appVersion: string;
  models: ReportModel[];
  /** The Evaluate mode's results, when there are some, and the file they were read from. */
  results: { doc: ResultsDocument; source: string | null } | null;
  sections: ReportSection[];
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in HTML content and in quoted attribute values. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** A PNG or JPEG data: URL (base64): the only picture source the report embeds. */
const DATA_IMAGE = /^data:image\/(?:png|jpeg);base64,[A-Za-z0-9+/]+={0,2}$/;
export const isDataImage = (url: string): boolean => DATA_IMAGE.test(url);

/** How each number is computed, worded as src/app/agreement.ts and the Evaluate mode compute it. */
export const METRIC_HOW: Record<Metric, string> = {
  mask_miou:
    'mask mIoU: both class maps are read on the same pixels (at model resolution when both models saw the image in the same frame, else on a grid of image points); per class, the pixels both call it over the pixels either calls it; the mean over the classes present in either map. Pixels without a class (NaN logits) are not compared.',
  pixel_agreement: 'pixel agreement: the share of the compared pixels where both maps give the same class.',
  box_f1:
    "box F1 @ IoU 0.5: each model's boxes above its threshold, matched greedily by score to the reference's boxes of the same class with IoU ≥ 0.5; precision = matched / this model's boxes, recall = matched / the reference's boxes, F1 = their harmonic mean.",
  box_ap: 'COCO box AP @ IoU .50:.95: pycocotools’ COCOeval ported line for line, all images pooled (no interval).',
  box_ap50: 'COCO box AP @ IoU .50: pycocotools’ COCOeval ported line for line, all images pooled (no interval).',
};

/** The "how computed" lines of one number (a mask row's text also carries its pixel agreement). */
export function howComputed(metric: Metric | null): string[] {
  if (metric === null) return ['no number: the two models have different tasks, so their outputs are not compared.'];
  return metric === 'mask_miou' ? [METRIC_HOW.mask_miou, METRIC_HOW.pixel_agreement] : [METRIC_HOW[metric]];
}

const sizeText = (bytes: number | null) =>
  bytes === null ? '–' : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(2)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;

/** "2025-03-04 10:15 UTC" from an ISO time (the text itself when it is not one). */
export function dateText(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}

const STYLE = `
@page { size: A4 portrait; margin: 16mm 14mm; }
* { box-sizing: border-box; }
html { background: #fff; color: #0f172a; }
body { margin: 0 auto; max-width: 190mm; padding: 8mm 0; font: 10.5pt/1.45 system-ui, "DejaVu Sans", Arial, sans-serif; }
h1 { font-size: 18pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 0 0 2mm; }
.meta { color: #475569; font-size: 9pt; margin: 0 0 2mm; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 2mm 0; }
th, td { border-top: 1px solid #cbd5e1; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { color: #475569; font-weight: 600; }
td.id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; white-space: nowrap; }
section { margin: 0 0 7mm; }
section.finding { break-inside: avoid; page-break-inside: avoid; border-top: 2px solid #0f172a; padding-top: 3mm; }
.note { font-size: 11.5pt; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 2mm; }
figure { margin: 2mm 0; }
figure img { display: block; max-width: 100%; max-height: 150mm; height: auto; border: 1px solid #cbd5e1; }
ul.numbers { margin: 1mm 0; padding-left: 5mm; }
ul.numbers li { margin-bottom: 1.5mm; }
.how { color: #475569; font-size: 8.5pt; display: block; }
.problem { color: #b91c1c; }
@media print { html, body { background: #fff !important; color: #000; } a { color: inherit; } }
`;

function modelsTable(models: ReportModel[]): string {
  if (!models.length) return '<p class="meta">No model was loaded.</p>';
  const rows = models
    .map(
      (m) =>
        `<tr><td class="id">${escapeHtml(m.id)}</td><td>${escapeHtml(m.name)}</td><td>${escapeHtml(m.role)}</td><td>${escapeHtml(m.task)}</td><td>${sizeText(m.bytes)}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>id</th><th>name</th><th>role</th><th>task</th><th>size (.onnx)</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

function summarySection(results: NonNullable<ReportInput['results']>): string {
  const { doc, source } = results;
  const rows = doc.summary
    .map((s) => {
      const metric = METRIC_NAMES[s.metric] ?? s.metric;
      const interval = s.ci ? `${pct(s.ci[0])} – ${pct(s.ci[1])}` : '–';
      return `<tr data-metric="${escapeHtml(s.metric)}"><td class="id">${escapeHtml(s.model)}</td><td>${escapeHtml(s.against)}</td><td>${escapeHtml(metric)}</td><td>${escapeHtml(summaryText(s))}</td><td>${s.mean === null ? '–' : pct(s.mean)}</td><td>${interval}</td><td>${s.n}</td><td><span class="how">${escapeHtml(METRIC_HOW[s.metric] ?? metric)}</span></td></tr>`;
    })
    .join('');
  const from = source ? ` (read from ${escapeHtml(source)})` : '';
  return `<section class="summary" data-testid="report-summary"><h2>Data-set summary</h2>
<p class="meta">${doc.images.length} image${doc.images.length === 1 ? '' : 's'}${from}; reference ${escapeHtml(doc.reference)}. Each value is the mean over the images with a number (an image where neither side has anything is not counted), with a 95 % bootstrap interval over images (${doc.settings.bootstrap.resamples} resamples).</p>
<table><thead><tr><th>model</th><th>against</th><th>metric</th><th>value</th><th>mean</th><th>95 % interval</th><th>n</th><th>how computed</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

const regionText = (r: Box) =>
  `region x ${Math.round(r.x0)}–${Math.round(r.x1)}, y ${Math.round(r.y0)}–${Math.round(r.y1)} px`;

function sectionHtml(s: ReportSection, index: number): string {
  const facts = [
    `image ${escapeHtml(s.image.name)} (${s.image.width}×${s.image.height})`,
    s.scope ? `about the ${escapeHtml(s.scope)}` : '',
    s.region ? regionText(s.region) : '',
    s.created ? `pinned ${escapeHtml(dateText(s.created))}` : '',
    `models ${s.models.map(escapeHtml).join(' | ')}`,
    escapeHtml(s.settings),
  ].filter(Boolean);
  const picture =
    s.viewPng && isDataImage(s.viewPng)
      ? `<figure><img src="${s.viewPng}" alt="${escapeHtml(`${s.models.join(' | ')} on ${s.image.name}`)}"></figure>`
      : '';
  const numbers = s.numbers.length
    ? `<ul class="numbers">${s.numbers
        .map(
          (n) =>
            `<li>${escapeHtml(n.text)}${howComputed(n.metric)
              .map((h) => `<span class="how">${escapeHtml(h)}</span>`)
              .join('')}</li>`,
        )
        .join('')}</ul>`
    : '<p class="meta">No agreement number: fewer than two models drew on this image.</p>';
  return `<section class="finding" data-section="${index}"><h2>${escapeHtml(s.title)}</h2>
${s.text === null ? '' : `<p class="note">${escapeHtml(s.text)}</p>`}
<p class="meta">${facts.join(' · ')}</p>
${s.problem ? `<p class="problem">${escapeHtml(s.problem)}</p>` : ''}${picture}
<h3 class="meta">Key numbers</h3>${numbers}</section>`;
}

export function reportHtml(input: ReportInput): string {
  const title = `AttnLens review report, ${dateText(input.created)}`;
  // The page's own policy: nothing it could contain may load or run anything.
  const policy = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head>
<body>
<header><h1>AttnLens review report</h1>
<p class="meta">${escapeHtml(dateText(input.created))} · AttnLens ${escapeHtml(input.appVersion)} · ${input.sections.length} section${input.sections.length === 1 ? '' : 's'}</p></header>
<section class="models"><h2>Models</h2>${modelsTable(input.models)}</section>
${input.results ? summarySection(input.results) : ''}
${input.sections.map(sectionHtml).join('\n')}
</body></html>
`;
}
