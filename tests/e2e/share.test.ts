/**
 * Sharing in chromium: a user's own image with boxes drawn on it, a zoom and a finding → Copy link → a fresh
 * browser context (nothing shared but the link) shows the same pixels and the same numbers; a link pasted into
 * an open tab; a view too large for a link travels as an .attnlens file; a model file by name and SHA-256;
 * review mode steps through the findings with the keyboard; broken links are refused in words.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from 'fast-png';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { corpusFile, root, serveApp } from './browser';

const app = serveApp();
const PAIR = ['detr-teacher', 'detr-student-hybrid'];

/** A crop of a gallery sample, as a user's own PNG (not in the gallery: its pixels differ). */
function ownImage(width: number, height: number, from = 'factory-test-005.png'): Buffer {
  const src = decode(readFileSync(join(root, 'public/samples', from)));
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        out[(y * width + x) * 3 + c] =
          src.data[((y % src.height) * src.width + (x % src.width)) * src.channels + c] ^ (x === y ? 1 : 0);
  return Buffer.from(encode({ width, height, data: out, channels: 3, depth: 8 }));
}

const drawn = (page: Page, id: string) =>
  page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 90_000 });

/** What the page shows: the image in the panes (by pixel hash), the numbers, the ground truth list, the zoom. */
async function shown(page: Page) {
  for (const id of PAIR) await drawn(page, id);
  const rows = page.getByTestId('agreement');
  await expect.poll(() => rows.count(), { timeout: 30_000 }).toBeGreaterThan(1);
  return {
    image: await page.getByTestId(`pane-${PAIR[0]}`).getAttribute('data-image'),
    numbers: await rows.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-value')} ${e.textContent}`)),
    truth: await page.getByTestId('gt-list').innerText(),
    zoom: await page.getByTestId('layer').first().getAttribute('style'),
    findings: await page.getByTestId('finding').allInnerTexts(),
  };
}

