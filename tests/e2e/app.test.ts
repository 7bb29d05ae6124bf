import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, serveApp } from './browser';

const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as { models: { id: string }[] };
const app = serveApp();

describe('the app in Debian chromium', () => {
  it('lists every bundled zoo model with its measured headline', async () => {
    const page = await app.browser.newPage();
    await page.goto(app.url);
    const rows = page.getByTestId('zoo-table').locator('tbody tr');
    await expect.poll(() => rows.count(), { timeout: 20_000 }).toBe(index.models.length);
    const text = await page.getByTestId('zoo-table').innerText();
    for (const m of index.models) expect(text).toContain(m.id);
    expect(text).toMatch(/mIoU \d+\.\d/);
    await page.close();
  });
});
