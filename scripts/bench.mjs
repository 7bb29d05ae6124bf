// `npm run bench`: numbers, not pass/fail. Per zoo model:
//   node ms      onnxruntime-node (native, 2 threads), median
//   wasm(node)   onnxruntime-web WASM under Node (1 thread), median
//   chromium     WASM in Debian's chromium as the app runs it (worker), median of warm runs
//   overlay ms   open-to-overlay: page load → model fetched, compiled, run, mask/boxes drawn (first run)
//   long task    the longest main-thread task (PerformanceObserver 'longtask'): during start-up to the first
//                overlay, and while the models then run on 8 more gallery images (the "never blocks" target)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { chromium } from 'playwright-core';
import { preview } from 'vite';
import { root, setupBrowser, setupNode } from './setup.mjs';

setupNode();
setupBrowser();
ortWeb.env.wasm.numThreads = 1;
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8'));
const median = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];

async function timeSession(session, Tensor) {
  const shape = session.inputMetadata[0].shape.map((d) => (typeof d === 'number' ? d : 1));
  const feeds = { [session.inputNames[0]]: new Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b)).fill(0.1), shape) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    t.push(performance.now() - t0);
  }
  return median(t);
}

execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
const server = await preview({ root, preview: { port: 0, host: '127.0.0.1' }, logLevel: 'error' });
const url = `http://127.0.0.1:${server.httpServer.address().port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});

async function inBrowser(id) {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.__longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  const pane = page.getByTestId(`pane-${id}`);
  const t0 = Date.now();
  await page.goto(`${url}#m=${id}&s=factory-test-000.png&b=wasm`);
  await pane.and(page.locator('[data-state=drawn]')).waitFor({ timeout: 120_000 });
  const overlay = Date.now() - t0;
  const longest = await page.evaluate(() => window.__longest);
  await page.evaluate(() => { window.__longest = 0; }); // from here on: only while models run
  // warm runs: step through gallery images; each pane status reports the worker's run time
  const warm = [];
  for (let i = 1; i <= Math.min(8, RUNS); i++) {
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(([sel, n]) => {
      const s = document.querySelector(sel)?.textContent ?? '';
      return /· \d+ ms/.test(s) && document.querySelectorAll('[data-testid=strip] button')[n]?.className.includes('border-sky-400');
    }, [`[data-testid=pane-${id}] [data-testid=pane-status]`, i], { timeout: 60_000 });
    const text = await pane.getByTestId('pane-status').innerText();
    warm.push(Number(text.match(/· (\d+) ms/)[1]));
  }
  const whileRunning = await page.evaluate(() => window.__longest);
  await page.close();
  // a model with nothing to overlay (no task view) is not run by the app: its run time reads 0
  return { chromium: warm.some((v) => v > 0) ? String(median(warm)) : '–', overlay, longest, whileRunning };
}

console.log(`model                     node ms  wasm(node) ms  ratio  chromium wasm ms  open→overlay ms  longest task: start-up / while running (ms)`);
for (const m of index.models) {
  const bytes = readFileSync(join(root, 'public', m.file));
  const a = await timeSession(await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 2 }), ortNode.Tensor);
  const b = await timeSession(await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] }), ortWeb.Tensor);
  const c = await inBrowser(m.id);
  console.log(`${m.id.padEnd(24)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(14)} ${(b / a).toFixed(1).padStart(6)}`
    + ` ${c.chromium.padStart(17)} ${String(c.overlay).padStart(16)} ${c.longest.toFixed(0).padStart(22)} / ${c.whileRunning.toFixed(0)}`);
}
await browser.close();
await server.close();
