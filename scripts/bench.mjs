// `npm run bench`: numbers, not pass/fail. Per zoo model:
//   node ms      onnxruntime-node (native, 2 threads), median
//   wasm(node)   onnxruntime-web WASM under Node (1 thread), median
//   chromium     WASM in Debian's chromium as the app runs it (worker), median of warm runs
//   overlay ms   open-to-overlay: page load → model fetched, compiled, run, mask/boxes drawn (first run)
//   long task    the longest main-thread task (PerformanceObserver 'longtask'): during start-up to the first
//                overlay, and while the models then run on 8 more gallery images (the "never blocks" target)
// Then per method view and control (target: under 100 ms): redraw ms = from the control's input event to the
// second animation frame after the view's DOM changed (the frame that shows the new canvases), median.
// Then memory (scripts/bench-memory.mjs): the default pair stepping through 200 dropped 640×480 images,
// memory after forced GC at checkpoints (target: flat within 10 %).
// Then a data set (scripts/bench-dataset.mjs): images/s of the headless evaluation on Ray with 1 and 2 local
// workers, and of the app's Evaluate mode, with its longest main-thread task and memory.
// BENCH_ONLY=models|views|memory|dataset|workers (comma-separated) runs only those; `-- --views` = BENCH_ONLY=views.
// (workers, not in the default set: six segmenters in one view, the renderer's peak and settled memory.)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { chromium } from 'playwright-core';
import { preview } from 'vite';
import { benchDataset } from './bench-dataset.mjs';
import { benchMemory, benchModelsMemory } from './bench-memory.mjs';
import { root, setupBrowser, setupNode } from './setup.mjs';

// `npm run bench -- --gpu`: onnxruntime-web's WebGPU build under Node + Dawn, no browser (scripts/bench-gpu.mjs)
if (process.argv.includes('--gpu'))
  process.exit(await (await import('./bench-gpu.mjs')).main(process.argv.slice(2).filter((a) => a !== '--gpu')));

setupNode();
setupBrowser();
ortWeb.env.wasm.numThreads = 1;
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8'));
const median = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];

async function timeSession(session, Tensor) {
  const shape = session.inputMetadata[0].shape.map((d) => (typeof d === 'number' ? d : 1));
  const feeds = {
    [session.inputNames[0]]: new Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b)).fill(0.1), shape),
  };
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
  args: [
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    '--js-flags=--expose-gc', // the memory section collects the inference worker's garbage before measuring
  ],
});

/** A page that records its longest main-thread task in window.__longest. */
async function pageWithLongTasks() {
  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.__longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  return page;
}

async function inBrowser(id) {
  const page = await pageWithLongTasks();
  const pane = page.getByTestId(`pane-${id}`);
  const t0 = Date.now();
  await page.goto(`${url}#m=${id}&s=factory-test-000.png&b=wasm`);
  await pane.and(page.locator('[data-state=drawn]')).waitFor({ timeout: 120_000 });
  const overlay = Date.now() - t0;
  const longest = await page.evaluate(() => window.__longest);
  await page.evaluate(() => {
    window.__longest = 0;
  }); // from here on: only while models run
  // warm runs: step through gallery images; each pane status reports the worker's run time
  const warm = [];
  for (let i = 1; i <= Math.min(8, RUNS); i++) {
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(
      ([sel, n]) => {
        const s = document.querySelector(sel)?.textContent ?? '';
        return (
          /· \d+ ms/.test(s) &&
          document.querySelectorAll('[data-testid=strip] button')[n]?.className.includes('border-sky-400')
        );
      },
      [`[data-testid="pane-${id}"] [data-testid=pane-status]`, i],
      { timeout: 60_000 },
    );
    const text = await pane.getByTestId('pane-status').innerText();
    warm.push(Number(text.match(/· (\d+) ms/)[1]));
  }
  const whileRunning = await page.evaluate(() => window.__longest);
  await page.close();
  // a model with nothing to overlay (no task view) is not run by the app: its run time reads 0
  return { chromium: warm.some((v) => v > 0) ? String(median(warm)) : '–', overlay, longest, whileRunning };
}

const only = new Set(
  (process.env.BENCH_ONLY ?? (process.argv.includes('--views') ? 'views' : 'models,views,memory,dataset')).split(','),
);
if (only.has('models'))
  console.log(
    `${'model'.padEnd(30)}  node ms  wasm(node) ms  ratio  chromium wasm ms  open→overlay ms  longest task: start-up / while running (ms)`,
  );
