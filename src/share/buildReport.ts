/**
 * Building the review report: each finding's view restored in turn (its link and zoom), waited on until every
 * pane has drawn, pictured and measured; then the user's own view back, whatever happened.
 */

import { useEvaluateStore } from '../evaluate/store';
import { runKey } from '../state/runs';
import { findImage, useStore } from '../state/store';
import { decodeView, type ViewState } from '../state/viewState';
import { type Finding, useFindings } from './findings';
import { type ReportModel, type ReportSection, reportHtml } from './report';
import { canvasPng, captureView, renderView } from './viewExport';

/** How long a view may take to draw: models may have to download and open first (seconds to minutes on WASM). */
export const DRAW_TIMEOUT_MS = 180_000;
/** How long an image the view names may take to appear (the gallery opens at start): then it is not open. */
const IMAGE_TIMEOUT_MS = 10_000;
/** Longest side of a view picture in the report: a 4000 px pair would make a 30 MB page. */
const REPORT_PICTURE_PX = 2400;

type Readiness = { ready: true } | { ready: false; failed?: string; waiting: string; image: boolean };

/** Whether every pane of the view has drawn (each model loaded and run on its image), or what it waits on. */
function readiness(): Readiness {
  const { view, images, slots, runs } = useStore.getState();
  const image = findImage(images, view.image);
  if (!image) {
    const name = view.image && ('sample' in view.image ? view.image.sample : (view.image.name ?? view.image.hash));
    return { ready: false, waiting: name ? `the image ${name} to open` : 'an image', image: false };
  }
  for (const id of view.models) {
    const slot = slots[id];
    if (slot?.status === 'error') return { ready: false, failed: `${id}: ${slot.error}`, waiting: id, image: true };
    if (slot?.status === 'draft')
      return {
        ready: false,
        failed: `${id}: its draft contract is not confirmed yet (open it from its pane)`,
        waiting: id,
        image: true,
      };
    if (slot?.status !== 'ready' || !runs[runKey(id, image.id)])
      return { ready: false, waiting: `${id} to run on ${image.name}`, image: true };
  }
  return { ready: true };
}

/** Resolves when every pane of the view has drawn; rejects naming the model that failed or what never came. */
function viewDrawn(): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let last = readiness();
    const settle = (problem: string | null) => {
      clearInterval(timer);
      unsubscribe();
      if (problem === null) resolve();
      else reject(new Error(problem));
    };
    const check = () => {
      last = readiness();
      if (last.ready) settle(null);
      else if (last.failed) settle(last.failed);
    };
    const timer = setInterval(() => {
      if (last.ready) return;
      const limit = last.image ? DRAW_TIMEOUT_MS : IMAGE_TIMEOUT_MS;
      if (Date.now() - started > limit) settle(`waited ${Math.round(limit / 1000)} s for ${last.waiting}`);
    }, 250);
    const unsubscribe = useStore.subscribe(check);
    check();
  });
}

const pct = (v: number) => `${Math.round(100 * v)} %`;
const settingsText = (v: ViewState) =>
  `score threshold ${v.threshold === null ? "each detector's recommended" : v.threshold.toFixed(2)} · mask opacity ${pct(v.opacity)}`;

/** The canvas scaled down (never up) to at most `side` px on its longer side. */
function atMost(canvas: HTMLCanvasElement, side: number): HTMLCanvasElement {
  const s = side / Math.max(canvas.width, canvas.height);
  if (s >= 1) return canvas;
  const out = document.createElement('canvas');
  out.width = Math.max(1, Math.round(canvas.width * s));
  out.height = Math.max(1, Math.round(canvas.height * s));
  const ctx = out.getContext('2d')!;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(canvas, 0, 0, out.width, out.height);
  return out;
}

const dataUrl = (blob: Blob): Promise<string> =>
  new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result as string);
    reader.onerror = () => reject(reader.error ?? new Error('the picture could not be read back'));
    reader.readAsDataURL(blob);
  });

/** The view as it is now, as a report section (its models noted in `models`). */
async function sectionOfView(
  title: string,
  finding: Finding | null,
  models: Map<string, ReportModel>,
): Promise<ReportSection> {
  const capture = await captureView();
  if (!capture) throw new Error('no image is open');
  for (const p of capture.panes)
    if (!models.has(p.id))
      models.set(p.id, {
        id: p.id,
        name: p.contract.model.name,
        role: p.contract.model.role,
        task: p.contract.model.task,
        bytes: p.bytes,
      });
  const png = await canvasPng(atMost(await renderView(capture), REPORT_PICTURE_PX));
  const { image } = capture;
  return {
    title,
    text: finding?.text ?? null,
    scope: finding?.scope ?? null,
    created: finding?.created ?? null,
    image: { name: image.name, width: image.width, height: image.height },
    region: finding?.region ?? null,
    models: capture.panes.map((p) => p.id),
    settings: settingsText(useStore.getState().view),
    viewPng: await dataUrl(png),
    numbers: capture.rows.map((r) => ({ text: r.text, metric: r.comparison?.metric ?? null })),
  };
}

const quoted = (text: string) => `“${text.length > 40 ? `${text.slice(0, 40)}…` : text}”`;

/**
 * The report page for the findings (or, without any, for the current view). `progress` hears which section is
 * being made. Rejects naming the finding and what failed; the user's view and zoom are put back either way.
 */
export async function buildReport(progress: (done: number, total: number) => void): Promise<string> {
  const { view, zoom, setView, setZoom } = useStore.getState();
  const findings = useFindings.getState().findings;
  const models = new Map<string, ReportModel>();
  const sections: ReportSection[] = [];
  const total = Math.max(1, findings.length);
  try {
    if (!findings.length) {
      progress(0, total);
      await viewDrawn().catch((e: Error) => {
        throw new Error(`the current view did not draw: ${e.message}`);
      });
      sections.push(await sectionOfView('The current view', null, models));
    }
    for (const [i, f] of findings.entries()) {
      progress(i, total);
      try {
        setView(decodeView(f.hash, view).view);
        setZoom(f.zoom);
        await viewDrawn();
        sections.push(await sectionOfView(`Finding ${i + 1}`, f, models));
      } catch (e) {
        throw new Error(`finding ${i + 1} ${quoted(f.text)} on ${f.image.name}: ${(e as Error).message}`);
      }
    }
    progress(total, total);
  } finally {
    // Only what changed is put back (an untouched view keeps its link as the user wrote it).
    if (useStore.getState().view !== view) useStore.getState().setView(view);
    if (useStore.getState().zoom !== zoom) setZoom(zoom);
  }
  const evaluate = useEvaluateStore.getState();
  return reportHtml({
    created: new Date().toISOString(),
    appVersion: __APP_VERSION__,
    models: [...models.values()],
    results: evaluate.doc ? { doc: evaluate.doc, source: evaluate.source } : null,
    sections,
  });
}
