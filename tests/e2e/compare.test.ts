/**
 * The product's spine in a real browser: open a zoo pair on a gallery sample, both panes draw, the mask
 * is where the model put it (checked against onnxruntime-node on the same pixels), bad input keeps the view.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { decodeQueries } from '../../src/analysis/boxes';
import { argmaxClasses } from '../../src/analysis/segmentation';
import { loadContract, type Contract } from '../../src/contract';
import { toTensor } from '../../src/inference/preprocess';
import { root, useApp } from './browser';

const app = useApp();

/** Run a zoo model natively on a gallery PNG, pre-processed as its contract says. */
async function runNative(modelId: string, sample: string) {
  const bytes = new Uint8Array(readFileSync(join(root, 'public/models', `${modelId}.onnx`)));
  const contract = (loadContract(bytes) as { contract: Contract }).contract;
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0; i < png.width * png.height; i++) {
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = png.data[i * png.channels + c];
    rgba[i * 4 + 3] = 255;
  }
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', toTensor(rgba, contract.input), contract.input.shape) });
  return { out, contract, width: png.width, height: png.height };
}

/** Non-background pixels the model predicts for a gallery image, computed natively in Node. */
async function expectedForeground(modelId: string, sample: string): Promise<number> {
  const { out } = await runNative(modelId, sample);
  const logits = out.seg_logits;
  const map = argmaxClasses(logits.data as Float32Array, logits.dims[1], logits.dims[2], logits.dims[3]);
  return map.reduce((n, k) => n + (k > 0 ? 1 : 0), 0);
}

async function paintedPixels(page: Page, modelId: string): Promise<number> {
  return page.getByTestId(`pane-${modelId}`).getByTestId('mask').evaluate((c: HTMLCanvasElement) => {
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
      await expect.poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
      const painted = await paintedPixels(page, id);
      const expected = await expectedForeground(id, sample);
      expect(painted).toBeGreaterThan(200);
      expect(Math.abs(painted - expected)).toBeLessThanOrEqual(10); // WASM vs native float ties
    }
    await expect.poll(() => page.getByTestId('agreement').innerText()).toMatch(/mask mIoU of seg-student-attnfd against seg-teacher: \d+\.\d %/);
    expect(await page.getByTestId(`pane-${models[0]}`).getByTestId('pane-status').innerText()).toMatch(/^wasm · \d+ ms · mask$/);
  });

  it('a dropped image joins the strip and both models analyse it', async () => {
    const before = await page.getByTestId('strip').locator('button').count();
    await page.getByTestId('file-input').setInputFiles(join(root, 'public/samples/factory-test-005.png'));
    await expect.poll(() => page.getByTestId('strip').locator('button').count()).toBe(before + 1);
    for (const id of models) {
      await expect.poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
      expect(Math.abs((await paintedPixels(page, id)) - (await expectedForeground(id, 'factory-test-005.png')))).toBeLessThanOrEqual(10);
    }
  });

  it('a non-image file gets a named message and the view stays', async () => {
    await page.getByTestId('file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await expect.poll(() => page.getByRole('alert').first().innerText()).toMatch(/notes\.txt is not an image this browser can decode/);
    expect(await page.getByTestId(`pane-${models[1]}`).getAttribute('data-state')).toBe('drawn');
  });

  it('the URL fragment mirrors the view and restores it on reload', async () => {
    await page.getByRole('slider').first().fill('0.3');
    await expect.poll(() => page.evaluate(() => location.hash)).toContain('t=0.30');
    await page.reload();
    expect(await page.getByRole('slider').first().inputValue()).toBe('0.3');
    await page.close();
  });
});

describe('WebGPU (software adapter here) against WASM', () => {
  it('chosen explicitly, WebGPU draws the same mask as the native runtime', async () => {
    const page = await app.browser.newPage();
    const id = 'seg-student-plain';
    await page.goto(`${app.url}#m=${id}&s=factory-test-002.png&b=webgpu`);
    await expect.poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 120_000 }).toBe('drawn');
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
    await page.goto(`${app.url}#m=${models.join(',')}&s=${sample}&b=wasm&t=0.30`);
    for (const id of models) {
      await expect.poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
      const { out, contract, width, height } = await runNative(id, sample);
      const labels = contract.outputs.find((o) => o.name === 'o2o.logits')!.labels!;
      const want = decodeQueries(out['o2o.logits'].data as Float32Array, out['o2o.boxes'].data as Float32Array,
        out['o2o.logits'].dims[1], labels, width, height, 0.3);
      const drawn = await page.getByTestId(`pane-${id}`).locator('g.det').count();
      expect(drawn).toBe(want.length);
    }
    await expect.poll(() => page.getByTestId('agreement').innerText()).toMatch(/box agreement F1 @ IoU 0\.5 of detr-student-hybrid against detr-teacher: \d+\.\d %/);
    await page.close();
  });
});