async function ownImageWithBoxAndFinding(page: Page, png: Buffer, name: string) {
  await page.goto(`${app.url}#m=${PAIR.join(',')}&b=wasm`);
  await page.getByTestId('file-input').setInputFiles({ name, mimeType: 'image/png', buffer: png });
  await page.waitForFunction(() => location.hash.includes('img='));
  for (const id of PAIR) await drawn(page, id);
  await page.getByTestId('gt-draw').scrollIntoViewIfNeeded();
  const area = (await page.getByTestId('gt-draw').boundingBox())!;
  await page.mouse.move(area.x + 0.2 * area.width, area.y + 0.2 * area.height);
  await page.mouse.down();
  await page.mouse.move(area.x + 0.6 * area.width, area.y + 0.5 * area.height, { steps: 5 });
  await page.mouse.up();
  await expect.poll(() => page.getByTestId('gt-list').innerText()).toMatch(/#1/);
  // zoom into the panes (the wheel over the first pane), then pin a finding to the zoomed region
  await page.getByTestId(`pane-${PAIR[0]}`).scrollIntoViewIfNeeded();
  const pane = (await page.getByTestId(`pane-${PAIR[0]}`).locator('[data-testid=layer]').boundingBox())!;
  await page.mouse.move(pane.x + pane.width / 3, pane.y + pane.height / 3);
  await page.mouse.wheel(0, -400);
  await page.waitForFunction(() => location.hash.includes('z='));
  await page.getByTestId('finding-text').fill('the student misses <b>scratches</b> at the belt edge');
  await page.getByTestId('finding-scope').selectOption('region');
  await page.getByTestId('finding-pin').click();
  await expect.poll(() => page.getByTestId('finding').count()).toBe(1);
}

async function copyLink(page: Page): Promise<string> {
  await page.getByTestId('share-copy-link').click();
  const field = page.getByTestId('share-link');
  await field.waitFor({ timeout: 30_000 });
  return field.inputValue();
}

describe('sharing a view', () => {
  it('own image + drawn box + zoom + finding → link → a fresh browser shows the same pixels and numbers', async () => {
    const page = await app.browser.newPage();
    await ownImageWithBoxAndFinding(page, ownImage(140, 110), 'factory-test-005.png'); // a gallery sample's name
    const before = await shown(page);
    const link = await copyLink(page);
    expect(link.length).toBeLessThanOrEqual(65_536);
    expect(link).toContain('&x=');
    expect(await page.getByTestId('share-note').count()).toBe(0); // nothing downscaled, nothing left out

    const other = await app.browser.newContext(); // another person: no storage, no files, only the link
    const theirs = await other.newPage();
    const errors: string[] = [];
    theirs.on('pageerror', (e) => errors.push(e.message));
    await theirs.goto(link);
    const after = await shown(theirs);
    expect(after).toEqual(before);
    expect(after.image).toMatch(/^[0-9a-f]{16}$/);
    // the finding text arrives as text, and review mode steps to it
    expect(after.findings[0]).toContain('<b>scratches</b>');
    await theirs.getByTestId('review-open').click();
    await expect.poll(() => theirs.getByTestId('review-finding').innerText()).toContain('<b>scratches</b>');
    await theirs.keyboard.press('Escape');
    await theirs.getByTestId('review').waitFor({ state: 'detached' });
    expect(errors).toEqual([]);
    await other.close();
    await page.close();
  });

  it('a link pasted into an open tab replaces the view; a cut link is refused in words, the view stays', async () => {
    const page = await app.browser.newPage();
    await ownImageWithBoxAndFinding(page, ownImage(120, 96, 'factory-test-009.png'), 'mine.png');
    const link = await copyLink(page);
    const before = await shown(page);
    const tab = await app.browser.newPage();
    await tab.goto(`${app.url}#m=seg-teacher,seg-student-attnfd&s=factory-test-002.png&b=wasm`);
    await drawn(tab, 'seg-teacher');
    await tab.evaluate(
      (hash) => {
        location.hash = hash;
      },
      link.slice(link.indexOf('#')),
    );
    expect(await shown(tab)).toEqual(before);
    // the same link cut short: the view's parameters still open, the shared part is refused with the reason
    const cut = link.slice(0, link.length - 40);
    const third = await app.browser.newPage();
    await third.goto(cut);
    await third
      .getByTestId('link-notice')
      .filter({ hasText: /shared view (is cut short|does not decompress)/ })
      .waitFor({ timeout: 30_000 });
    await page.close();
    await tab.close();
    await third.close();
  });

  it('a view too large for a link is made smaller, with a note; the .attnlens file carries it whole', async () => {
    const page = await app.browser.newPage();
    await ownImageWithBoxAndFinding(page, ownImage(900, 700), 'big.png');
    const link = await copyLink(page);
    expect(link.length).toBeLessThanOrEqual(65_536);
    expect(await page.getByTestId('share-note').innerText()).toMatch(/carries big.png at \d+×\d+ instead of 900×700/);
    const before = await shown(page);
    const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('share-save-file').click()]);
    expect(file.suggestedFilename()).toMatch(/\.attnlens$/);
    const bytes = readFileSync((await file.path())!);
    const other = await app.browser.newContext();
    const theirs = await other.newPage();
    await theirs.goto(app.url);
    await theirs.getByTestId('file-input').setInputFiles({ name: 'review.attnlens', mimeType: '', buffer: bytes });
    expect(await shown(theirs)).toEqual(before);
    await other.close();
    await page.close();
  });

  it('a dropped model travels by name and SHA-256: asked for, refused when it differs, opened when it is the same', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=seg-teacher&s=factory-test-001.png&b=wasm`);
    await page.getByTestId('file-input').setInputFiles(corpusFile('tiny-det.onnx.gz'));
    await drawn(page, 'local-tiny-det');
    const link = await copyLink(page);
    const other = await app.browser.newContext();
    const theirs = await other.newPage();
    await theirs.goto(link);
    const pane = theirs.getByTestId('pane-local-tiny-det');
    await expect
      .poll(() => pane.innerText(), { timeout: 30_000 })
      .toMatch(/uses tiny-det.onnx.gz .*SHA-256 [0-9a-f]{12}/);
    // another file of the same name is refused
    await theirs.getByTestId('file-input').setInputFiles({
      name: 'tiny-det.onnx',
      mimeType: 'application/octet-stream',
      buffer: readFileSync(join(root, 'tests/fixtures/corpus/dynamic-batch.onnx')),
    });
    await theirs.getByRole('alert').filter({ hasText: 'is not the model of the shared view' }).waitFor();
    await theirs.getByTestId('file-input').setInputFiles(corpusFile('tiny-det.onnx.gz'));
    await drawn(theirs, 'local-tiny-det');
    await other.close();
    await page.close();
  });
});
