/** The AttnFD/CBAM view on zoo models: every site of both students drawn at the contract's grid, distances named. */
import { describe, expect, it } from 'vitest';
import { serveApp } from './browser';

const app = serveApp();

describe('CBAM view', () => {
  it('shows each site for teacher and students, with the AttnFD distance where a connector exists', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=seg-teacher,seg-student-attnfd,seg-student-plain&s=factory-test-000.png&b=wasm`);
    const view = page.getByTestId('attnfd-view');
    await view.waitFor({ timeout: 60_000 });
    for (const [site, grid] of [
      ['backbone', 20],
      ['context', 20],
      ['decoder', 40],
    ] as const) {
      for (const id of ['seg-teacher', 'seg-student-attnfd', 'seg-student-plain']) {
        const card = view.getByTestId(`site-${site}`).getByTestId(`site-card-${id}`);
        await card.waitFor({ timeout: 60_000 });
        const size = await card.getByTestId('spatial').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
        expect(size).toEqual([grid, grid]);
        expect(await card.getByTestId('channels').locator('rect').count()).toBe(12);
      }
      const distilled = await view
        .getByTestId(`site-${site}`)
        .getByTestId('site-card-seg-student-attnfd')
        .getByTestId('distance')
        .innerText();
      expect(distilled).toMatch(
        /^AttnFD distance [0-3]\.\d{3} · cosine -?[01]\.\d{3} \(student through its trained connector\)$/,
      );
      const plain = await view
        .getByTestId(`site-${site}`)
        .getByTestId('site-card-seg-student-plain')
        .getByTestId('distance')
        .innerText();
      expect(plain).toMatch(/^energy-map distance [0-3]\.\d{3} · cosine/);
    }
    await page.close();
  });
});
