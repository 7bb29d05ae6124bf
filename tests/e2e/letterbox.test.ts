/**
 * Letterbox end to end: the letterboxed test variants of detr-teacher and seg-student-attnfd, on the user's own
 * non-square images (dropped on the file input). Boxes, the mask, the attention overlays and ground truth must land
 * on the image pixels where native onnxruntime's outputs, mapped by hand, put them
 * (tests/fixtures/letterbox/reference.json, written by ml/scripts/letterbox_reference.py). Each check also asserts
 * that a stretch mapping of the same numbers would have failed it, so a placement bug cannot pass unnoticed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { color } from 'd3-color';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { boxMaskOnGrid } from '../../src/analysis/attention';
import { type Contract, loadContract } from '../../src/contract';
import { root, serveApp } from './browser';

const app = serveApp();
const DET = 'detr-teacher-letterbox';
const SEG = 'seg-student-attnfd-letterbox';
const FIXTURES = join(root, 'tests/fixtures/letterbox');

interface Placement {
  inputWidth: number;
  inputHeight: number;
  offsetX: number;
  offsetY: number;
  scaleX: number;
  scaleY: number;
}
interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
interface RefDetection {
  query: number;
  class_id: number;
  score: number;
  borderline: boolean;
  box_input_xyxy: [number, number, number, number];
  box_image_xyxy: [number, number, number, number];
}
interface RefCase {
  image: string;
  width: number;
  height: number;
  placement: Placement;
  input_exact: boolean;
  detector: { model: string; score_threshold: number; detections: RefDetection[]; near_threshold?: RefDetection[] };
  segmenter: {
    model: string;
    class_map: { width: number; height: number; data: string };
    points: { x: number; y: number; u: number; v: number; class_id: number }[];
  };
}
interface PageDetection extends Box {
  query: number;
  classId: number;
  score: number;
  screen: Box;
}

const reference = JSON.parse(readFileSync(join(FIXTURES, 'reference.json'), 'utf8')) as { cases: RefCase[] };
const classesOf = (file: string) =>
  (loadContract(new Uint8Array(readFileSync(join(root, 'public/models/variants', file)))) as { contract: Contract })
    .contract.classes;
const detClasses = classesOf(`${DET}.onnx`);
const segColours = classesOf(`${SEG}.onnx`).map((c) => {
  const rgb = color(c.color)!.rgb();
  return [rgb.r, rgb.g, rgb.b];
});

/* ---------- geometry by hand (not the app's geometry.ts) ---------- */

/** What a stretch resize of the same image would have used: the wrong mapping each check must be able to catch. */
const stretchOf = (c: RefCase): Placement => ({
  ...c.placement,
  offsetX: 0,
  offsetY: 0,
  scaleX: c.placement.inputWidth / c.width,
  scaleY: c.placement.inputHeight / c.height,
});
const boxToInput = (p: Placement, b: Box): Box => ({
  x0: b.x0 * p.scaleX + p.offsetX,
  y0: b.y0 * p.scaleY + p.offsetY,
  x1: b.x1 * p.scaleX + p.offsetX,
  y1: b.y1 * p.scaleY + p.offsetY,
});
const boxToImage = (p: Placement, b: Box): Box => ({
  x0: (b.x0 - p.offsetX) / p.scaleX,
  y0: (b.y0 - p.offsetY) / p.scaleY,
  x1: (b.x1 - p.offsetX) / p.scaleX,
  y1: (b.y1 - p.offsetY) / p.scaleY,
});
const xyxy = ([x0, y0, x1, y1]: readonly number[]): Box => ({ x0, y0, x1, y1 });

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter);
}

/** The placement a drawn frame implies: the image's place inside the model input, in input px. */
function placementOfFrame(f: Box, p: Placement): Omit<Placement, 'inputWidth' | 'inputHeight'> {
  const scaleX = p.inputWidth / (f.x1 - f.x0);
  const scaleY = p.inputHeight / (f.y1 - f.y0);
  return { scaleX, scaleY, offsetX: -f.x0 * scaleX, offsetY: -f.y0 * scaleY };
}

