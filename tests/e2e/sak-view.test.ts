/**
 * SAK view: N ≥ 3 models side by side, router weights per path, a cosine map per teacher — each number checked
 * against the zoo models run natively, with SAK's per-location cosine written out here (not the app's code).
 */
import { color } from 'd3-color';
import { scaleSequential } from 'd3-scale';
import { interpolateViridis } from 'd3-scale-chromatic';
import { describe, expect, it } from 'vitest';
import { serveApp } from './browser';
import { runNative } from './native';

const app = serveApp();
const sample = 'factory-test-002.png';

/**
 * Cosine per grid cell between two feature maps over their channels; each map is read through `at(channel, cell)`,
 * so a channel-major [C, h, w] map and a token-major [h·w, C] one are compared cell for cell without reshaping.
 */
function cellCosine(
  a: (c: number, i: number) => number,
  b: (c: number, i: number) => number,
  channels: number,
  cells: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < cells; i++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let c = 0; c < channels; c++) {
      ab += a(c, i) * b(c, i);
      aa += a(c, i) ** 2;
      bb += b(c, i) ** 2;
    }
    out.push(ab / Math.sqrt(aa * bb));
  }
  return out;
}

const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;

describe('SAK view', () => {
  it('shows the router weights and, per teacher, the cosine map the native models give', async () => {
    // Reference: the student's adapter path per teacher (projected to the teacher's width, [1, C, 20, 20]) against
    // the output that teacher's contract entry names: seg-teacher's context refined map [1, 128, 20, 20] (same
    // layout) and vit-attn's patch tokens [1, 400, 64] (token-major, row-major over the same 20×20 grid). Both grids
    // equal the student's, so there is nothing to resample.
    const student = await runNative('sak-student', sample);
    const seg = await runNative('seg-teacher', sample);
    const vit = await runNative('vit-attn', sample);
    const cells = 20 * 20;
    const toSeg = student.outputs['sak.seg-teacher.projected'];
    const toVit = student.outputs['sak.vit-attn.projected'];
    const segRefined = seg.outputs['cbam.context.refined'];
    const vitTokens = vit.outputs.patch_tokens;
    expect(toSeg.dims).toEqual([1, 128, 20, 20]);
    expect(segRefined.dims).toEqual([1, 128, 20, 20]);
    expect(toVit.dims).toEqual([1, 64, 20, 20]);
    expect(vitTokens.dims).toEqual([1, cells, 64]);
    const channelMajor = (d: Float32Array) => (c: number, i: number) => d[c * cells + i];
    const reference: Record<string, number[]> = {
      'seg-teacher': cellCosine(channelMajor(toSeg.data), channelMajor(segRefined.data), 128, cells),
      'vit-attn': cellCosine(channelMajor(toVit.data), (c, i) => vitTokens.data[i * 64 + c], 64, cells),
    };
    // The router output is already the softmax over [stem, seg-teacher, vit-attn] (contract: router_weights).
    const router = Array.from(student.outputs.router_weights.data);

    // The references can tell a wrong answer: teachers differ, and reading the ViT tokens channel-major (a layout
    // mistake) gives a different map.
    const refMean = { 'seg-teacher': mean(reference['seg-teacher']), 'vit-attn': mean(reference['vit-attn']) };
    expect(Math.abs(refMean['seg-teacher'] - refMean['vit-attn'])).toBeGreaterThan(0.05);
    const vitWrongLayout = mean(cellCosine(channelMajor(toVit.data), channelMajor(vitTokens.data), 64, cells));
    expect(Math.abs(vitWrongLayout - refMean['vit-attn'])).toBeGreaterThan(0.05);
    expect(router.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);

    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=sak-student,seg-teacher,vit-attn&s=${sample}&b=wasm`);
    for (const id of ['sak-student', 'seg-teacher', 'vit-attn']) {
      await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 60_000 });
    }
    const list = page.getByTestId('sak-router');
    await list.waitFor();
    const items = list.locator('li');
    expect(await items.count()).toBe(3);
    for (const [i, path] of ['stem', 'seg-teacher', 'vit-attn'].entries()) {
      const item = items.nth(i);
      const weight = Number(await item.getAttribute('data-weight'));
      expect(Math.abs(weight - router[i])).toBeLessThan(1e-3);
      expect(await item.innerText()).toBe(`${path} ${weight.toFixed(3)}`);
    }
    // where the native router puts ≥ 95 % on one path the view says the router collapsed, onto that path; else
    // it says nothing of the kind (src/methods/sak/compute.test.ts covers both sides of the line)
    const top = router.indexOf(Math.max(...router));
    const share = router[top] / router.reduce((a, b) => a + b, 0);
    if (share >= 0.95)
      expect(await page.getByTestId('sak-router-collapsed').innerText()).toMatch(
        new RegExp(
          `^The router has collapsed: ${(100 * share).toFixed(1)} % of its weight goes to the ${['stem', 'seg-teacher', 'vit-attn'][top]} path on this image`,
        ),
      );
    else expect(await page.getByTestId('sak-router-collapsed').count()).toBe(0);

    const viridis = scaleSequential(interpolateViridis).domain([-1, 1]);
    for (const teacher of ['seg-teacher', 'vit-attn'] as const) {
      const fig = page.getByTestId(`sak-${teacher}`);
      await fig.waitFor({ timeout: 30_000 });
      const pageMean = Number(await fig.getAttribute('data-mean'));
      expect(Math.abs(pageMean - refMean[teacher])).toBeLessThan(1e-3);
      expect(await fig.getByTestId('sak-mean').innerText()).toBe(`mean cosine ${pageMean.toFixed(3)}`);

      // the map, cell by cell: viridis over the fixed domain [−1, 1] of the reference cosine
      const canvas = fig.getByTestId('sak-cosine');
      expect([Number(await canvas.getAttribute('data-lo')), Number(await canvas.getAttribute('data-hi'))]).toEqual([
        -1, 1,
      ]);
      const drawn = await canvas.evaluate((c: HTMLCanvasElement) => ({
        size: [c.width, c.height],
        px: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data),
      }));
      expect(drawn.size).toEqual([20, 20]);
      let worst = 0;
      for (let i = 0; i < cells; i++) {
        const c = color(viridis(reference[teacher][i]))!.rgb();
        worst = Math.max(
          worst,
          Math.abs(c.r - drawn.px[i * 4]),
          Math.abs(c.g - drawn.px[i * 4 + 1]),
          Math.abs(c.b - drawn.px[i * 4 + 2]),
        );
      }
      expect(worst).toBeLessThanOrEqual(3); // WASM vs native float rounding may move a colour by a step
    }
    await page.close();
  });
});
