/**
 * Exports and the review report in chromium: a pane's PNG is the image at its own size with the mask on it and
 * a caption band under it; the view's PNG and numbers; the report is one self-contained page whose pictures all
 * load from data: URLs and which prints to a few A4 pages with the picture in them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ViewNumbers } from '../../src/share/viewNumbers';
import { root, serveApp } from './browser';

const app = serveApp();
const MODELS = ['seg-teacher', 'seg-student-attnfd'];
const SAMPLE = 'factory-test-003.png';
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;

/** RGB of a decoded PNG's pixel i (whatever its channel count). */
const rgb = (png: ReturnType<typeof decode>, i: number) => [0, 1, 2].map((c) => png.data[i * png.channels + c]);

async function downloaded(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), click()]);
  return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
}

describe('exports and the report', () => {
  let page: Page;
  beforeAll(async () => {
    page = await app.browser.newPage();
    await page.goto(`${app.url}#m=${MODELS.join(',')}&s=${SAMPLE}&b=wasm`);
    for (const id of MODELS)
      await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 120_000 });
  });
  afterAll(() => page?.close());

  it("exports a pane as a PNG: the image's size plus a caption band, the mask drawn over the photo", async () => {
    const pane = page.getByTestId(`pane-${MODELS[1]}`);
    // Image pixels the pane's mask covers (its canvas is at model-input resolution, stretched over the image).
    const painted = await pane.getByTestId('mask').evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return (n * 160 * 160) / (c.width * c.height);
    });
    expect(painted).toBeGreaterThan(100); // the model finds a part here: the export must show it
    const file = await downloaded(page, () => pane.getByTestId('pane-export-png').click());
    expect(file.name).toBe(`${SAMPLE}.${MODELS[1]}.png`);
    const png = decode(file.bytes);
    expect(png.width).toBe(160);
    expect(png.height).toBeGreaterThan(160 + 11); // at least one line of 11 px type
    expect(png.height).toBeLessThan(160 + 160); // a caption, not a second picture
    const plain = decode(readFileSync(join(root, 'public/samples', SAMPLE)));
    let differing = 0;
    let close = 0;
    for (let i = 0; i < 160 * 160; i++) {
      const a = rgb(png, i);
      const b = rgb(plain, i);
      const d = Math.max(...a.map((v, c) => Math.abs(v - b[c])));
      if (d > 40) differing++;
      else if (d <= 3) close++;
    }
    // The mask's pixels are tinted by a class colour at 55 % opacity; the rest is the photo as it was.
    expect(differing).toBeGreaterThan(painted * 0.3);
    expect(close).toBeGreaterThan(160 * 160 - painted * 1.5 - 400);
    // The caption band is light, with dark text on it.
    const band = Array.from({ length: png.width * (png.height - 160) }, (_, i) => rgb(png, 160 * 160 + i));
    expect(band.filter((p) => p.every((v) => v > 240)).length).toBeGreaterThan(band.length / 2);
    expect(band.some((p) => p.every((v) => v < 80))).toBe(true);
  });

  it("exports the view's PNG (both panes side by side, the numbers under them) and its numbers as JSON", async () => {
    const view = decode((await downloaded(page, () => page.getByTestId('view-export-png').click())).bytes);
    expect(view.width).toBeGreaterThan(2 * 160);
    expect(view.width).toBeLessThan(2 * 160 + 40);
    expect(view.height).toBeGreaterThan(160 + 20);

    const file = await downloaded(page, () => page.getByTestId('view-export-json').click());
    expect(file.name).toBe(`${SAMPLE}.view.json`);
    const numbers = JSON.parse(file.bytes.toString('utf8')) as ViewNumbers;
    expect(numbers.app_version).toBe(version);
    expect(numbers.image).toMatchObject({ name: SAMPLE, width: 160, height: 160 });
    expect(numbers.models.map((m) => [m.id, m.task])).toEqual(MODELS.map((id) => [id, 'segmentation']));
    for (const m of numbers.models) {
      const cells = m.pixels!.classes.reduce((n, c) => n + c.cells, 0);
      expect(cells).toBe(m.pixels!.grid[0] * m.pixels!.grid[1]); // stretch: every cell lies on the image
    }
    const shown = await page.getByTestId('agreement').allInnerTexts();
    expect(numbers.agreements.map((a) => a.text)).toEqual(shown);
    expect(numbers.agreements[0]).toMatchObject({ model: MODELS[1], against: MODELS[0], metric: 'mask_miou' });
  });

  it('makes a self-contained report that prints to A4 with the view in it, and leaves the view as it was', async () => {
    const hash = await page.evaluate(() => location.hash);
    const file = await downloaded(page, () => page.getByTestId('report-button').click());
    expect(file.name).toBe('attnlens-report.html');
    const html = file.bytes.toString('utf8');
    // No findings are pinned: one section, the current view.
    expect(html.split('<section class="finding"')).toHaveLength(2);
    expect(html).toContain(SAMPLE);
    expect(html).toContain(`AttnLens ${version}`);
    for (const t of await page.getByTestId('agreement').allInnerTexts()) expect(html).toContain(t);
    expect(await page.getByTestId('report-button').isEnabled()).toBe(true);
    expect(await page.evaluate(() => location.hash)).toBe(hash);

    const report = await app.browser.newPage();
    try {
      const outside: string[] = [];
      report.on('request', (r) => {
        if (!r.url().startsWith('data:')) outside.push(r.url());
      });
      await report.setContent(html, { waitUntil: 'load' });
      const images = await report.$$eval('img', (imgs) =>
        imgs.map((i) => ({ src: i.getAttribute('src') ?? '', loaded: i.complete && i.naturalWidth > 0 })),
      );
      expect(images.length).toBe(1);
      for (const i of images) {
        expect(i.src.startsWith('data:image/png;base64,')).toBe(true);
        expect(i.loaded).toBe(true);
      }
      expect(outside).toEqual([]);

      const pdf = (await report.pdf({ format: 'A4' })).toString('latin1');
      const pages = pdf.match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;
      expect(pages).toBeGreaterThanOrEqual(1);
      expect(pages).toBeLessThanOrEqual(3);
      // The picture is in it: an image XObject, and more bytes than the same page without its picture.
      expect(pdf).toMatch(/\/Subtype\s*\/Image/);
      await report.setContent(html.replace(/<figure>.*?<\/figure>/gs, ''), { waitUntil: 'load' });
      const textOnly = await report.pdf({ format: 'A4' });
      expect(pdf.length).toBeGreaterThan(textOnly.length + 1000);
    } finally {
      await report.close();
    }
  });

  it('reports two findings on two images, each with its note (as text), its picture and numbers; prints to PDF', async () => {
    const p = await app.browser.newPage();
    const drawnOn = async (sample: string) => {
      await p.waitForFunction((s) => decodeURIComponent(location.hash).includes(`s=${s}`), sample);
      for (const id of MODELS)
        await p.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 120_000 });
    };
    const pin = async (text: string, scope: string) => {
      await p.getByTestId('finding-text').fill(text);
      await p.getByTestId('finding-scope').selectOption(scope);
      await p.getByTestId('finding-pin').click();
    };
    await p.goto(`${app.url}#m=${MODELS.join(',')}&s=factory-test-001.png&b=wasm`);
    await drawnOn('factory-test-001.png');
    await pin('<img src=x onerror=alert(1)> the teacher finds the bolt', 'view');
    await p.evaluate(() => {
      location.hash = location.hash.replace('factory-test-001.png', 'factory-test-006.png');
    });
    await drawnOn('factory-test-006.png');
    await pin('the student misses the washer edge', 'image');
    expect(await p.getByTestId('finding').count()).toBe(2);
    const hash = await p.evaluate(() => location.hash);
    const file = await downloaded(p, () => p.getByTestId('report-button').click());
    const html = file.bytes.toString('utf8');
    expect(html.split('<section class="finding"')).toHaveLength(3);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt; the teacher finds the bolt');
    expect(html).not.toContain('<img src=x');
    for (const name of ['factory-test-001.png', 'factory-test-006.png']) expect(html).toContain(name);
    expect(await p.evaluate(() => location.hash)).toBe(hash); // the view the user had is back

    const report = await app.browser.newPage();
    try {
      const dialogs: string[] = [];
      report.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await report.setContent(html, { waitUntil: 'load' });
      const loaded = await report.$$eval('img', (imgs) =>
        imgs.map((i) => i.complete && i.naturalWidth > 0 && (i.getAttribute('src') ?? '').startsWith('data:image/')),
      );
      expect(loaded).toEqual([true, true]);
      expect(dialogs).toEqual([]);
      const pdf = (await report.pdf({ format: 'A4' })).toString('latin1');
      const pages = pdf.match(/\/Type\s*\/Page[^s]/g)?.length ?? 0;
      expect(pages).toBeGreaterThanOrEqual(1);
      expect(pages).toBeLessThanOrEqual(4);
      expect(pdf.match(/\/Subtype\s*\/Image/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
    } finally {
      await report.close();
      await p.close();
    }
  });
});
