/**
 * WASM threads (src/inference/threads.ts): the built app under `vite preview` is cross-origin isolated (COOP +
 * COEP, as `npm start` and docs/hosting.md's hosts send), the pane names the thread count its worker really runs
 * with, and a model forced to 2 threads (`?wasmThreads=2`; on a 2-core machine the policy picks 1) draws what the
 * same model draws on 1 thread. The fallback without isolation is in hosting.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { CROSS_ORIGIN_ISOLATION, CSP } from '../../scripts/vite-plugins';
import { concurrentModels } from '../../src/app/timeouts';
import { busyWorkers, wasmThreads } from '../../src/inference/threads';
import { serveApp } from './browser';

const app = serveApp();
const pages: Page[] = [];
afterAll(async () => {
  for (const p of pages) await p.close();
});

const SEG = ['seg-teacher', 'seg-student-plain'];
const DET = 'detr-teacher';
const VIEW = `#m=${[...SEG, DET].join(',')}&s=factory-test-002.png&b=wasm`;

/** What a view draws: each pane's status, mask pixels (RGBA, as drawn) and boxes, and the agreement numbers. */
async function opened(query: string) {
  const page = await app.browser.newPage(); // a fresh context: its own workers, nothing cached
  pages.push(page);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}${query}${VIEW}`);
  for (const id of [...SEG, DET])
    await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 120_000 });
  const agreement = page.locator(`[data-testid=agreement][data-model="${SEG[1]}"][data-against="${SEG[0]}"]`);
  await agreement.waitFor({ timeout: 30_000 });
  const masks: Record<string, number[]> = {};
  for (const id of SEG)
    masks[id] = await page
      .getByTestId(`pane-${id}`)
      .getByTestId('mask')
      .evaluate((c: HTMLCanvasElement) => [...c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data]);
  return {
    page,
    errors,
    status: Object.fromEntries(
      await Promise.all(
        [...SEG, DET].map(async (id) => [
          id,
          await page.getByTestId(`pane-${id}`).getByTestId('pane-status').innerText(),
        ]),
      ),
    ) as Record<string, string>,
    masks,
    boxes: await page
      .getByTestId(`pane-${DET}`)
      .locator('g.det')
      .evaluateAll((gs) =>
        gs.map((g) => {
          const r = g.querySelector('rect')!;
          return [g.getAttribute('data-query'), g.getAttribute('data-class')]
            .concat(['data-score'].map((a) => g.getAttribute(a)!))
            .concat(['x', 'y', 'width', 'height'].map((a) => r.getAttribute(a)!))
            .map(Number);
        }),
      ),
    agreement: Number(await agreement.getAttribute('data-value')),
    isolated: await page.evaluate(() => crossOriginIsolated),
    cores: await page.evaluate(() => navigator.hardwareConcurrency),
    /** onnxruntime-web's own thread workers (emscripten pthreads), next to the app's model workers. */
    threadWorkers: page.workers().filter((w) => /\/ort\.[\w.-]+\.js$/.test(w.url())).length,
  };
}

const differing = (a: number[], b: number[]) => a.reduce((n, v, i) => n + (v !== b[i] ? 1 : 0), 0);

describe('WASM threads in the built app', () => {
  it('the preview server sends the isolation headers on the page, its scripts and data; the build has _headers', async () => {
    const html = await (await fetch(app.url)).text();
    const script = html.match(/src="\.\/(assets\/index-[^"]+\.js)"/)?.[1];
    expect(script).toBeTruthy();
    for (const path of ['', script, 'models/index.json']) {
      const res = await fetch(`${app.url}${path}`);
      for (const [name, value] of Object.entries(CROSS_ORIGIN_ISOLATION))
        expect(res.headers.get(name), `${name} on /${path}`).toBe(value);
    }
    // and the build's _headers for static hosts that read one (Netlify, Cloudflare Pages)
    expect(readFileSync(join(app.outDir, '_headers'), 'utf8')).toBe(
      `/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: credentialless\n  Content-Security-Policy: ${CSP}\n`,
    );
  });

  let one: Awaited<ReturnType<typeof opened>>;
  it('is cross-origin isolated; each pane names the threads the policy chose, and no note says otherwise', async () => {
    one = await opened('');
    expect(one.isolated).toBe(true);
    const chosen = wasmThreads({
      cores: one.cores,
      busy: busyWorkers(3, Math.min(concurrentModels(one.cores), 4)),
      isolated: true,
    });
    const label = `wasm, ${chosen.threads} thread${chosen.threads === 1 ? '' : 's'} · `;
    for (const id of [...SEG, DET]) expect(one.status[id].startsWith(label), one.status[id]).toBe(true);
    expect(await one.page.getByTestId('pane-seg-teacher').getByTestId('pane-status').getAttribute('title')).toBe(
      chosen.why,
    );
    expect(await one.page.getByTestId('threads-note').count()).toBe(0);
    expect(one.errors).toEqual([]);
  });

  it('forced to 2 threads (?wasmThreads=2): thread workers start, and the models draw what 1 thread drew', async () => {
    if (one.status[SEG[0]].startsWith('wasm, 2 threads')) return; // the policy already ran 2: nothing to compare
    const two = await opened('?wasmThreads=2');
    expect(two.isolated).toBe(true);
    for (const id of [...SEG, DET]) expect(two.status[id]).toMatch(/^wasm, 2 threads · \d+ ms · /);
    expect(one.threadWorkers).toBe(0);
    expect(two.threadWorkers).toBeGreaterThanOrEqual(3); // one more thread for each of the three model workers
    for (const id of SEG) {
      expect(two.masks[id].length).toBe(one.masks[id].length);
      expect(one.masks[id].filter((v, i) => i % 4 === 3 && v > 0).length).toBeGreaterThan(200); // a mask was drawn
      // float sums in another order may flip a tie: allow a handful of the ~16k pixels
      expect(differing(two.masks[id], one.masks[id])).toBeLessThanOrEqual(4 * 10);
    }
    expect(Math.abs(two.agreement - one.agreement)).toBeLessThan(1e-3);
    // the same detections (query, class), their scores and pixel boxes equal to float noise
    expect(two.boxes.map((b) => b.slice(0, 2))).toEqual(one.boxes.map((b) => b.slice(0, 2)));
    two.boxes.forEach((b, i) => {
      expect(Math.abs(b[2] - one.boxes[i][2])).toBeLessThan(1e-4);
      for (let k = 3; k < 7; k++) expect(Math.abs(b[k] - one.boxes[i][k])).toBeLessThan(1e-2);
    });
    expect(one.boxes.length).toBeGreaterThan(0);
    expect(two.errors).toEqual([]);
  });
});
