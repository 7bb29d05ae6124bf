/**
 * DETR attention views in a real browser: a clicked detection's cross-attention (drawn = the analysis functions on
 * the native model output), the matched query of the other model, the link state, boxes drawn as ground truth,
 * and KS-DETR's foreground share for a clicked location.
 */
import { color } from 'd3-color';
import { scaleSequential } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { boxMaskOnGrid, range } from '../../src/analysis/attention';
import { placement } from '../../src/analysis/geometry';
import {
  detectionAt,
  foregroundShares,
  matchQuery,
  meanRow,
  peak,
  queryRow,
  tokenRows,
  upsampleBilinear,
} from '../../src/analysis/queries';
import { blockQueries, queryBlock, recommendedThreshold } from '../../src/methods/detr/contract';
import { serveApp } from './browser';
import { galleryGt, mirroredSample, runNative } from './native';

const app = serveApp();
const sample = 'factory-test-001.png';

async function open(hash: string, models: string[]): Promise<Page> {
  const page = await app.browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${app.url}#${hash}`);
  for (const id of models)
    await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 90_000 });
  return page;
}

describe('decoder cross-attention of a clicked detection', () => {
  it("draws the clicked query's row and the other model's matched query, as computed on the native output", async () => {
    const [teacher, student] = ['detr-teacher', 'detr-student-hybrid'];
    const page = await open(`m=${teacher},${student}&s=${sample}&b=wasm`, [teacher, student]);
    const t = await runNative(teacher, sample);
    const s = await runNative(student, sample);
    const tQueries = blockQueries(queryBlock(t.contract, 'one_to_one')!, {
      outputs: t.outputs,
      placement: placement(t.width, t.height, t.contract.input),
    });
    // The default view: each detector at the threshold its contract recommends.
    const dets = tQueries.filter((d) => d.score >= recommendedThreshold(t.contract)!);
    expect(dets.length).toBeGreaterThan(0);
    // click the middle of the teacher's highest-scoring box in its pane
    const viewport = page.getByTestId(`pane-${teacher}`).getByTestId('viewport');
    await viewport.scrollIntoViewIfNeeded();
    const vp = (await viewport.boundingBox())!;
    const d0 = dets[0];
    const [ix, iy] = [(d0.x0 + d0.x1) / 2, (d0.y0 + d0.y1) / 2];
    await page.mouse.click(vp.x + (ix / t.width) * vp.width, vp.y + (iy / t.height) * vp.height);
    const expected = detectionAt(dets, ix, iy)!;
    const panel = page.getByTestId(`qattn-${teacher}`);
    await panel.waitFor({ timeout: 30_000 });
    expect(Number(await panel.getAttribute('data-query'))).toBe(expected.query);
    expect(
      await page.getByTestId(`pane-${teacher}`).locator('g.det[data-selected=true]').getAttribute('data-query'),
    ).toBe(String(expected.query));
    expect(await panel.getByTestId('qattn-caption').innerText()).toMatch(
      new RegExp(`query ${expected.query} of the one-to-one block .* the query you clicked`),
    );

    // the peak the page reports, and the pixels it drew, are the analysis functions' on the native row
    const cross = t.outputs['o2o.cross_attention'];
    const row = queryRow(cross.data, cross.dims[1], expected.query);
    const top = peak(row);
    const total = row.reduce((a, b) => a + b, 0);
    expect(await panel.getByTestId('qattn-peak').innerText()).toBe(
      `peak at cell (${Math.floor(top.index / 20)}, ${top.index % 20}): ${((100 * top.value) / total).toFixed(1)} % of the row`,
    );
    expect(await panel.innerText()).toMatch(/last decoder layer, mean over heads, 20×20 grid of 8 px cells/);
    expect(await panel.innerText()).toMatch(/upsampled bilinear \(half-pixel centres, align_corners=False\)/);
    const up = upsampleBilinear(row, 20, 20, 160, 160);
    const [lo, hi] = range(row);
    const scale = scaleSequential(interpolateViridis).domain([lo, hi]);
    const drawn = await panel.getByTestId('qattn-heat').evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      return {
        w: canvas.width,
        h: canvas.height,
        px: Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data),
      };
    });
    expect([drawn.w, drawn.h]).toEqual([160, 160]);
    let worst = 0;
    for (let i = 0; i < 160 * 160; i += 37) {
      const c = color(scale(up[i]))!.rgb();
      worst = Math.max(
        worst,
        Math.abs(c.r - drawn.px[i * 4]),
        Math.abs(c.g - drawn.px[i * 4 + 1]),
        Math.abs(c.b - drawn.px[i * 4 + 2]),
      );
    }
    expect(worst).toBeLessThanOrEqual(3); // WASM vs native float rounding may move a colour by a step

    // the student shows its query for the same object, and says how it was chosen
    const sQueries = blockQueries(queryBlock(s.contract, 'one_to_one')!, {
      outputs: s.outputs,
      placement: placement(s.width, s.height, s.contract.input),
    });
    const match = matchQuery(expected, sQueries, recommendedThreshold(s.contract)!)!;
    const other = page.getByTestId(`qattn-${student}`);
    expect(Number(await other.getAttribute('data-query'))).toBe(match.detection.query);
    expect(await other.getByTestId('qattn-caption').innerText()).toMatch(/matched: /);

    // the selection travels in the link, and a link reopens it
    const hash = await page.evaluate(() => location.hash);
    expect(hash).toContain(`q=${teacher}%3Ao2o%3A${expected.query}`);
    const again = await open(hash.slice(1), [teacher, student]);
    await again.getByTestId(`qattn-${teacher}`).waitFor({ timeout: 30_000 });
    expect(Number(await again.getByTestId(`qattn-${teacher}`).getAttribute('data-query'))).toBe(expected.query);
    await again.close();
    await page.close();
  });

  it('reopens H-DETR mode, K and cost weights from the link, and a click in the H-DETR view selects that query', async () => {
    const [teacher, student] = ['detr-teacher', 'detr-student-hybrid'];
    const page = await open(`m=${teacher},${student}&s=${sample}&b=wasm&hm=o2m&k=2&w=1,5,2`, [teacher, student]);
    const objects = galleryGt(sample).length;
    const panel = page.getByTestId(`hdetr-${teacher}`);
    await panel.waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('mode-o2m').isChecked()).toBe(true);
    expect(await page.getByTestId('w-cls').inputValue()).toBe('1');
    expect(await panel.getByTestId('links').locator('line.link').count()).toBe(2 * objects);
    // click the first assigned one-to-many prediction's centre (a nested smaller box would win: compare with the rule)
    await panel.scrollIntoViewIfNeeded();
    const rects = await panel
      .getByTestId('links')
      .locator('rect.pred')
      .evaluateAll((els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return {
            query: Number(e.getAttribute('data-query')),
            x0: r.left,
            y0: r.top,
            x1: r.right,
            y1: r.bottom,
            score: 0,
            classId: 0,
          };
        }),
      );
    const [cx, cy] = [(rects[0].x0 + rects[0].x1) / 2, (rects[0].y0 + rects[0].y1) / 2];
    await page.mouse.click(cx, cy);
    const expected = detectionAt(rects, cx, cy)!.query;
    await expect.poll(() => page.evaluate(() => location.hash)).toContain(`q=${teacher}%3Ao2m%3A${expected}`);
    const q = page.getByTestId(`qattn-${teacher}`);
    expect(await q.getAttribute('data-block')).toBe('one_to_many');
    expect(Number(await q.getAttribute('data-query'))).toBe(expected);
    expect(await page.getByTestId(`qattn-${student}`).getAttribute('data-block')).toBe('one_to_many');
    await page.close();
  });
});

