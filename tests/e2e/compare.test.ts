/**
 * The product's spine in a real browser: open a zoo pair on a gallery sample, both panes draw, the mask
 * is where the model put it (checked against onnxruntime-node on the same pixels), bad input keeps the view.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { decodeQueries } from '../../src/analysis/boxes';
import { argmaxClasses, maskAgreement } from '../../src/analysis/segmentation';
import { type Contract, loadContract } from '../../src/contract';
import { toTensor } from '../../src/inference/preprocess';
import { recommendedThreshold } from '../../src/methods/detr/contract';
import { root, serveApp } from './browser';

const app = serveApp();

/** A gallery PNG's pixels as RGBA (optionally mirrored left-right: an image no gallery entry has). */
function samplePixels(sample: string, mirror = false): { rgba: Uint8ClampedArray; width: number; height: number } {
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const from = y * png.width + (mirror ? png.width - 1 - x : x);
      for (let c = 0; c < 3; c++) rgba[(y * png.width + x) * 4 + c] = png.data[from * png.channels + c];
      rgba[(y * png.width + x) * 4 + 3] = 255;
    }
  }
  return { rgba, width: png.width, height: png.height };
}

/** Run a zoo model natively on a gallery PNG (or its mirror image), pre-processed as its contract says. */
async function runNative(modelId: string, sample: string, mirror = false) {
  const bytes = new Uint8Array(readFileSync(join(root, 'public/models', `${modelId}.onnx`)));
  const contract = (loadContract(bytes) as { contract: Contract }).contract;
  const png = samplePixels(sample, mirror);
  const rgba = png.rgba;
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    image: new ort.Tensor('float32', toTensor(rgba, contract.input), contract.input.shape),
  });
  return { out, contract, width: png.width, height: png.height };
}

/** The class map a model predicts for a gallery image, computed natively in Node. */
async function nativeClassMap(modelId: string, sample: string, mirror = false): Promise<Uint8Array> {
  const { out } = await runNative(modelId, sample, mirror);
  const logits = out.seg_logits;
  return argmaxClasses(logits.data as Float32Array, logits.dims[1], logits.dims[2], logits.dims[3]);
}

/** Non-background pixels the model predicts for a gallery image, computed natively in Node. */
async function expectedForeground(modelId: string, sample: string, mirror = false): Promise<number> {
  return (await nativeClassMap(modelId, sample, mirror)).reduce((n, k) => n + (k > 0 ? 1 : 0), 0);
}

/** A mirrored gallery sample as a PNG file the user drops. */
function mirroredPng(sample: string, name: string) {
  const { rgba, width, height } = samplePixels(sample, true);
  return {
    name,
    mimeType: 'image/png',
    buffer: Buffer.from(encode({ width, height, data: new Uint8Array(rgba.buffer), channels: 4 })),
  };
}

const agreement = (page: Page, model: string, against: string) =>
  page.locator(`[data-testid=agreement][data-model="${model}"][data-against="${against}"]`);

async function paintedPixels(page: Page, modelId: string): Promise<number> {
  return page
    .getByTestId(`pane-${modelId}`)
    .getByTestId('mask')
    .evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
}

