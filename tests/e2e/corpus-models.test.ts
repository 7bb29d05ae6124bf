/**
 * Models whose outputs are NaN or infinite (tests/fixtures/corpus, made by ml/scripts/make_corpus.py), dropped
 * next to a zoo model: each output's count is reported in its pane, the views draw what they can (NaN never
 * as a class or a colour of the scale), nothing throws, and the tab stays responsive.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { corpusFile, root, serveApp } from './browser';

const app = serveApp();

const coco = JSON.parse(readFileSync(join(root, 'public/samples/coco.json'), 'utf8'));
const categories = new Map<number, string>(coco.categories.map((c: { id: number; name: string }) => [c.id, c.name]));
const gtClasses = (sample: string): number[] => {
  const id = coco.images.find((i: { file_name: string }) => i.file_name === sample).id;
  return coco.annotations
    .filter((a: { image_id: number }) => a.image_id === id)
    .map((a: { category_id: number }) => a.category_id);
};

/** A page round trip, timed: the main thread is free. */
async function responsive(page: Page): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await page.evaluate(() => 1);
    expect(Date.now() - t0).toBeLessThan(2000);
  }
}

const nonFinite = async (page: Page, id: string) =>
  (await page.getByTestId(`pane-${id}`).getByTestId('nonfinite').locator('li[data-output]').allInnerTexts()).sort();

async function noViewError(page: Page): Promise<void> {
  expect(await page.getByTestId('view-error').allInnerTexts()).toEqual([]);
}