for (const m of only.has('models') ? index.models : []) {
  const bytes = readFileSync(join(root, 'public', m.file));
  const a = await timeSession(await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 2 }), ortNode.Tensor);
  const b = await timeSession(
    await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] }),
    ortWeb.Tensor,
  );
  const c = await inBrowser(m.id);
  console.log(
    `${m.id.padEnd(30)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(14)} ${(b / a).toFixed(1).padStart(6)}` +
      ` ${c.chromium.padStart(17)} ${String(c.overlay).padStart(16)} ${c.longest.toFixed(0).padStart(22)} / ${c.whileRunning.toFixed(0)}`,
  );
}
// View redraws: [view, link, control (testid), how it is set, values cycled, view section testid].
const REDRAWS = [
  [
    'CBAM gates: mask opacity',
    '#m=seg-teacher,seg-student-plain,seg-student-attnfd',
    'opacity',
    'input',
    ['0.2', '0.8'],
    'attnfd-view',
  ],
  [
    'ViT: layer (CLS attention)',
    '#m=vit-attn,seg-teacher',
    'vit-layer',
    'select',
    ['0', '1', '2', '3', '4'],
    'vit-view',
  ],
  ['ViT: DINO mass', '#m=vit-attn,seg-teacher', 'vit-mass', 'input', ['0.3', '0.5', '0.7', '0.9'], 'vit-view'],
  // the rollout arrives from the worker: wait for the caption to name the new layers
  [
    'ViT: layer (rollout, worker)',
    '#m=vit-attn,seg-teacher&vm=rollout',
    'vit-layer',
    'select',
    ['0', '1', '2', '3', '4'],
    'vit-view',
    ['vit-map-caption', 'layers 0–{v}'],
  ],
  [
    'H-DETR: K (one-to-many)',
    '#m=detr-teacher,detr-student-hybrid&hm=o2m',
    'k',
    'input',
    ['1', '3', '6', '2'],
    'hdetr-view',
  ],
  ['H-DETR: GIoU weight', '#m=detr-teacher,detr-student-hybrid', 'w-giou', 'input', ['1', '2', '4'], 'hdetr-view'],
  [
    'KS-DETR: attention source',
    '#m=detr-student-o2o,detr-student-ks',
    'ks-src-mean',
    'click',
    ['ks-src-query', 'ks-src-mean'],
    'ks-view',
  ],
];

async function redraw(page, testid, how, value, section, until) {
  return page.evaluate(
    async ([testid, how, value, section, until]) => {
      const el = document.querySelector(`[data-testid="${how === 'click' ? value : testid}"]`);
      const view = document.querySelector(`[data-testid="${section}"]`);
      if (!el || !view) return NaN;
      const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
      const done = () =>
        !until ||
        document.querySelector(`[data-testid="${until[0]}"]`)?.textContent.includes(until[1].replace('{v}', value));
      const changed = new Promise((resolve) => {
        const obs = new MutationObserver(() => {
          if (done()) {
            obs.disconnect();
            resolve();
          }
        });
        obs.observe(view, { subtree: true, childList: true, attributes: true, characterData: true });
        setTimeout(() => {
          obs.disconnect();
          resolve();
        }, 5000);
      });
      const t0 = performance.now();
      if (how === 'click') el.click();
      else {
        const proto = how === 'select' ? HTMLSelectElement.prototype : HTMLInputElement.prototype;
        Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, value); // React tracks the native setter
        el.dispatchEvent(new Event(how === 'select' ? 'change' : 'input', { bubbles: true }));
      }
      await changed;
      await frame();
      await frame();
      return performance.now() - t0;
    },
    [testid, how, value, section, until],
  );
}

if (only.has('views'))
  console.log(`\nview redraw (ms, target < 100)             median   worst   longest main-thread task while redrawing`);
for (const [label, hash, testid, how, values, section, until] of only.has('views') ? REDRAWS : []) {
  const page = await pageWithLongTasks();
  await page.goto(`${url}${hash}&s=factory-test-000.png&b=wasm`);
  await page.getByTestId(testid).waitFor({ timeout: 120_000 });
  await page.getByTestId(section).waitFor({ timeout: 120_000 });
  await page.waitForTimeout(1500); // let every pane finish its first run
  await page.evaluate(() => {
    window.__longest = 0;
  });
  const t = [];
  for (let round = 0; round < 3; round++)
    for (const v of values) t.push(await redraw(page, testid, how, v, section, until));
  const longest = await page.evaluate(() => window.__longest);
  console.log(
    `${label.padEnd(40)} ${median(t).toFixed(1).padStart(7)} ${Math.max(...t)
      .toFixed(1)
      .padStart(7)} ${longest.toFixed(0).padStart(8)}`,
  );
  await page.close();
}
if (only.has('memory')) await benchMemory(browser, url);
if (only.has('dataset')) await benchDataset(browser, url);
if (only.has('workers')) await benchModelsMemory(browser, url);
await browser.close();
await server.close();
