/**
 * `npm start` serves the app with vite's dev server. On a fresh clone (no pre-bundled dependencies yet) the
 * dev server used to discover the inference worker's imports only when a model first ran, re-bundle, and
 * reload the page: every image the user had dropped by then was gone, and the link notice said the image
 * "is not open in this tab". The worker is now among the dev server's entries (vite.config.ts).
 */
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import type { Browser } from 'playwright-core';
import { createLogger, createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, root } from './browser';

const logs: string[] = [];
let server: ViteDevServer;
let browser: Browser;
let url = '';
const cacheDir = mkdtempSync(join(tmpdir(), 'attnlens-vite-cache-'));

beforeAll(async () => {
  const logger = createLogger('info');
  for (const level of ['info', 'warn', 'error'] as const) {
    const write = logger[level].bind(logger);
    logger[level] = (msg, options) => {
      logs.push(msg);
      if (level !== 'info') write(msg, options);
    };
  }
  // a cache folder of its own: the dependencies are bundled from nothing, as on a fresh clone
  server = await createServer({
    root,
    cacheDir,
    customLogger: logger,
    server: {
      port: 0,
      host: '127.0.0.1',
      strictPort: false,
      // node_modules may be a link to another folder (a worktree sharing one install): vite must serve it
      fs: { allow: [root, realpathSync(join(root, 'node_modules')), cacheDir] },
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  if (!address || typeof address === 'string') throw new Error('dev server has no port');
  url = `http://127.0.0.1:${address.port}/`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** A PNG of `width`×`height` with a pattern of its own (no two files share pixels). */
function png(name: string, width: number, height: number, seed: number) {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = (i * seed) % 251;
    data[i * 4 + 1] = (i >> 3) % 241;
    data[i * 4 + 2] = (seed * 37) % 256;
    data[i * 4 + 3] = 255;
  }
  return { name, mimeType: 'image/png', buffer: Buffer.from(encode({ width, height, data, channels: 4 })) };
}

describe('npm start on a fresh clone', () => {
  it('keeps images dropped one after another while the first models load: the page never reloads', async () => {
    const page = await browser.newPage();
    let loads = 0;
    page.on('load', () => loads++);
    const models = ['seg-teacher', 'seg-student-plain'];
    await page.goto(`${url}#m=${models.join(',')}&b=wasm`);
    const strip = page.getByTestId('strip').locator('button');
    await expect.poll(() => strip.count(), { timeout: 120_000 }).toBeGreaterThan(0);
    const gallery = await strip.count();
    // five drops without waiting, the first one large, all with the same name, as a user drags them in
    const files = [
      png('part.png', 1600, 1000, 3),
      ...[5, 7, 11, 13].map((s, i) => png('part.png', 97 + i * 31, 61, s)),
    ];
    for (const f of files) await page.getByTestId('file-input').setInputFiles(f);
    await expect.poll(() => strip.count(), { timeout: 120_000 }).toBe(gallery + files.length);
    for (const id of models)
      await expect
        .poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 180_000 })
        .toBe('drawn');
    expect(await strip.count()).toBe(gallery + files.length);
    expect(page.url()).toMatch(/[#&]img=[0-9a-f]{16}/); // a dropped image is the one shown
    expect(await page.locator('body').innerText()).not.toContain('not open in this tab');
    expect(loads).toBe(1);
    expect(logs.join('\n')).not.toMatch(/reloading/);
    await page.close();
  });

  it('the development build (React warnings on) logs no error in compare and evaluate', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}#m=seg-student-plain,seg-student-attnfd&b=wasm`);
    for (const id of ['seg-student-plain', 'seg-student-attnfd'])
      await expect
        .poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 120_000 })
        .toBe('drawn');
    await page.getByTestId('mode-evaluate').click();
    await page.getByTestId('evaluate-run').click();
    await page.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 180_000 });
    await expect.poll(() => page.getByTestId('evaluate-row').count()).toBeGreaterThan(0);
    await page.getByTestId('sort-name').click();
    expect(errors).toEqual([]);
    await page.close();
  });
});