describe('teacher | student compare', () => {
  const models = ['seg-teacher', 'seg-student-attnfd'];
  const sample = 'factory-test-000.png';
  let page: Page;

  it('draws both masks where the models put them, with the agreement number', async () => {
    page = await app.browser.newPage();
    await page.goto(`${app.url}#m=${models.join(',')}&s=${sample}&b=wasm`);
    for (const id of models) {
      await expect
        .poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 60_000 })
        .toBe('drawn');
      const painted = await paintedPixels(page, id);
      const expected = await expectedForeground(id, sample);
      expect(painted).toBeGreaterThan(200);
      expect(Math.abs(painted - expected)).toBeLessThanOrEqual(10); // WASM vs native float ties
    }
    const row = agreement(page, models[1], models[0]);
    await expect.poll(() => row.innerText()).toMatch(/mask mIoU of seg-student-attnfd against seg-teacher: \d+\.\d %/);
    const native = maskAgreement(await nativeClassMap(models[0], sample), await nativeClassMap(models[1], sample), 7);
    expect(Math.abs(Number(await row.getAttribute('data-value')) - native.miou)).toBeLessThan(0.01);
    expect(await page.getByTestId(`pane-${models[0]}`).getByTestId('pane-status').innerText()).toMatch(
      /^wasm, \d+ threads? · \d+ ms · mask$/,
    );
  });

  it('a dropped image joins the strip and both models analyse it', async () => {
    const before = await page.getByTestId('strip').locator('button').count();
    await page.getByTestId('file-input').setInputFiles(mirroredPng('factory-test-005.png', 'mine.png'));
    await expect.poll(() => page.getByTestId('strip').locator('button').count()).toBe(before + 1);
    for (const id of models) {
      await expect
        .poll(
          async () =>
            Math.abs((await paintedPixels(page, id)) - (await expectedForeground(id, 'factory-test-005.png', true))),
          { timeout: 60_000 },
        )
        .toBeLessThanOrEqual(10);
    }
  });

  it('a file with the same pixels as an open image shows that image instead of a duplicate', async () => {
    const before = await page.getByTestId('strip').locator('button').count();
    await page.getByTestId('file-input').setInputFiles({
      name: 'copy.png',
      mimeType: 'image/png',
      buffer: readFileSync(join(root, 'public/samples/factory-test-005.png')),
    });
    await expect
      .poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n'))
      .toMatch(/copy\.png has the same pixels as factory-test-005\.png/);
    expect(await page.getByTestId('strip').locator('button').count()).toBe(before);
    expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-005\.png/);
  });

  it('two different images with the same name each show their own results', async () => {
    const seen: string[] = [];
    for (const sample of ['factory-test-008.png', 'factory-test-011.png']) {
      await page.getByTestId('file-input').setInputFiles(mirroredPng(sample, 'image.png'));
      // The new image becomes current (a second 'image.png' is not taken for the first one).
      await expect
        .poll(async () => {
          const current = page.getByTestId('current-image');
          const id = await current.getAttribute('data-image');
          return /^image\.png · 160×160 · your image/.test(await current.innerText()) && !seen.includes(id!);
        })
        .toBe(true);
      const id = (await page.getByTestId('current-image').getAttribute('data-image'))!;
      seen.push(id);
      for (const m of models) {
        await expect.poll(() => page.getByTestId(`pane-${m}`).getAttribute('data-image'), { timeout: 60_000 }).toBe(id);
        expect(
          Math.abs((await paintedPixels(page, m)) - (await expectedForeground(m, sample, true))),
        ).toBeLessThanOrEqual(10);
      }
    }
    const ids = await page
      .getByTestId('strip')
      .locator('button')
      .evaluateAll((bs) => bs.map((b) => b.getAttribute('data-image')));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a non-image file gets a named message and the view stays', async () => {
    await page
      .getByTestId('file-input')
      .setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await expect
      .poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n'))
      .toMatch(/notes\.txt is not a file AttnLens opens \(by its bytes it is not an ONNX model, an image or JSON\)/);
    expect(await page.getByTestId(`pane-${models[1]}`).getAttribute('data-state')).toBe('drawn');
  });

  it('the URL fragment mirrors the view and restores it on reload', async () => {
    await page.getByTestId('strip').locator('button').nth(3).click();
    await page.getByRole('slider').first().fill('0.3');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('t=0.30');
    expect(await page.evaluate(() => location.hash)).toContain('s=factory-test-003.png');
    await page.reload();
    await expect.poll(() => page.getByTestId('current-image').innerText()).toMatch(/^factory-test-003\.png/);
    expect(await page.getByRole('slider').first().inputValue()).toBe('0.3');
  });

  it('a link pasted into the open tab is followed, and stepping with the arrow keys updates it', async () => {
    await page.evaluate(() => {
      location.hash = '#m=seg-teacher,seg-student-plain&s=factory-test-006.png&o=0.40&b=wasm';
    });
    await expect.poll(() => page.getByTestId('current-image').innerText()).toMatch(/^factory-test-006\.png/);
    await expect
      .poll(() => page.getByTestId('pane-seg-student-plain').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('drawn');
    await page.locator('body').press('ArrowRight');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('s=factory-test-007.png');
    await page.evaluate(() => {
      location.hash = '#m=seg-teacher&img=00000000deadbeef&in=gone.jpg';
    });
    await expect
      .poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n'))
      .toMatch(/"gone\.jpg" \(id 00000000deadbeef\), which is not open in this tab/);
    await page.close();
  });
});

describe('WebGPU (software adapter here) against WASM', () => {
  it('chosen explicitly, WebGPU draws the same mask as the native runtime', async () => {
    const page = await app.browser.newPage();
    const id = 'seg-student-plain';
    await page.goto(`${app.url}#m=${id}&s=factory-test-002.png&b=webgpu`);
    await expect
      .poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 120_000 })
      .toBe('drawn');
    expect(await page.getByTestId(`pane-${id}`).getByTestId('pane-status').innerText()).toMatch(/^webgpu · /);
    const painted = await paintedPixels(page, id);
    expect(Math.abs(painted - (await expectedForeground(id, 'factory-test-002.png')))).toBeLessThanOrEqual(10);
    await page.close();
  });
});

describe('detectors', () => {
  it('draw the boxes the model predicts above the threshold, with box agreement F1', async () => {
    const models = ['detr-teacher', 'detr-student-hybrid'];
    const sample = 'factory-test-001.png';
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=${models.join(',')}&s=${sample}&b=wasm`);
    for (const id of models) {
      await expect
        .poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 60_000 })
        .toBe('drawn');
      const { out, contract, width, height } = await runNative(id, sample);
      const labels = contract.outputs.find((o) => o.name === 'o2o.logits')!.labels!;
      const want = decodeQueries(
        out['o2o.logits'].data as Float32Array,
        out['o2o.boxes'].data as Float32Array,
        out['o2o.logits'].dims[1],
        labels,
        width,
        height,
        recommendedThreshold(contract)!,
      );
      const drawn = await page.getByTestId(`pane-${id}`).locator('g.det').count();
      expect(drawn).toBe(want.length); // the contract's recommended threshold is the default
      expect(await page.getByTestId(`pane-${id}`).getByTestId('pane-status').innerText()).toMatch(
        new RegExp(` ≥ ${recommendedThreshold(contract)!.toFixed(2).replace('.', '\\.')}, its recommended$`),
      );
    }
    await expect
      .poll(() => agreement(page, 'detr-student-hybrid', 'detr-teacher').innerText())
      .toMatch(/^detr-student-hybrid against detr-teacher: box F1 @ IoU 0\.5 \d+\.\d % \(\d+ of \d+ boxes? matched/);
    expect(await agreement(page, 'detr-teacher', 'ground truth (gallery COCO)').count()).toBe(1);
    // Nothing above the threshold for either model: no number, said in words (never "100 %").
    await page.getByTestId('threshold').fill('1');
    await expect
      .poll(() => agreement(page, 'detr-student-hybrid', 'detr-teacher').innerText())
      .toMatch(/^detr-student-hybrid against detr-teacher: nothing to compare/);
    expect(await agreement(page, 'detr-student-hybrid', 'detr-teacher').getAttribute('data-value')).toBe('');
    await page.close();
  });
});
