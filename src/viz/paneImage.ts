/**
 * A pane as a picture (PNG export, the report): the image at its analysed resolution with the model's mask or
 * boxes over it, and under it a caption band (model id and name, what is drawn, a legend of the classes
 * present). Layout is pure (text measured by the caller's function); drawing takes a canvas and draws only.
 */
import type { Detection } from '../analysis/boxes';
import { inputFrameInImage } from '../analysis/geometry';
import { NO_CLASS } from '../analysis/segmentation';
import type { ClassMap, TaskResult } from '../app/task';
import type { ContractClass } from '../contract';
import { NO_VALUE_RGB } from './attention';
import { classMapPixels } from './overlay';

type Canvas = HTMLCanvasElement | OffscreenCanvas;
type Context = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** Width of `text` in px at `fontSize` (bold or not): the caller's canvas measures it. */
export type MeasureText = (text: string, fontSize: number, bold: boolean) => number;

export interface LegendEntry {
  label: string;
  color: string;
}

/** Smallest caption type: still legible on a 160 px image (the band then takes a few lines). */
export const MIN_CAPTION_PX = 11;
/** Image pixels per caption pixel of type: the caption keeps the same share of a 4000 px image as of a 640 px one. */
const IMAGE_PX_PER_TYPE_PX = 44;
const MAX_CAPTION_PX = 160;

/** Caption type size for a picture `width` px wide: proportional to it, never below MIN_CAPTION_PX. */
export const captionFontSize = (width: number): number =>
  Math.round(Math.min(MAX_CAPTION_PX, Math.max(MIN_CAPTION_PX, width / IMAGE_PX_PER_TYPE_PX)));

export const CAPTION_FONT = 'system-ui, "DejaVu Sans", Arial, sans-serif';
export const fontOf = (size: number, bold = false) => `${bold ? '600 ' : ''}${size}px ${CAPTION_FONT}`;

/** Cut `text` to fit `maxWidth`, ending in an ellipsis (at least its first character stays). */
function truncate(text: string, maxWidth: number, width: (t: string) => number): string {
  if (width(text) <= maxWidth) return text;
  let n = text.length - 1;
  while (n > 1 && width(`${text.slice(0, n)}…`) > maxWidth) n--;
  return `${text.slice(0, n)}…`;
}

/**
 * Lines of `text` no wider than maxWidth: broken at spaces; a word wider than a line alone is broken between
 * characters (a long file or model name on a 160 px image).
 */
export function wrapText(text: string, maxWidth: number, width: (t: string) => number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const joined = line ? `${line} ${word}` : word;
    if (width(joined) <= maxWidth) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    line = '';
    let rest = word;
    while (width(rest) > maxWidth && rest.length > 1) {
      let n = rest.length - 1;
      while (n > 1 && width(rest.slice(0, n)) > maxWidth) n--;
      lines.push(rest.slice(0, n));
      rest = rest.slice(n);
    }
    line = rest;
  }
  if (line) lines.push(line);
  return lines;
}

export interface TextLine {
  text: string;
  x: number;
  /** Top of the line (textBaseline 'top'). */
  y: number;
  bold: boolean;
}

export interface CaptionLayout {
  fontSize: number;
  height: number;
  lines: TextLine[];
  /** Swatches (a square `swatch` px a side at x, y) and their labels (at textX, y). */
  legend: { label: string; color: string; x: number; y: number; swatch: number; textX: number }[];
}

/**
 * The caption band under a `width` px picture: the title (bold) and detail lines wrapped to the width, then the
 * legend entries flowed left to right in rows (an entry wider than a row alone is cut with an ellipsis).
 */