/** A measured placement equals the reference (0.1 input px, 0.5 % scale), and a stretch one would not have. */
function expectPlacement(measured: Omit<Placement, 'inputWidth' | 'inputHeight'>, c: RefCase, what: string) {
  const want = c.placement;
  const off = (m: typeof measured, p: Placement) =>
    Math.max(
      Math.abs(m.offsetX - p.offsetX),
      Math.abs(m.offsetY - p.offsetY),
      Math.abs(m.scaleX / p.scaleX - 1) * p.inputWidth,
      Math.abs(m.scaleY / p.scaleY - 1) * p.inputHeight,
    );
  expect(off(measured, want), `${what}: ${JSON.stringify(measured)} vs ${JSON.stringify(want)}`).toBeLessThan(0.1);
  expect(off(measured, stretchOf(c)), `${what} would also pass for stretch`).toBeGreaterThan(5);
}

/* ---------- reading the page ---------- */

async function open(c: RefCase): Promise<Page> {
  const page = await app.browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`${app.url}#m=${DET},${SEG}&b=wasm`);
  await page
    .getByTestId('file-input')
    .setInputFiles({ name: c.image, mimeType: 'image/png', buffer: readFileSync(join(FIXTURES, c.image)) });
  const current = page.getByTestId('current-image');
  await expect
    .poll(() => current.innerText(), { timeout: 60_000 })
    .toMatch(new RegExp(`^${c.image.replace(/\./g, '\\.')} · ${c.width}×${c.height} · your image \\(id [0-9a-f]{16}`));
  const id = (await current.innerText()).match(/id ([0-9a-f]{16})/)![1];
  for (const m of [DET, SEG])
    await page.locator(`[data-testid=pane-${m}][data-state=drawn][data-image="${id}"]`).waitFor({ timeout: 120_000 });
  return page;
}

/** An element's box over a photo of the image, in image pixels (the element may reach past the clipped photo). */
async function onImage(photo: Locator, el: Locator, c: RefCase): Promise<Box> {
  const p = (await photo.boundingBox())!;
  const e = (await el.boundingBox())!;
  const x = (v: number) => ((v - p.x) / p.width) * c.width;
  const y = (v: number) => ((v - p.y) / p.height) * c.height;
  return { x0: x(e.x), y0: y(e.y), x1: x(e.x + e.width), y1: y(e.y + e.height) };
}

async function pixels(canvas: Locator): Promise<{ w: number; h: number; px: number[] }> {
  return canvas.evaluate((el) => {
    const cv = el as HTMLCanvasElement;
    const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
    return { w: cv.width, h: cv.height, px: Array.from(d) };
  });
}

/** React's passive effects (canvas drawing) run within a frame or two of the commit that showed the text. */
const settle = (page: Page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(null)))));

/** The class a mask pixel shows: transparent is background, else the nearest class colour. */
function classOfPixel(px: number[], i: number): number {
  if (px[i * 4 + 3] === 0) return 0;
  let best = -1;
  let bestD = Infinity;
  segColours.forEach(([r, g, b], k) => {
    if (k === 0) return;
    const d = (px[i * 4] - r) ** 2 + (px[i * 4 + 1] - g) ** 2 + (px[i * 4 + 2] - b) ** 2;
    if (d < bestD) [best, bestD] = [k, d];
  });
  return best;
}

async function pageDetections(page: Page, c: RefCase): Promise<PageDetection[]> {
  const pane = page.getByTestId(`pane-${DET}`);
  expect(await pane.getByTestId('boxes').getAttribute('viewBox')).toBe(`0 0 ${c.width} ${c.height}`);
  const p = (await pane.getByTestId('photo').boundingBox())!;
  return pane.locator('g.det').evaluateAll(
    (gs, [px, py, pw, ph, W, H]) =>
      gs.map((g) => {
        const r = g.querySelector('rect')!;
        const n = (a: string) => Number(r.getAttribute(a));
        const s = r.getBoundingClientRect();
        return {
          query: Number(g.getAttribute('data-query')),
          classId: Number(g.getAttribute('data-class')),
          score: Number(g.getAttribute('data-score')),
          x0: n('x'),
          y0: n('y'),
          x1: n('x') + n('width'),
          y1: n('y') + n('height'),
          screen: {
            x0: ((s.left - px) / pw) * W,
            y0: ((s.top - py) / ph) * H,
            x1: ((s.right - px) / pw) * W,
            y1: ((s.bottom - py) / ph) * H,
          },
        };
      }),
    [p.x, p.y, p.width, p.height, c.width, c.height],
  );
}

