/**
 * The sweep: images no one prepared (made here: 64×64 to 4000×3000, portrait and landscape, PNG/JPEG/WebP,
 * grayscale, alpha, two different images with the same name) × every zoo pair (and the three- and four-way
 * views) × every method view that applies × its controls. Nothing may blank: no page error, no view error,
 * every pane drawn for the image on screen (never another image's results), every shown view non-empty.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from 'fast-png';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { root, serveApp } from './browser';

const app = serveApp();

const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8'));
const SETS: string[][] = [
  ...index.pairs.map((p: { teacher: string; student: string }) => [p.teacher, p.student]),
  ['sak-student', 'seg-teacher', 'vit-attn'],
  ['detr-teacher', 'detr-student-hybrid', 'detr-student-o2o', 'detr-student-ks'],
];

interface OwnImage {
  name: string;
  mimeType: string;
  buffer: Buffer;
  width: number;
  height: number;
}

/** A gallery sample drawn at any size into any format by the browser's own encoder (plus a per-image tint). */
async function encoded(page: Page, width: number, height: number, type: string, sample: string, tint: number) {
  const base64 = await page.evaluate(
    async ({ width, height, type, src, tint }) => {
      const bitmap = await createImageBitmap(await (await fetch(src)).blob());
      const canvas = new OffscreenCanvas(width, height);
      const ctx = canvas.getContext('2d')!;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(bitmap, 0, 0, width, height); // stretched: the parts keep their places at any aspect
      ctx.fillStyle = `rgba(${tint}, 0, ${255 - tint}, 0.08)`;
      ctx.fillRect(0, 0, width, height / 3);
      const blob = await canvas.convertToBlob({ type, quality: 0.9 });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    },
    { width, height, type, src: `${app.url}samples/${sample}`, tint },
  );
  return Buffer.from(base64, 'base64');
}

/** PNGs the browser's encoder does not make: one channel (grayscale) and real transparency. */
function pngWithChannels(width: number, height: number, channels: 1 | 4, seed: number): Buffer {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      const v = ((x * 7 + y * 13 + seed * 31) ^ (x >> 3)) & 255;
      if (channels === 1) data[i] = v;
      else data.set([v, 255 - v, (x * 3) & 255, x < width / 2 ? 0 : 255], i); // left half fully transparent
    }
  }
  return Buffer.from(encode({ width, height, data, channels }));
}

async function ownImages(page: Page): Promise<OwnImage[]> {
  const made: [string, string, number, number, string][] = [
    ['tiny.png', 'image/png', 64, 64, 'factory-test-000.png'],
    ['huge-4000x3000.jpg', 'image/jpeg', 4000, 3000, 'factory-test-001.png'],
    ['full-hd.jpg', 'image/jpeg', 1920, 1080, 'factory-test-002.png'],
    ['camera.png', 'image/png', 800, 600, 'factory-test-003.png'],
    ['portrait.webp', 'image/webp', 480, 1000, 'factory-test-004.png'],
    ['panorama.webp', 'image/webp', 1200, 200, 'factory-test-005.png'],
  ];
  const images: OwnImage[] = [];
  for (const [i, [name, mimeType, width, height, sample]] of made.entries())
    images.push({
      name,
      mimeType,
      width,
      height,
      buffer: await encoded(page, width, height, mimeType, sample, i * 40),
    });
  images.push({
    name: 'gray.png',
    mimeType: 'image/png',
    width: 300,
    height: 200,
    buffer: pngWithChannels(300, 200, 1, 1),
  });
  images.push({
    name: 'alpha.png',
    mimeType: 'image/png',
    width: 256,
    height: 256,
    buffer: pngWithChannels(256, 256, 4, 2),
  });
  // Two different pictures, one name (what two pastes from the clipboard look like).
  for (const [sample, tint] of [
    ['factory-test-006.png', 0],
    ['factory-test-007.png', 200],
  ] as const)
    images.push({
      name: 'image.png',
      mimeType: 'image/png',
      width: 640,
      height: 480,
      buffer: await encoded(page, 640, 480, 'image/png', sample, tint),
    });
  return images;
}

const isBlank = (section: Locator) =>
  section.evaluate((s) => {
    const body = [...s.children].slice(1); // after the heading
    const text = body
      .map((e) => (e as HTMLElement).innerText)
      .join('')
      .trim();
    return text.length === 0 && s.querySelectorAll('canvas, svg, img').length === 0;
  });

