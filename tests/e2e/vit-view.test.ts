/** The ViT pseudo-mask view: the mask the page draws is the analysis function's, for the chosen layer and mass. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { dinoMassMask, headMean } from '../../src/analysis/attention';
import { cocoForeground, maskIoU } from '../../src/analysis/cocoMasks';
import { patchMaskToImage } from '../../src/analysis/patchMask';
import { type CompressedRle, rleArea, rleBbox, rleToMask } from '../../src/analysis/rle';
import { type Contract, loadContract } from '../../src/contract';
import { toTensor } from '../../src/inference/preprocess';
import { root, serveApp } from './browser';

const app = serveApp();
const sample = 'factory-test-003.png';

async function expectedPatches(layer: number, mass: number): Promise<number> {
  return (await expectedMask(layer, mass)).reduce((a, b) => a + b, 0);
}

async function expectedMask(layer: number, mass: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(readFileSync(join(root, 'public/models/vit-attn.onnx')));
  const contract = (loadContract(bytes) as { contract: Contract }).contract;
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0; i < png.width * png.height; i++)
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = png.data[i * png.channels + c];
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({
    image: new ort.Tensor('float32', toTensor(rgba, contract.input), contract.input.shape),
  });
  const rows = out.cls_attention;
  const [, , heads, n] = rows.dims;
  const data = rows.data as Float32Array;
  return dinoMassMask(headMean(data.slice(layer * heads * n, (layer + 1) * heads * n), heads), mass);
}

describe('ViT view', () => {
  it('draws per-head maps and the DINO mask the analysis function computes, following layer and mass', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=seg-teacher,vit-attn&s=${sample}&b=wasm`);
    const view = page.getByTestId('vit-view');
    await expect.poll(() => view.getByTestId('vit-head').count(), { timeout: 60_000 }).toBe(4);
    const caption = () => view.getByTestId('vit-dino-caption').innerText();
    const patches = async () => Number((await caption()).match(/DINO: (\d+) of 400/)![1]);
    expect(await patches()).toBe(await expectedPatches(4, 0.6));
    // the segmenter may finish after the ViT: its comparison joins the caption when it does
    await expect.poll(caption, { timeout: 60_000 }).toMatch(/IoU \d+\.\d % vs seg-teacher's foreground/);
    // and against the gallery's annotated masks, as the analysis functions score it
    const truth = cocoForeground(JSON.parse(readFileSync(join(root, 'public/samples/coco.json'), 'utf8')), sample)!;
    const pixels = patchMaskToImage(await expectedMask(4, 0.6), [20, 20], 8, truth.width, truth.height, {
      scaleX: 1,
      scaleY: 1,
      offsetX: 0,
      offsetY: 0,
      inputWidth: 160,
      inputHeight: 160,
    });
    const shownTruth = Number((await caption()).match(/IoU (\d+\.\d) % vs ground truth \((\d+) COCO masks\)/)![1]);
    expect(shownTruth).toBeCloseTo(100 * maskIoU(pixels, truth.mask), 1);
    await view.getByTestId('vit-layer').selectOption('2');
    await view.getByTestId('vit-mass').fill('0.3');
    await expect.poll(patches).toBe(await expectedPatches(2, 0.3));
    expect(await page.evaluate(() => location.hash)).toMatch(/l=2.*ma=0\.30/);
    await page.close();
  });

  it('exports the pseudo-mask as COCO RLE that decodes to the same pixels as the PNG export', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=vit-attn&s=${sample}&b=wasm&l=3&ma=0.45`);
    const view = page.getByTestId('vit-view');
    await view.waitFor({ timeout: 60_000 });
    const patches = await expectedPatches(3, 0.45);
    await expect
      .poll(async () => (await view.getByTestId('vit-dino-caption').innerText()).match(/DINO: (\d+) of 400/)?.[1])
      .toBe(String(patches));
    const save = async (click: () => Promise<void>) => {
      const [download] = await Promise.all([page.waitForEvent('download'), click()]);
      return { name: download.suggestedFilename(), bytes: readFileSync((await download.path())!) };
    };
    const png = await save(() => view.getByRole('button', { name: 'export DINO mask (PNG)' }).click());
    const rle = await save(() => view.getByTestId('vit-export-rle').click());
    expect(rle.name).toBe(`${sample}.vit-attn.dino-mask.coco.json`);

    const image = decode(png.bytes);
    let pngPixels = 0;
    for (let i = 0; i < image.width * image.height; i++) pngPixels += image.data[i * image.channels] > 127 ? 1 : 0;
    const doc = JSON.parse(rle.bytes.toString('utf8'));
    expect(doc.images).toEqual([{ id: 1, file_name: sample, width: 160, height: 160 }]);
    const [ann] = doc.annotations as { segmentation: CompressedRle; area: number; bbox: number[]; image_id: number }[];
    expect(typeof ann.segmentation.counts).toBe('string');
    expect(ann.segmentation.size).toEqual([160, 160]);
    const decoded = rleToMask(ann.segmentation);
    const rlePixels = decoded.mask.reduce((a, b) => a + b, 0);
    expect(patches).toBeGreaterThan(0);
    expect(rlePixels).toBe(patches * 64); // 8-px patches at the 160-px image's own resolution
    expect(rlePixels).toBe(pngPixels);
    expect(ann.area).toBe(rlePixels);
    expect(ann.area).toBe(rleArea(ann.segmentation));
    expect(ann.bbox).toEqual(rleBbox(ann.segmentation));
    // the same pixels, not only the same count: the PNG (at 160 px) and the decoded RLE agree everywhere
    let differ = 0;
    for (let i = 0; i < 160 * 160; i++)
      differ += decoded.mask[i] !== (image.data[i * image.channels] > 127 ? 1 : 0) ? 1 : 0;
    expect(differ).toBe(0);
    await page.close();
  });
});