/**
 * Page detections ↔ reference by class and IoU ≥ 0.8 (never by query index): every non-borderline reference
 * detection found, every page box accounted for (borderline and near-threshold ones may come or go).
 */
function matchDetections(page: PageDetection[], c: RefCase) {
  const pool = [...c.detector.detections, ...(c.detector.near_threshold ?? [])];
  const used = new Set<number>();
  const pairs: { page: PageDetection; ref: RefDetection }[] = [];
  for (const det of [...page].sort((a, b) => b.score - a.score)) {
    let best = -1;
    let bestIou = 0.8;
    pool.forEach((d, i) => {
      const v = iou(det, xyxy(d.box_image_xyxy));
      if (!used.has(i) && d.class_id === det.classId && v >= bestIou) [best, bestIou] = [i, v];
    });
    expect(best, `page box ${JSON.stringify(det)} matches no reference detection`).toBeGreaterThanOrEqual(0);
    used.add(best);
    pairs.push({ page: det, ref: pool[best] });
  }
  for (const d of c.detector.detections)
    if (!d.borderline)
      expect(
        pairs.some((p) => p.ref === d),
        `reference detection (query ${d.query}, class ${d.class_id}) is not drawn`,
      ).toBe(true);
  return pairs;
}

/* ---------- the checks ---------- */