export function captionLayout(
  width: number,
  title: string,
  detail: string,
  legend: LegendEntry[],
  measure: MeasureText,
): CaptionLayout {
  const fontSize = captionFontSize(width);
  const pad = Math.round(fontSize * 0.6);
  const lineHeight = Math.round(fontSize * 1.35);
  const inner = Math.max(1, width - 2 * pad);
  const lines: TextLine[] = [];
  let y = pad;
  for (const [text, bold] of [
    [title, true],
    [detail, false],
  ] as const)
    for (const t of wrapText(text, inner, (s) => measure(s, fontSize, bold))) {
      lines.push({ text: t, x: pad, y, bold });
      y += lineHeight;
    }
  const swatch = Math.round(fontSize * 0.9);
  const gap = Math.round(fontSize * 0.35);
  const spacing = Math.round(fontSize * 1.1);
  const placed: CaptionLayout['legend'] = [];
  let x = pad;
  let rowUsed = false;
  for (const e of legend) {
    const room = inner - swatch - gap;
    const label = truncate(e.label, room, (s) => measure(s, fontSize, false));
    const w = swatch + gap + measure(label, fontSize, false);
    if (rowUsed && x + w > pad + inner) {
      y += lineHeight;
      x = pad;
    }
    const swatchTop = y + Math.round((lineHeight - swatch) / 2) - Math.round(fontSize * 0.15);
    placed.push({ label, color: e.color, x, y: swatchTop, swatch, textX: x + swatch + gap });
    x += w + spacing;
    rowUsed = true;
  }
  if (rowUsed) y += lineHeight;
  return { fontSize, height: y + pad, lines, legend: placed };
}

/**
 * Model-input cells of a class map whose centre lies on the image (letterbox padding left out), per class id:
 * what the legend lists and the numbers export counts.
 */
