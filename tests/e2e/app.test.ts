import type { Browser } from 'playwright-core';
import type { PreviewServer } from 'vite';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, root, startApp } from './browser';

const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as { models: { id: string }[] };
let server: PreviewServer;
let url: string;
let browser: Browser;

beforeAll(async () => {
  ({ server, url } = await startApp());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the app in Debian chromium', () => {
  it('lists every bundled zoo model with its measured headline', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const rows = page.getByTestId('zoo-table').locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(index.models.length);
    const text = await page.getByTestId('zoo-table').innerText();
    for (const m of index.models) expect(text).toContain(m.id);
    expect(text).toMatch(/mIoU \d+\.\d/);
    await page.close();
  });
});
