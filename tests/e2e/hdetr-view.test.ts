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
    await page.getByTestId('mode-o2m').check();
    await page.getByTestId('k').fill('4');
    await expect.poll(links).toBe(4 * objects);
    expect(await panel.innerText()).toMatch(/one-to-many block \(120 queries, trained with K=3\)/);
    await page.close();
  });
});