describe('NaN and infinite model outputs', () => {
  it('a segmenter: per-output counts, NaN pixels in magenta (not a class), CBAM gates of NaN drawn', async () => {
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}#m=seg-student-plain&s=factory-test-000.png&b=wasm`);
    await page.locator('[data-testid=pane-seg-student-plain][data-state=drawn]').waitFor({ timeout: 60_000 });
    await page.getByTestId('file-input').setInputFiles(corpusFile('seg-nan.onnx'));
    const pane = page.getByTestId('pane-local-seg-nan');
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    await expect
      .poll(() => nonFinite(page, 'local-seg-nan'))
      .toEqual(
        [
          'seg_logits of model local-seg-nan has 1,024 NaN values and 3 infinite ones (of 179,200)',
          'cbam.backbone.channel of model local-seg-nan has 2 NaN values (of 32)',
          'cbam.backbone.spatial of model local-seg-nan has 400 NaN values (of 400)',
          'cbam.context.spatial of model local-seg-nan has 10 NaN values (of 400)',
        ].sort(),
      );
    expect(await nonFinite(page, 'seg-student-plain')).toEqual([]);
    expect(await pane.getByTestId('pane-status').innerText()).toMatch(
      /· mask · 1,024 pixels without a class \(NaN logits\), in magenta$/,
    );
    // The 32×32 block of NaN logits is painted in the no-value colour, opaque: exactly those pixels.
    const magenta = await pane.getByTestId('mask').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4)
        if (d[i] === 255 && d[i + 1] === 0 && d[i + 2] === 255 && d[i + 3] === 255) n++;
      return n;
    });
    expect(magenta).toBe(1024);
    // CBAM: both models' cards, the NaN gates drawn and counted, no view error.
    const cbam = page.getByTestId('attnfd-view');
    const card = cbam.getByTestId('site-backbone').getByTestId('site-card-local-seg-nan');
    await card.waitFor({ timeout: 30_000 });
    expect(await card.getByTestId('no-value').innerText()).toBe(
      '400 of 400 gate cells are NaN or infinite: drawn magenta',
    );
    expect(
      await cbam.getByTestId('site-context').getByTestId('site-card-local-seg-nan').getByTestId('no-value').innerText(),
    ).toBe('10 of 400 gate cells are NaN or infinite: drawn magenta');
    expect(await card.getByTestId('spatial').getAttribute('data-lo')).toBe('0');
    expect(await card.getByTestId('channels').locator('g.bar').count()).toBe(12); // 30 finite gates ranked
    await noViewError(page);
    await responsive(page);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('a detector with NaN and infinite boxes next to a zoo detector: counted, assigned around, KS drawn', async () => {
    const sample = 'factory-test-002.png';
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}#m=detr-teacher&s=${sample}&b=wasm`);
    await page.locator('[data-testid=pane-detr-teacher][data-state=drawn]').waitFor({ timeout: 60_000 });
    await page.getByTestId('file-input').setInputFiles(corpusFile('det-nan.onnx'));
    const pane = page.getByTestId('pane-local-det-nan');
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    await expect
      .poll(() => nonFinite(page, 'local-det-nan'))
      .toEqual(
        [
          'o2o.boxes of model local-det-nan has 16 NaN values and 1 infinite one (of 32)',
          'o2m.boxes of model local-det-nan has 32 NaN values and 2 infinite ones (of 64)',
          'encoder.attention of model local-det-nan has 1,600 NaN values (of 640,000)',
        ].sort(),
      );
    // Boxes that are not numbers are not drawn; the three finite confident queries are.
    expect(await pane.locator('g.det').count()).toBe(3);
    // H-DETR: 5 objects, 3 finite queries: two links land on penalised queries, named; no loop, no error.
    const objects = gtClasses(sample).length;
    const panel = page.getByTestId('hdetr-local-det-nan');
    await panel.waitFor({ timeout: 30_000 });
    expect(await panel.getByTestId('hdetr-note').allInnerTexts()).toEqual([
      `queries 0–4 of the one-to-one block have NaN or infinite scores or boxes: their costs are replaced by a penalty above every finite cost, so they are assigned only when no finite query is left (${objects - 3} of the links are)`,
    ]);
    expect(await panel.getByTestId('assignment').innerText()).toBe(
      `${objects} links · ${objects} of 8 queries assigned · ${8 - objects} unassigned`,
    );
    expect(await panel.getByTestId('links').locator('line.link').count()).toBe(3); // the drawable ones
    await page.getByTestId('mode-o2m').check();
    await expect
      .poll(() => panel.getByTestId('hdetr-note').allInnerTexts())
      .toEqual([expect.stringMatching(/^queries 0–4, 8–12 of the one-to-many block have NaN or infinite/)]);
    // KS-DETR: the NaN key is drawn magenta and counted; shares over the finite cells.
    const ks = page.getByTestId('ks-view');
    await expect
      .poll(() => ks.getByTestId('no-value').allInnerTexts(), { timeout: 30_000 })
      .toEqual(['1 of 400 attention cells is NaN or infinite: drawn magenta']);
    expect(await ks.innerText()).not.toMatch(/NaN %/);
    await noViewError(page);
    await responsive(page);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a detector whose classes are not the gallery's: the ground truth it lacks is named and left out", async () => {
    const sample = 'factory-test-000.png';
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}#m=detr-teacher&s=${sample}&b=wasm`);
    await page.locator('[data-testid=pane-detr-teacher][data-state=drawn]').waitFor({ timeout: 60_000 });
    await page.getByTestId('file-input').setInputFiles(corpusFile('det-classes.onnx'));
    const panel = page.getByTestId('hdetr-local-det-classes');
    await panel.waitFor({ timeout: 60_000 });
    const classes = gtClasses(sample);
    const ours = ['cat', 'dog', 'bird'];
    const missing = [...new Set(classes.filter((c) => c > 2))].sort((a, b) => a - b);
    const renamed = [...new Set(classes.filter((c) => c <= 2))].sort((a, b) => a - b);
    expect(await panel.getByTestId('hdetr-note').allInnerTexts()).toEqual([
      ...missing.map((c) => {
        const n = classes.filter((x) => x === c).length;
        return `ground-truth class ${c} '${categories.get(c)}' is not among the model's classes 0–2: ${n === 1 ? 'that object is' : 'those objects are'} left out of the assignment`;
      }),
      ...renamed.map(
        (c) =>
          `ground-truth class ${c} '${categories.get(c)}' is the model's class ${c} '${ours[c]}': matched by id, the names differ`,
      ),
    ]);
    const kept = classes.filter((c) => c <= 2).length;
    expect(await panel.getByTestId('links').locator('line.link').count()).toBe(kept);
    expect(await nonFinite(page, 'local-det-classes')).toEqual([]);
    await noViewError(page);
    await responsive(page);
    expect(errors).toEqual([]);
    await page.close();
  });
});