describe('ground truth drawn with the mouse', () => {
  it('becomes the source the H-DETR and KS views use, and deleting it falls back to the gallery COCO', async () => {
    const [teacher, student] = ['detr-teacher', 'detr-student-hybrid'];
    const page = await open(`m=${teacher},${student}&s=${sample}&b=wasm`, [teacher, student]);
    const source = page.getByTestId('gt-source');
    await source.waitFor({ timeout: 30_000 });
    expect(await source.getAttribute('data-kind')).toBe('gallery');
    const painted = page
      .getByTestId('gt-photo')
      .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 160);
    await expect.poll(() => painted).toBe(true); // the photo under the boxes is there
    await page.getByTestId('gt-class').selectOption({ label: 'gear' });
    await page.getByTestId('gt-draw').scrollIntoViewIfNeeded();
    const area = (await page.getByTestId('gt-draw').boundingBox())!;
    await page.mouse.move(area.x + 0.1 * area.width, area.y + 0.1 * area.height);
    await page.mouse.down();
    await page.mouse.move(area.x + 0.3 * area.width, area.y + 0.25 * area.height, { steps: 4 });
    await page.mouse.move(area.x + 0.5 * area.width, area.y + 0.4 * area.height, { steps: 4 });
    await page.mouse.up();
    await expect.poll(() => source.getAttribute('data-kind')).toBe('drawn');
    expect(await source.innerText()).toBe('Using: boxes you drew (1 object)');
    expect(await page.getByTestId('gt-list').innerText()).toMatch(/#1 gear \(16, 16\)–\(80, 64\)/);
    const hdetr = page.getByTestId(`hdetr-${teacher}`);
    expect(await hdetr.getByTestId('links').locator('line.link').count()).toBe(1);
    expect(await hdetr.getByTestId('links').locator('rect.gt').count()).toBe(1);
    expect(await page.getByTestId('hdetr-view').innerText()).toMatch(/Objects: boxes you drew \(1\)/);
    expect(await page.getByTestId('ks-mask-source').innerText()).toMatch(/under boxes you drew \(1 box;/);
    await page.getByTestId('gt-delete-0').click();
    await expect.poll(() => source.getAttribute('data-kind')).toBe('gallery');
    expect(await hdetr.getByTestId('links').locator('line.link').count()).toBe(galleryGt(sample).length);
    await page.close();
  });
});

describe('ground truth from an imported COCO file', () => {
  it("is matched to the user's own image by file_name, replaces the teacher's pseudo ground truth, and yields to drawn boxes", async () => {
    const [teacher, student] = ['detr-teacher', 'detr-student-hybrid'];
    const page = await open(`m=${teacher},${student}&s=${sample}&b=wasm`, [teacher, student]);
    await page
      .getByTestId('file-input')
      .setInputFiles({ name: 'my-part.png', mimeType: 'image/png', buffer: mirroredSample(sample) });
    const source = page.getByTestId('gt-source');
    await expect.poll(() => source.getAttribute('data-kind'), { timeout: 60_000 }).toBe('pseudo');
    expect(await source.innerText()).toMatch(/detr-teacher's detections as pseudo ground truth/);
    const coco = {
      images: [{ id: 5, file_name: 'shots/my-part.png' }],
      categories: [{ id: 9, name: 'Gear' }],
      annotations: [
        { image_id: 5, bbox: [10, 10, 30, 20], category_id: 9 },
        { image_id: 5, bbox: [60, 70, 40, 40], category_id: 9 },
      ],
    };
    await page
      .getByTestId('coco-input')
      .setInputFiles({ name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(coco)) });
    await expect.poll(() => source.getAttribute('data-kind')).toBe('imported');
    expect(await source.innerText()).toBe('Using: ground truth (imported mine.json) (2 objects)');
    expect(await page.getByTestId('coco-imported').innerText()).toMatch(
      /mine\.json: 1 images, 2 objects on my-part\.png/,
    );
    const links = page.getByTestId(`hdetr-${teacher}`).getByTestId('links');
    await expect.poll(() => links.locator('line.link').count()).toBe(2);
    expect(await links.locator('rect.gt').count()).toBe(2);
    const gear = await page.getByTestId('gt-class').locator('option', { hasText: 'gear' }).getAttribute('value');
    expect(await page.getByTestId('gt-draw').locator(`g.gt[data-class="${gear}"]`).count()).toBe(2); // category mapped by name
    await page.getByTestId('gt-draw').scrollIntoViewIfNeeded();
    const area = (await page.getByTestId('gt-draw').boundingBox())!;
    await page.mouse.move(area.x + 0.6 * area.width, area.y + 0.1 * area.height);
    await page.mouse.down();
    await page.mouse.move(area.x + 0.9 * area.width, area.y + 0.3 * area.height, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => source.getAttribute('data-kind')).toBe('drawn');
    await expect.poll(() => links.locator('line.link').count()).toBe(1);
    await page.getByTestId('gt-clear').click();
    await expect.poll(() => source.getAttribute('data-kind')).toBe('imported');
    await page.close();
  });
});

describe('KS-DETR share for a clicked location', () => {
  it("reports each model's per-head and mean foreground share of the encoder row under the click", async () => {
    const models = ['detr-student-o2o', 'detr-student-ks'];
    const page = await open(`m=${models.join(',')}&s=${sample}&b=wasm`, models);
    const [r, c] = [9, 6];
    const heat = page.getByTestId(`ks-${models[0]}`).getByTestId('ks-heat');
    await heat.waitFor({ timeout: 30_000 });
    await heat.scrollIntoViewIfNeeded();
    const box = (await heat.boundingBox())!;
    await page.mouse.click(box.x + ((c + 0.5) / 20) * box.width, box.y + ((r + 0.5) / 20) * box.height);
    expect(await page.getByTestId('ks-src-point').isChecked()).toBe(true);
    const mask = boxMaskOnGrid(galleryGt(sample), 160, 160, 20, 20);
    for (const id of models) {
      const fig = page.getByTestId(`ks-${id}`);
      await expect.poll(() => fig.getByTestId('ks-what').innerText()).toMatch(/row of the token at cell \(9, 6\)/);
      const { outputs } = await runNative(id, sample);
      const t = outputs['encoder.attention'];
      const rows = tokenRows(t.data, t.dims[1], t.dims[2], r * 20 + c);
      const want = foregroundShares(rows, meanRow(rows), mask);
      expect(Number(await fig.getAttribute('data-share'))).toBeCloseTo(want.mean, 3);
      const heads = JSON.parse((await fig.getAttribute('data-heads'))!) as number[];
      expect(heads).toHaveLength(4);
      heads.forEach((h, i) => {
        expect(h).toBeCloseTo(want.perHead[i], 3);
      });
      expect(await fig.getByTestId('ks-share').innerText()).toMatch(
        new RegExp(`foreground share ${(100 * want.mean).toFixed(1)} %`),
      );
    }
    expect(await page.evaluate(() => location.hash)).toMatch(/ks=point&pt=/);
    await page.close();
  });

  it("uses the clicked detection's cross-attention row when the source is the query", async () => {
    const models = ['detr-student-o2o', 'detr-student-ks'];
    const page = await open(`m=${models.join(',')}&s=${sample}&b=wasm&ks=query&t=0.20`, models); // the small student scores lower
    expect(await page.getByTestId(`ks-${models[0]}`).getByTestId('ks-missing').innerText()).toMatch(
      /click a detection/,
    );
    const a = await runNative(models[0], sample);
    const dets = blockQueries(queryBlock(a.contract, 'one_to_one')!, {
      outputs: a.outputs,
      placement: placement(a.width, a.height, a.contract.input),
    }).filter((d) => d.score >= 0.2);
    expect(dets.length).toBeGreaterThan(0);
    const viewport = page.getByTestId(`pane-${models[0]}`).getByTestId('viewport');
    await viewport.scrollIntoViewIfNeeded();
    const vp = (await viewport.boundingBox())!;
    const [ix, iy] = [(dets[0].x0 + dets[0].x1) / 2, (dets[0].y0 + dets[0].y1) / 2];
    await page.mouse.click(vp.x + (ix / a.width) * vp.width, vp.y + (iy / a.height) * vp.height);
    const query = detectionAt(dets, ix, iy)!.query;
    const fig = page.getByTestId(`ks-${models[0]}`);
    await expect
      .poll(() => fig.getByTestId('ks-what').innerText())
      .toMatch(new RegExp(`cross-attention of query ${query} \\(one-to-one block; the clicked query\\)`));
    const cross = a.outputs['o2o.cross_attention'];
    const row = queryRow(cross.data, cross.dims[1], query);
    const want = foregroundShares([], row, boxMaskOnGrid(galleryGt(sample), 160, 160, 20, 20));
    expect(Number(await fig.getAttribute('data-share'))).toBeCloseTo(want.mean, 3);
    expect(await fig.getByTestId('ks-heads').innerText()).toMatch(/not available/);
    expect(await page.getByTestId(`ks-${models[1]}`).getByTestId('ks-what').innerText()).toMatch(/matched: /);
    await page.close();
  });
});