/** Every pane drawn for this image, no error anywhere, every shown view with content. */
async function expectShown(page: Page, models: string[], imageId: string, errors: string[], what: string) {
  await expect
    .poll(() => page.getByTestId('current-image').getAttribute('data-image'), { timeout: 30_000 })
    .toBe(imageId);
  for (const id of models) {
    const pane = page.getByTestId(`pane-${id}`);
    const state = async () => `${await pane.getAttribute('data-state')} ${await pane.getAttribute('data-image')}`;
    try {
      await expect.poll(state, { timeout: 90_000 }).toBe(`drawn ${imageId}`);
    } catch {
      const alerts = await page.getByRole('alert').allInnerTexts();
      throw new Error(
        `${what}: pane ${id} is '${await state()}', not drawn on ${imageId}; alerts: ${alerts.join(' | ')}`,
      );
    }
  }
  expect(errors, what).toEqual([]);
  const failed = await page.getByTestId('view-error').allInnerTexts();
  expect(failed, `${what}: a view failed`).toEqual([]);
  for (const section of await page.locator('section[data-testid$="-view"]').all())
    expect(await isBlank(section), `${what}: ${await section.getAttribute('data-testid')} is blank`).toBe(false);
}

/** Work every control a view has (radios, selects, sliders, number fields) and click its first drawing. */
async function exerciseViews(page: Page, models: string[], imageId: string, errors: string[], what: string) {
  for (const section of await page.locator('section[data-testid$="-view"]').all()) {
    const view = `${what} / ${await section.getAttribute('data-testid')}`;
    for (const radio of await section.locator('input[type=radio]').all()) await radio.check();
    for (const select of await section.locator('select').all()) {
      const values = await select.locator('option').evaluateAll((o) => o.map((e) => (e as HTMLOptionElement).value));
      if (values.length > 1) await select.selectOption(values[values.length - 1]);
    }
    for (const range of await section.locator('input[type=range]').all()) {
      const [min, max] = await range.evaluate((e: HTMLInputElement) => [e.min || '0', e.max || '100']);
      await range.fill(max);
      await range.fill(min);
    }
    for (const field of await section.locator('input[type=number]').all()) await field.fill('0');
    const drawing = section.locator('canvas, svg').first();
    if ((await drawing.count()) && (await drawing.isVisible())) await drawing.click({ force: true });
    await expectShown(page, models, imageId, errors, view);
  }
}

describe('own images × every pair × every view', () => {
  let page: Page;
  let images: OwnImage[];
  const ids: string[] = [];
  const errors: string[] = [];

  it('takes every kind of image a user drops, each under its own id', async () => {
    page = await app.browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}#m=${SETS[0].join(',')}&b=wasm`);
    await page.getByTestId(`pane-${SETS[0][0]}`).waitFor();
    // the gallery's 16 samples are described in a worker: counted once they are all in the strip
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=strip] button').length >= 16);
    images = await ownImages(page);
    const before = await page.getByTestId('strip').locator('button').count();
    await page.getByTestId('file-input').setInputFiles(images);
    await expect
      .poll(() => page.getByTestId('strip').locator('button').count(), { timeout: 60_000 })
      .toBe(before + images.length);
    const strip = await page
      .getByTestId('strip')
      .locator('button')
      .evaluateAll((b) => b.map((e) => ({ id: e.getAttribute('data-image')!, title: e.getAttribute('title')! })));
    for (const image of images) {
      const entry = strip.find(
        (s) => s.title.startsWith(`${image.name} · `) && !ids.includes(s.id) && s.id.match(/^[0-9a-f]{16}$/),
      );
      expect(entry, image.name).toBeDefined();
      ids.push(entry!.id);
    }
    expect(new Set(ids).size).toBe(images.length); // the same-named pair is two images
    for (const [i, image] of images.entries())
      expect(strip.find((s) => s.id === ids[i])!.title).toBe(`${image.name} · ${image.width}×${image.height}`);
    expect(errors).toEqual([]);
  }, 240_000);

  for (const models of SETS) {
    it(`${models.join(' | ')}: every own image, every view, its controls`, async () => {
      // A link pasted into the open tab: the models change, the dropped images stay.
      await page.evaluate(
        (h) => {
          location.hash = h;
        },
        `#m=${models.join(',')}&b=wasm&img=${ids[0]}`,
      );
      for (const [i, id] of ids.entries()) {
        const what = `${models.join(',')} on ${images[i].name} (${images[i].width}×${images[i].height})`;
        await page.locator(`[data-testid=strip] button[data-image="${id}"]`).click();
        await expectShown(page, models, id, errors, what);
        expect(new URL(page.url()).hash).toContain(`img=${id}`);
        // The threshold at its extremes (0.9 on a portrait once blanked the page) and back to recommended.
        const threshold = page.getByTestId('threshold');
        await threshold.fill('0.95');
        await expectShown(page, models, id, errors, `${what} at threshold 0.95`);
        await threshold.fill('0');
        await page.getByTestId('threshold-reset').click();
        if (i === 1 || i === 4 || i === 0) await exerciseViews(page, models, id, errors, what);
      }
    }, 600_000);
  }

  it('closes without an error', async () => {
    expect(errors).toEqual([]);
    await page.close();
  });
});
