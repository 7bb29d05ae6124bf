/** The ViT pseudo-mask view: the mask the page draws is the analysis function's, for the chosen layer and mass. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dinoMassMask, headMean } from '../../src/analysis/attention';
import { loadContract, type Contract } from '../../src/contract';
import { toTensor } from '../../src/inference/preprocess';
import { root, useApp } from './browser';

const app = useApp();
const sample = 'factory-test-003.png';

async function expectedPatches(layer: number, mass: number): Promise<number> {
  const bytes = new Uint8Array(readFileSync(join(root, 'public/models/vit-attn.onnx')));
  const contract = (loadContract(bytes) as { contract: Contract }).contract;
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0; i < png.width * png.height; i++) for (let c = 0; c < 3; c++) rgba[i * 4 + c] = png.data[i * png.channels + c];
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ image: new ort.Tensor('float32', toTensor(rgba, contract.input), contract.input.shape) });
  const rows = out.cls_attention;
  const [, , heads, n] = rows.dims;
  const data = rows.data as Float32Array;
  return dinoMassMask(headMean(data.slice(layer * heads * n, (layer + 1) * heads * n), heads), mass).reduce((a, b) => a + b, 0);
}

describe('ViT view', () => {
  it('draws per-head maps and the DINO mask the analysis function computes, following layer and mass', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=seg-teacher,vit-attn&s=${sample}&b=wasm`);
    const view = page.getByTestId('vit-view');
    await view.waitFor({ timeout: 60_000 });
    expect(await view.getByTestId('vit-head').count()).toBe(4);
    const caption = () => view.getByTestId('vit-dino-caption').innerText();
    const patches = async () => Number((await caption()).match(/DINO: (\d+) of 400/)![1]);
    expect(await patches()).toBe(await expectedPatches(4, 0.6));
    expect(await caption()).toMatch(/IoU \d+\.\d % vs seg-teacher's foreground/);
    await view.getByTestId('vit-layer').selectOption('2');
    await view.getByTestId('vit-mass').fill('0.3');
    await expect.poll(patches).toBe(await expectedPatches(2, 0.3));
    expect(await page.evaluate(() => location.hash)).toMatch(/l=2.*ma=0\.30/);
    await page.close();
  });
});
