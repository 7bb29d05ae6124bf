/**
 * Attention rollout in the ViT view: computed in the inference worker — with tfjs-backend-webgpu on
 * onnxruntime-web's own WebGPU device for a WebGPU session, in plain TypeScript for a WASM one — and both
 * equal the reference function on native onnxruntime's output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionRollout, patchesOf } from '../../src/analysis/rollout';
import { type Contract, loadContract } from '../../src/contract';
import { toTensor } from '../../src/inference/preprocess';
import { root, serveApp } from './browser';

const app = serveApp();
const sample = 'factory-test-003.png';
let stack: { data: Float32Array; layers: number; heads: number; tokens: number };

beforeAll(async () => {
  const bytes = new Uint8Array(readFileSync(join(root, 'public/models/vit-attn.onnx')));
  const contract = (loadContract(bytes) as { contract: Contract }).contract;
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0; i < png.width * png.height; i++)
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = png.data[i * png.channels + c];
  const out = await (await ort.InferenceSession.create(bytes)).run({
    image: new ort.Tensor('float32', toTensor(rgba, contract.input), contract.input.shape),
  });
  const t = out.self_attention;
  const [, layers, heads, tokens] = t.dims;
  stack = { data: t.data as Float32Array, layers, heads, tokens };
});

async function exportedMap(page: Page): Promise<{ values: number[]; map: string }> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('vit-export-map').click()]);
  return JSON.parse(readFileSync(await download.path(), 'utf8'));
}

async function expectRollout(page: Page, upTo: number, identity: boolean, engine: RegExp) {
  const caption = page.getByTestId('vit-map-caption');
  // the last rollout stays up until the new one arrives: wait for the caption to name this one
  const name = `rollout of layers 0–${upTo} ${identity ? '(½A + ½I)' : '(no identity term)'}`;
  await expect.poll(() => caption.innerText(), { timeout: 120_000 }).toContain(name);
  expect(await caption.innerText()).toMatch(engine);
  const { values } = await exportedMap(page);
  const want = patchesOf(attentionRollout(stack, { upTo, identity, head: 'mean' }), true);
  expect(values).toHaveLength(want.length);
  let worst = 0;
  want.forEach((v, i) => {
    worst = Math.max(worst, Math.abs(v - values[i]));
  });
  expect(worst).toBeLessThan(1e-5); // the map's values are ~1/400 each
}

describe('ViT attention rollout', () => {
  it('on a WASM session: computed on the CPU in the worker, follows layer and identity switch', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=vit-attn,seg-teacher&s=${sample}&b=wasm&vm=rollout`);
    await expectRollout(page, stack.layers - 1, true, /CPU/);
    await page.getByTestId('vit-layer').selectOption('1');
    await expectRollout(page, 1, true, /CPU/);
    await page.getByTestId('vit-identity').uncheck();
    await expectRollout(page, 1, false, /CPU/);
    expect(page.url()).toContain('ri=0');
    await page.close();
  });

  it("on a WebGPU session: computed by tfjs on onnxruntime's device, equal to the CPU reference", async () => {
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on(
      'console',
      (m) => m.type() === 'warning' && /GPU maths unavailable/.test(m.text()) && errors.push(m.text()),
    );
    await page.goto(`${app.url}#m=vit-attn&s=${sample}&b=webgpu&vm=rollout`);
    await expectRollout(page, stack.layers - 1, true, /GPU \(tfjs on onnxruntime's WebGPU device\)/);
    expect(errors).toEqual([]);
    await page.close();
  });
});
