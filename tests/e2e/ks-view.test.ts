/** KS-DETR view: the foreground share the page shows is the analysis functions' on the native model output. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { boxMaskOnGrid, keyAttentionPerHead, maskedShare } from '../../src/analysis/attention';
import { type Contract, loadContract } from '../../src/contract';
import { toTensor } from '../../src/inference/preprocess';
import { root, serveApp } from './browser';

const app = serveApp();
const sample = 'factory-test-001.png';

async function expectedShare(modelId: string): Promise<number> {
  const bytes = new Uint8Array(readFileSync(join(root, 'public/models', `${modelId}.onnx`)));
  const contract = (loadContract(bytes) as { contract: Contract }).contract;
  const png = decode(readFileSync(join(root, 'public/samples', sample)));
  const rgba = new Uint8ClampedArray(png.width * png.height * 4);
  for (let i = 0; i < png.width * png.height; i++)
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = png.data[i * png.channels + c];
  const out = await (await ort.InferenceSession.create(bytes)).run({
    image: new ort.Tensor('float32', toTensor(rgba, contract.input), contract.input.shape),
  });
  const t = out['encoder.attention'];
  const [, heads, n] = t.dims;
  const coco = JSON.parse(readFileSync(join(root, 'public/samples/coco.json'), 'utf8'));
  const id = coco.images.find((i: { file_name: string }) => i.file_name === sample).id;
  const boxes = coco.annotations
    .filter((a: { image_id: number }) => a.image_id === id)
    .map(({ bbox: [x, y, w, h] }: { bbox: number[] }) => ({ x0: x, y0: y, x1: x + w, y1: y + h }));
  const mask = boxMaskOnGrid(boxes, png.width, png.height, 20, 20);
  const perHead = keyAttentionPerHead(t.data as Float32Array, heads, n);
  const mean = perHead.reduce((acc, h) => acc.map((v, i) => v + h[i] / heads), new Float32Array(n));
  return maskedShare(mean, mask);
}

describe('KS-DETR view', () => {
  it("reports each detector's encoder attention share on the ground-truth foreground", async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=detr-student-o2o,detr-student-ks&s=${sample}&b=wasm`);
    for (const id of ['detr-student-o2o', 'detr-student-ks']) {
      const caption = page.getByTestId(`ks-${id}`).getByTestId('ks-share');
      await caption.waitFor({ timeout: 60_000 });
      const shown = Number((await caption.innerText()).match(/foreground share (\d+\.\d) %/)![1]);
      expect(shown).toBeCloseTo(100 * (await expectedShare(id)), 0);
    }
    await page.close();
  });
});
