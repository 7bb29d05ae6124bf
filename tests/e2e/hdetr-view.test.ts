/** H-DETR view: one link per object one-to-one, K links per object one-to-many, on the gallery's ground truth. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, serveApp } from './browser';

const app = serveApp();
const sample = 'factory-test-001.png';
const coco = JSON.parse(readFileSync(join(root, 'public/samples/coco.json'), 'utf8'));
const objects = coco.annotations.filter(
  (a: { image_id: number }) => a.image_id === coco.images.find((i: { file_name: string }) => i.file_name === sample).id,
).length;

describe('H-DETR assignment view', () => {
  it('draws one link per object, then K per object in one-to-many mode', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=detr-teacher,detr-student-hybrid&s=${sample}&b=wasm`);
    const panel = page.getByTestId('hdetr-detr-teacher');
    await panel.waitFor({ timeout: 60_000 });
    const links = () => panel.getByTestId('links').locator('line.link').count();
    expect(await links()).toBe(objects);
    expect(await panel.getByTestId('links').locator('rect.gt').count()).toBe(objects);
    // The cost matrix outlines the same assignment the links draw: one cell per object, the linked queries.
    const marks = () =>
      panel
        .getByTestId('cost-matrix-marks')
        .locator('rect.mark')
        .evaluateAll((r) => r.map((e) => [Number(e.getAttribute('data-row')), Number(e.getAttribute('data-col'))]));
    const linked = () =>
      panel
        .getByTestId('links')
        .locator('rect.pred')
        .evaluateAll((r) => r.map((e) => Number(e.getAttribute('data-query'))).sort((a, b) => a - b));
    const o2o = await marks();
    expect(o2o.map(([, c]) => c).sort((a, b) => a - b)).toEqual([...Array(objects).keys()]);
    expect(o2o.map(([r]) => r).sort((a, b) => a - b)).toEqual(await linked());
    await page.getByTestId('mode-o2m').check();
    await page.getByTestId('k').fill('4');
    await expect.poll(links).toBe(4 * objects);
    const o2m = await marks();
    expect(o2m).toHaveLength(4 * objects);
    for (let c = 0; c < objects; c++) expect(o2m.filter(([, col]) => col === c)).toHaveLength(4);
    expect(o2m.map(([r]) => r).sort((a, b) => a - b)).toEqual(await linked());
    expect(await panel.innerText()).toMatch(/one-to-many block \(120 queries, trained with K=3\)/);
    await page.close();
  });
});