export function classCountsOnImage(r: ClassMap, imageWidth: number, imageHeight: number): Map<number, number> {
  // A cell's centre is on the image when its column and its row are (the placement is axis-aligned).
  const p = r.placement;
  const cols = Array.from({ length: r.width }, (_, u) => {
    const x = (u + 0.5 - p.offsetX) / p.scaleX;
    return x >= 0 && x < imageWidth;
  });
  const rows = Array.from({ length: r.height }, (_, v) => {
    const y = (v + 0.5 - p.offsetY) / p.scaleY;
    return y >= 0 && y < imageHeight;
  });
  const counts = new Map<number, number>();
  for (let v = 0; v < r.height; v++) {
    if (!rows[v]) continue;
    for (let u = 0; u < r.width; u++) {
      if (!cols[u]) continue;
      const k = r.classMap[v * r.width + u];
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return counts;
}

const NO_VALUE_COLOR = `rgb(${NO_VALUE_RGB.join(',')})`;

/**
 * The classes a result shows on the image (background left out), in class-id order, with their colours; cells
 * without a class (NaN logits) last. Ids the contract gives no colour are painted in the no-value colour, as
 * the pane paints them.
 */
export function legendEntries(
  result: TaskResult,
  classes: ContractClass[],
  imageWidth: number,
  imageHeight: number,
  backgroundId = 0,
): LegendEntry[] {
  let ids: number[] = [];
  if (result.kind === 'segmentation')
    ids = [...classCountsOnImage(result, imageWidth, imageHeight).keys()].filter((k) => k !== backgroundId);
  else if (result.kind === 'detection') ids = [...new Set(result.detections.map((d) => d.classId))];
  ids.sort((a, b) => a - b);
  return ids.map((k) =>
    k === NO_CLASS
      ? { label: 'no class (NaN logits)', color: NO_VALUE_COLOR }
      : { label: classes[k]?.name ?? `class ${k}`, color: classes[k]?.color ?? NO_VALUE_COLOR },
  );
}

const pct = (v: number) => `${Math.round(100 * v)} %`;

/** What the picture shows, in words (as the pane's status line says it). */
export function paneDetail(result: TaskResult, opacity: number): string {
  if (result.kind === 'segmentation')
    return `mask (argmax at ${result.width}×${result.height}, ${pct(opacity)} opacity)${result.unclassified ? `, ${result.unclassified} cells without a class in magenta` : ''}`;
  if (result.kind === 'detection') {
    const n = result.detections.length;
    const th = `${result.threshold.toFixed(2)}${result.thresholdFrom === 'contract' ? ' (recommended)' : ''}`;
    return n ? `${n} box${n === 1 ? '' : 'es'} with score ≥ ${th}` : `no box with score ≥ ${th}`;
  }
  return `nothing to overlay: ${result.reason}`;
}

export interface PaneImageInput {
  /** The photo at its analysed size (width×height). */
  image: CanvasImageSource;
  width: number;
  height: number;
  model: { id: string; name: string };
  result: TaskResult;
  classes: ContractClass[];
  opacity: number;
}

/** Box label size and outline width for a `width` px image (as overlay.ts drawBoxes sizes them). */
export const boxStyle = (width: number) => ({ fontSize: Math.max(6, width / 30), lineWidth: Math.max(1, width / 200) });

function drawDetections(ctx: Context, detections: Detection[], classes: ContractClass[], width: number): void {
  const { fontSize, lineWidth } = boxStyle(width);
  ctx.lineWidth = lineWidth;
  ctx.font = fontOf(fontSize);
  ctx.textBaseline = 'alphabetic';
  ctx.lineJoin = 'round';
  for (const d of detections) {
    const c = classes[d.classId]?.color ?? '#fff';
    ctx.strokeStyle = c;
    ctx.strokeRect(d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0);
    const label = `${classes[d.classId]?.name ?? d.classId} ${(d.score * 100).toFixed(0)}`;
    // Above the box as in the pane; inside it when the box touches the top edge (the picture has no margin).
    const y = d.y0 - 0.2 * fontSize >= fontSize ? d.y0 - 0.2 * fontSize : d.y0 + fontSize;
    ctx.strokeStyle = 'rgba(0,0,0,0.7)'; // a dark rim keeps the label legible on light and dark pixels
    ctx.lineWidth = Math.max(1, fontSize / 6);
    ctx.strokeText(label, d.x0, y);
    ctx.fillStyle = c;
    ctx.fillText(label, d.x0, y);
    ctx.lineWidth = lineWidth;
  }
}

function measureWith(ctx: Context): MeasureText {
  return (text, size, bold) => {
    ctx.font = fontOf(size, bold);
    return ctx.measureText(text).width;
  };
}

export const CAPTION_BACKGROUND = '#ffffff';
const CAPTION_TEXT = '#0f172a';

/** Paint a caption layout onto ctx with its band's top at `top`. */
function drawCaption(ctx: Context, layout: CaptionLayout, top: number, width: number): void {
  ctx.fillStyle = CAPTION_BACKGROUND;
  ctx.fillRect(0, top, width, layout.height);
  ctx.textBaseline = 'top';
  ctx.fillStyle = CAPTION_TEXT;
  for (const l of layout.lines) {
    ctx.font = fontOf(layout.fontSize, l.bold);
    ctx.fillText(l.text, l.x, top + l.y);
  }
  ctx.font = fontOf(layout.fontSize);
  ctx.lineWidth = Math.max(1, layout.fontSize / 12);
  ctx.strokeStyle = CAPTION_TEXT;
  for (const e of layout.legend) {
    ctx.fillStyle = e.color;
    ctx.fillRect(e.x, top + e.y, e.swatch, e.swatch);
    ctx.strokeRect(e.x, top + e.y, e.swatch, e.swatch);
    ctx.fillStyle = CAPTION_TEXT;
    ctx.fillText(e.label, e.textX, top + e.y + Math.round((e.swatch - layout.fontSize) / 2));
  }
}

/**
 * Draw one pane into `canvas` (resized to width × (height + caption band)): the photo, the mask through the run's
 * placement (nearest neighbour, as the pane shows it) or the boxes with labels, then the caption band.
 * Returns the caption band's height.
 */
export function drawPaneImage(canvas: Canvas, input: PaneImageInput): number {
  const { width, height, result, classes } = input;
  const measureCtx = canvas.getContext('2d') as Context;
  const layout = captionLayout(
    width,
    `${input.model.id} · ${input.model.name}`,
    paneDetail(result, input.opacity),
    legendEntries(result, classes, width, height),
    measureWith(measureCtx),
  );
  canvas.width = width;
  canvas.height = height + layout.height;
  const ctx = canvas.getContext('2d') as Context;
  ctx.drawImage(input.image, 0, 0, width, height);
  ctx.save();
  ctx.beginPath();
  ctx.rect(0, 0, width, height);
  ctx.clip(); // letterbox padding of a mask reaches outside the image: the band stays clean
  if (result.kind === 'segmentation') {
    const mask = new OffscreenCanvas(result.width, result.height);
    const pixels = classMapPixels(result.classMap, classes, input.opacity);
    (mask.getContext('2d') as OffscreenCanvasRenderingContext2D).putImageData(
      new ImageData(pixels, result.width, result.height),
      0,
      0,
    );
    const f = inputFrameInImage(result.placement);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(mask, f.x, f.y, f.width, f.height);
    ctx.imageSmoothingEnabled = true;
  } else if (result.kind === 'detection') drawDetections(ctx, result.detections, classes, width);
  ctx.restore();
  drawCaption(ctx, layout, height, width);
  return layout.height;
}

export interface ViewLayout {
  width: number;
  height: number;
  fontSize: number;
  panes: { x: number; y: number }[];
  lines: TextLine[];
}

/**
 * Panes side by side (top-aligned, a gap between) and the notes (the agreement texts) wrapped under them, one
 * paragraph a note, at the panes' caption size.
 */
export function viewLayout(
  panes: { width: number; height: number }[],
  notes: string[],
  imageWidth: number,
  measure: MeasureText,
): ViewLayout {
  const fontSize = captionFontSize(imageWidth);
  const gap = Math.round(fontSize * 0.8);
  const pad = Math.round(fontSize * 0.6);
  let x = 0;
  const placed = panes.map((p) => {
    const at = { x, y: 0 };
    x += p.width + gap;
    return at;
  });
  const width = Math.max(1, x - gap);
  let y = Math.max(0, ...panes.map((p) => p.height)) + (notes.length ? pad : 0);
  const lineHeight = Math.round(fontSize * 1.35);
  const lines: TextLine[] = [];
  for (const note of notes) {
    for (const t of wrapText(note, Math.max(1, width - 2 * pad), (s) => measure(s, fontSize, false))) {
      lines.push({ text: t, x: pad, y, bold: false });
      y += lineHeight;
    }
    y += Math.round(fontSize * 0.3);
  }
  return { width, height: Math.max(1, y + (notes.length ? pad : 0)), fontSize, panes: placed, lines };
}

/** Draw pane pictures side by side with the notes under them into `canvas` (resized to fit), on white. */
export function drawViewImage(
  canvas: Canvas,
  panes: { image: CanvasImageSource; width: number; height: number }[],
  notes: string[],
  imageWidth: number,
): void {
  const layout = viewLayout(panes, notes, imageWidth, measureWith(canvas.getContext('2d') as Context));
  canvas.width = layout.width;
  canvas.height = layout.height;
  const ctx = canvas.getContext('2d') as Context;
  ctx.fillStyle = CAPTION_BACKGROUND;
  ctx.fillRect(0, 0, layout.width, layout.height);
  panes.forEach((p, i) => void ctx.drawImage(p.image, layout.panes[i].x, layout.panes[i].y, p.width, p.height));
  ctx.textBaseline = 'top';
  ctx.fillStyle = CAPTION_TEXT;
  ctx.font = fontOf(layout.fontSize);
  for (const l of layout.lines) ctx.fillText(l.text, l.x, l.y);
}
