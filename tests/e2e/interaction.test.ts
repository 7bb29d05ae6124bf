/** Shared pan/zoom and hover across panes, and switching the backend reloads and reruns the models. */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { serveApp } from './browser';

const app = serveApp();
let page: Page;
const [a, b] = ['seg-teacher', 'seg-student-plain'];

beforeAll(async () => {
  page = await app.browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${app.url}#m=${a},${b}&s=factory-test-004.png&b=wasm`);
  for (const id of [a, b])
    await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 60_000 });
});

describe('panes move together', () => {
  it('zooming one pane zooms the other the same way', async () => {
    const box = (await page.getByTestId(`pane-${a}`).getByTestId('viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -400);
    const transform = (id: string) =>
      page
        .getByTestId(`pane-${id}`)
        .getByTestId('layer')
        .evaluate((el) => (el as HTMLElement).style.transform);
    await expect.poll(() => transform(a)).toMatch(/scale\((?!1\))/);
    expect(await transform(b)).toBe(await transform(a));
  });
  it("hovering one pane shows the same image point, and each model's class there, in both", async () => {
    const box = (await page.getByTestId(`pane-${a}`).getByTestId('viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.6);
    const readA = await page.getByTestId(`pane-${a}`).getByTestId('readout').innerText();
    const readB = await page.getByTestId(`pane-${b}`).getByTestId('readout').innerText();
    const point = /^\((\d+), (\d+)\) (background|bolt|nut|washer|gear|bracket|defect)$/;
    expect(readA).toMatch(point);
    expect(readB).toMatch(point);
    expect(readA.match(point)![1]).toBe(readB.match(point)![1]);
    expect(readA.match(point)![2]).toBe(readB.match(point)![2]);
  });
});

describe('backend switch', () => {
  it('reloads the models on the chosen backend and draws again', async () => {
    await page.locator('select').nth(1).selectOption('webgpu');
    for (const id of [a, b]) {
      await expect
        .poll(() => page.getByTestId(`pane-${id}`).getByTestId('pane-status').innerText(), { timeout: 240_000 })
        .toMatch(/^webgpu · graph capture · \d+ ms · mask$/); // the zoo's graphs are all captured
    }
    expect(await page.evaluate(() => location.hash)).toContain('b=webgpu');
  }, 300_000); // WebGPU here is SwiftShader: compiling and capturing at load took 74 s on a busy machine
});