describe.each(reference.cases)('letterboxed models on $image ($width×$height)', (c) => {
  // input_exact: any resampler gives the reference's input bytes; otherwise the browser's resampling differs a bit.
  const boxTol = c.input_exact ? 0.01 : 2;
  const scoreTol = c.input_exact ? 1e-4 : 0.05;

  it('boxes, mask, attention overlays and ground truth land on the reference image pixels', async () => {
    const page = await open(c);

    // (1) detector boxes, drawn in image pixels, = native boxes mapped by hand through the reference placement
    const dets = await pageDetections(page, c);
    const pairs = matchDetections(dets, c);
    for (const { page: d, ref } of pairs) {
      const want = xyxy(ref.box_image_xyxy);
      for (const k of ['x0', 'y0', 'x1', 'y1'] as const) {
        expect(Math.abs(d[k] - want[k]), `query ${d.query} ${k}`).toBeLessThanOrEqual(boxTol);
        expect(Math.abs(d.screen[k] - d[k]), `query ${d.query} ${k} on screen`).toBeLessThan(0.5);
      }
      expect(Math.abs(d.score - ref.score), `query ${d.query} score`).toBeLessThanOrEqual(scoreTol);
      // the same native box mapped by stretch lands elsewhere: matching would fail
      expect(iou(boxToImage(stretchOf(c), xyxy(ref.box_input_xyxy)), want)).toBeLessThan(0.8);
    }

    // (2) the segmenter's mask: drawn over the input frame, and at the reference's image points shows its classes
    const segPane = page.getByTestId(`pane-${SEG}`);
    const mask = segPane.getByTestId('mask');
    const frame = await onImage(segPane.getByTestId('photo'), mask, c);
    expectPlacement(placementOfFrame(frame, c.placement), c, 'mask canvas');
    const drawn = await pixels(mask);
    const cm = c.segmenter.class_map;
    expect([drawn.w, drawn.h]).toEqual([cm.width, cm.height]);
    const refMap = Buffer.from(cm.data, 'base64');
    let differ = 0;
    for (let i = 0; i < cm.width * cm.height; i++) if (classOfPixel(drawn.px, i) !== refMap[i]) differ++;
    // the class map itself (what the model saw): equal up to float ties, or the browser's resampling of edges
    expect(differ / (cm.width * cm.height)).toBeLessThanOrEqual(c.input_exact ? 0.001 : 0.01);
    let stretchWrong = 0;
    for (const pt of c.segmenter.points) {
      // the image pixel's centre → the canvas pixel under it, through the frame as displayed
      const [x, y] = [pt.x + 0.5, pt.y + 0.5];
      const u = Math.floor(((x - frame.x0) / (frame.x1 - frame.x0)) * drawn.w);
      const v = Math.floor(((y - frame.y0) / (frame.y1 - frame.y0)) * drawn.h);
      expect(classOfPixel(drawn.px, v * drawn.w + u), `class at image (${pt.x}, ${pt.y})`).toBe(pt.class_id);
      const s = boxToInput(stretchOf(c), { x0: x, y0: y, x1: x, y1: y });
      if (refMap[Math.floor(s.y0) * cm.width + Math.floor(s.x0)] !== pt.class_id) stretchWrong++;
    }
    expect(stretchWrong, 'sample points that a stretched mask would get wrong').toBeGreaterThanOrEqual(3);

    // (3a) CBAM spatial gates over the image: each grid covers the input frame, letterbox bars outside the image
    for (const site of ['backbone', 'context', 'decoder']) {
      const card = page.getByTestId(`site-${site}`).getByTestId(`site-card-${SEG}`);
      await card.getByTestId('spatial').waitFor({ timeout: 30_000 });
      const f = await onImage(card.locator('img'), card.getByTestId('spatial'), c);
      expectPlacement(placementOfFrame(f, c.placement), c, `CBAM ${site} spatial gate`);
    }

    // (3b) DETR query cross-attention of a clicked detection: upsampled to the input frame, placed over it
    const top = pairs.find((p) => !p.ref.borderline)!.page;
    const viewport = page.getByTestId(`pane-${DET}`).getByTestId('viewport');
    await viewport.scrollIntoViewIfNeeded();
    const vp = (await viewport.boundingBox())!;
    const [ix, iy] = [(top.x0 + top.x1) / 2, (top.y0 + top.y1) / 2];
    await page.mouse.click(vp.x + (ix / c.width) * vp.width, vp.y + (iy / c.height) * vp.height);
    const qattn = page.getByTestId(`qattn-${DET}`);
    await qattn.getByTestId('qattn-heat').waitFor({ timeout: 30_000 });
    const clicked = Number(await qattn.getAttribute('data-query'));
    const hit = dets.find((d) => d.query === clicked)!;
    expect(hit, `the click selected query ${clicked}, not a drawn box`).toBeDefined();
    expect(hit.x0 <= ix && ix <= hit.x1 && hit.y0 <= iy && iy <= hit.y1).toBe(true);
    const heat = await pixels(qattn.getByTestId('qattn-heat'));
    expect([heat.w, heat.h]).toEqual([c.placement.inputWidth, c.placement.inputHeight]);
    const qf = await onImage(qattn.locator('img'), qattn.getByTestId('qattn-heat'), c);
    expectPlacement(placementOfFrame(qf, c.placement), c, 'query cross-attention');

    // (4) ground truth in image pixels (an imported COCO file) → the model input frame, as KS-DETR and H-DETR use it
    const gt = pairs.find((p) => !p.ref.borderline)!;
    const gtBox = xyxy(gt.ref.box_image_xyxy);
    const category = { id: 7, name: detClasses.find((k) => k.id === gt.ref.class_id)!.name };
    const importCoco = async (annotations: object[]) => {
      const coco = { images: [{ id: 3, file_name: c.image }], categories: [category], annotations };
      await page
        .getByTestId('coco-input')
        .setInputFiles({ name: 'gt.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(coco)) });
      const n = annotations.length;
      await expect
        .poll(() => page.getByTestId('gt-source').innerText())
        .toBe(`Using: ground truth (imported gt.json) (${n} object${n === 1 ? '' : 's'})`);
      await settle(page);
    };
    const ks = page.getByTestId(`ks-${DET}`);
    const ksHeat = ks.getByTestId('ks-heat');
    await importCoco([]);
    await expect.poll(() => ks.getByTestId('ks-share').innerText()).toMatch(/\(area 0\.0 %\)/);
    await settle(page);
    const bare = await pixels(ksHeat); // the encoder mean, no foreground tint
    const [gh, gw] = [bare.h, bare.w];
    expect([gh, gw]).toEqual([20, 20]);
    await importCoco([
      { image_id: 3, category_id: 7, bbox: [gtBox.x0, gtBox.y0, gtBox.x1 - gtBox.x0, gtBox.y1 - gtBox.y0] },
    ]);
    const want = boxMaskOnGrid(
      [boxToInput(c.placement, gtBox)],
      c.placement.inputWidth,
      c.placement.inputHeight,
      gh,
      gw,
    );
    const wrong = boxMaskOnGrid(
      [boxToInput(stretchOf(c), gtBox)],
      c.placement.inputWidth,
      c.placement.inputHeight,
      gh,
      gw,
    );
    expect(want.join('')).not.toBe(wrong.join(''));
    const tinted = async () => {
      const now = await pixels(ksHeat);
      return Array.from({ length: gh * gw }, (_, i) =>
        [0, 1, 2].some((k) => now.px[i * 4 + k] !== bare.px[i * 4 + k]) ? 1 : 0,
      ).join('');
    };
    // the foreground cells KS-DETR tints are those under the box mapped into the input by hand
    await expect.poll(tinted).toBe(want.join(''));
    const cells = want.reduce((a, b) => a + b, 0);
    expect(await ks.getByTestId('ks-share').innerText()).toMatch(
      new RegExp(`\\(area ${((100 * cells) / (gh * gw)).toFixed(1).replace('.', '\\.')} %\\)`),
    );

    // H-DETR: the object, a copy of a detection's box, goes to that detection's query at the cost computed by hand
    // (focal class cost + 5·L1 − 2·GIoU on cxcywh normalised to the input frame, as the model was trained)
    const hdetr = page.getByTestId(`hdetr-${DET}`);
    await expect.poll(() => hdetr.getByTestId('links').locator('line.link').count()).toBe(1);
    expect(Number(await hdetr.getByTestId('links').locator('rect.pred').getAttribute('data-query'))).toBe(
      gt.page.query,
    );
    const cxcywh = (p: Placement, b: Box): number[] => {
      const i = boxToInput(p, b);
      const [W, H] = [c.placement.inputWidth, c.placement.inputHeight];
      return [(i.x0 + i.x1) / 2 / W, (i.y0 + i.y1) / 2 / H, (i.x1 - i.x0) / W, (i.y1 - i.y0) / H];
    };
    const cost = (p: Placement) => {
      const pred = cxcywh(c.placement, gt.page); // the model's own box, back through the true placement
      const obj = cxcywh(p, gtBox);
      const corners = ([cx, cy, w, h]: number[]): Box => ({
        x0: cx - w / 2,
        y0: cy - h / 2,
        x1: cx + w / 2,
        y1: cy + h / 2,
      });
      const [a, b] = [corners(pred), corners(obj)];
      const inter =
        Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) *
        Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
      const union = (a.x1 - a.x0) * (a.y1 - a.y0) + (b.x1 - b.x0) * (b.y1 - b.y0) - inter;
      const hull = (Math.max(a.x1, b.x1) - Math.min(a.x0, b.x0)) * (Math.max(a.y1, b.y1) - Math.min(a.y0, b.y0));
      const giou = inter / union - (hull - union) / hull;
      const pr = gt.page.score;
      const focal = 0.25 * (1 - pr) ** 2 * -Math.log(pr + 1e-8) - 0.75 * pr ** 2 * -Math.log(1 - pr + 1e-8);
      const l1 = pred.reduce((s, v, k) => s + Math.abs(v - obj[k]), 0);
      return 2 * focal + 5 * l1 - 2 * giou;
    };
    const lowest = Number(await hdetr.getByTestId('cost-matrix').getAttribute('data-lo'));
    expect(Math.abs(lowest - cost(c.placement))).toBeLessThan(1e-4);
    expect(cost(stretchOf(c)) - cost(c.placement)).toBeGreaterThan(0.2);
    await page.close();
  });
});
