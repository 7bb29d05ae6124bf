/** SAK view: N ≥ 3 models side by side, router weights per path, a cosine map per teacher. */
import { describe, expect, it } from 'vitest';
import { serveApp } from './browser';

const app = serveApp();

describe('SAK view', () => {
  it('compares the student with both teachers on one image', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=sak-student,seg-teacher,vit-attn&s=factory-test-002.png&b=wasm`);
    for (const id of ['sak-student', 'seg-teacher', 'vit-attn']) {
      await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 60_000 });
    }
    const router = page.getByTestId('sak-router');
    await router.waitFor();
    const weights = (await router.locator('li').allInnerTexts()).map((t) => Number(t.trim().split(/\s+/).pop()));
    expect(weights).toHaveLength(3);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 2);
    for (const teacher of ['seg-teacher', 'vit-attn']) {
      const fig = page.getByTestId(`sak-${teacher}`);
      await fig.waitFor({ timeout: 30_000 });
      expect(await fig.getByTestId('sak-cosine').evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([
        20, 20,
      ]);
      const mean = Number((await fig.getByTestId('sak-mean').innerText()).replace('mean cosine ', ''));
      expect(mean).toBeGreaterThan(-1);
      expect(mean).toBeLessThanOrEqual(1);
    }
    await page.close();
  });
});
