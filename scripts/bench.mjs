// `npm run bench`: numbers, not pass/fail. Per zoo model (medians; t = threads):
//   node 1t / Nt   onnxruntime-node (native) at 1 intra-op thread and at N, the count the app chose for one
//                  model on this machine's chromium (src/inference/threads.ts; read from the pane's backend line)
//   wasm(node) 1t  onnxruntime-web WASM under Node, 1 thread
//   chromium 1t / Nt   WASM in Debian's chromium as the app runs it (its worker, `?wasmThreads=1` for 1t), warm runs
//   ratio 1t / Nt  chromium / node at equal threads (target: within 2×)
//   first view     page open → model fetched, compiled, run, mask/boxes drawn: cold (a fresh browser context, empty
//                  cache) / warm (a second visit in the same context); target < 5 s cold, < 2 s warm
//   longest task   the longest main-thread task (PerformanceObserver 'longtask'): during start-up to the first
//                  overlay, and while the model then runs on more gallery images (the "never blocks" target)
//   webgpu         when scripts/bench-gpu.mjs exists: its benchChromiumWebGpu(browser, url, model, { runs })
//                  result (null: not measured, e.g. no hardware adapter), as chromium_webgpu_ms in the JSON
// The preview server sends the app's cross-origin isolation headers (vite.config.ts), so threads can run.
// BENCH_THREADS=<n> measures n threads instead of the app's choice (on 2 cores the policy picks 1).
// `npm run bench -- --json FILE` also writes the figures as JSON (scripts/bench-report.mjs: modelRecord).
// Then per method view and control (target: under 100 ms): redraw ms = from the control's input event to the
// second animation frame after the view's DOM changed (the frame that shows the new canvases), median.
// Then memory (scripts/bench-memory.mjs): the default pair stepping through 200 dropped 640×480 images,
// memory after forced GC at checkpoints (target: flat within 10 %).
// Then a data set (scripts/bench-dataset.mjs): images/s of the headless evaluation on Ray with 1 and 2 local
// workers, and of the app's Evaluate mode, with its longest main-thread task and memory.
// Then batches (scripts/bench-batch.mjs): images/s per model at N = 1, 4, 8 images a run, node and WASM.
// BENCH_ONLY=models|views|memory|dataset|batches|workers (comma-separated) runs only those; `-- --views` = views.
// (workers, not in the default set: six segmenters in one view, the renderer's peak and settled memory.)
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { chromium } from 'playwright-core';
import { preview } from 'vite';
import { benchBatches } from './bench-batch.mjs';
import { benchDataset } from './bench-dataset.mjs';
import { benchMemory, benchModelsMemory } from './bench-memory.mjs';
import { jsonTarget, modelRecord, paneThreads, tableHeader, tableRow } from './bench-report.mjs';
import { root, setupBrowser, setupNode } from './setup.mjs';

// `npm run bench -- --gpu`: onnxruntime-web's WebGPU build under Node + Dawn, no browser (scripts/bench-gpu.mjs)
if (process.argv.includes('--gpu'))
  process.exit(await (await import('./bench-gpu.mjs')).main(process.argv.slice(2).filter((a) => a !== '--gpu')));

const jsonFile = jsonTarget(process.argv.slice(2));
setupNode();
setupBrowser();
ortWeb.env.wasm.numThreads = 1;
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const FORCED_THREADS = process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : null;
if (FORCED_THREADS !== null && !(Number.isInteger(FORCED_THREADS) && FORCED_THREADS >= 1 && FORCED_THREADS <= 16))
  throw new Error(`BENCH_THREADS=${process.env.BENCH_THREADS} is not a whole number 1-16`);
/** The WebGPU hook (another part of the bench, when its file is there): per model, its figures or null. */
const benchChromiumWebGpu = existsSync(join(root, 'scripts/bench-gpu.mjs'))
  ? ((await import('./bench-gpu.mjs')).benchChromiumWebGpu ?? null)
  : null;
const report = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, loadavg: loadavg().map((v) => Number(v.toFixed(2))) },
  versions: {
    node: process.version,
    onnxruntime_web: JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version,
    onnxruntime_node: JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-node/package.json'), 'utf8'))
      .version,
  },
  runs: RUNS,
  forced_threads: FORCED_THREADS,
  models: [],
  views: [],
};
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
  await session.release();
  return median(t);
}

execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: root, stdio: 'inherit' });
const server = await preview({ root, preview: { port: 0, host: '127.0.0.1' }, logLevel: 'error' });
const url = `http://127.0.0.1:${server.httpServer.address().port}/`;
const served = await fetch(url);
report.cross_origin_isolation = {
  'cross-origin-opener-policy': served.headers.get('cross-origin-opener-policy'),
  'cross-origin-embedder-policy': served.headers.get('cross-origin-embedder-policy'),
};
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
report.versions.chromium = browser.version();

/** A page that records its longest main-thread task in window.__longest (in `context`, else a fresh one). */
async function pageWithLongTasks(context) {
  const page = await (context ?? browser).newPage();
  await page.addInitScript(() => {
    window.__longest = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longest = Math.max(window.__longest, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  return page;
}

/**
 * One zoo model alone in chromium (WASM): in a fresh context (empty cache) the first view and the start-up's
 * longest task, then warm runs over gallery images; `firstView` adds a second visit in the same context (warm).
 * `threads`: `?wasmThreads=<n>`, else the app's own choice. Returns the thread count the pane names.
 */
async function inBrowser(id, { threads = null, firstView = true } = {}) {
  const context = await browser.newContext();
  const link = `${url}${threads ? `?wasmThreads=${threads}` : ''}#m=${id}&s=factory-test-000.png&b=wasm`;
  const open = async () => {
    const page = await pageWithLongTasks(context);
    const t0 = Date.now();
    await page.goto(link);
    await page.locator(`[data-testid="pane-${id}"][data-state=drawn]`).waitFor({ timeout: 120_000 });
    return { page, overlay: Date.now() - t0 };
  };
  const { page, overlay: cold } = await open();
  const pane = page.getByTestId(`pane-${id}`);
  const used = paneThreads(await pane.getByTestId('pane-status').innerText());
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
  let second = null;
  if (firstView) {
    const again = await open();
    second = again.overlay;
    await again.page.close();
  }
  await context.close();
  // a model with nothing to overlay (no task view) is not run by the app: its run time reads 0
  return {
    ms: warm.some((v) => v > 0) ? median(warm) : null,
    threads: used,
    firstView: { cold, warm: second },
    longest: { startup: longest, whileRunning },
  };
}

/** onnxruntime-node (native) with `threads` intra-op threads. */
const nodeSession = (bytes, threads) =>
  ortNode.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });

const only = new Set(
  (
    process.env.BENCH_ONLY ?? (process.argv.includes('--views') ? 'views' : 'models,views,memory,dataset,batches')
  ).split(','),
);
let printedHeader = false;
for (const m of only.has('models') ? index.models : []) {
  const bytes = readFileSync(join(root, 'public', m.file));
  // the app's own choice first (or BENCH_THREADS): the thread count to compare at
  const chosen = await inBrowser(m.id, { threads: FORCED_THREADS });
  const n = chosen.threads ?? FORCED_THREADS ?? 1;
  const single = n === 1 ? chosen : await inBrowser(m.id, { threads: 1, firstView: false });
  const node = { 1: await timeSession(await nodeSession(bytes, 1), ortNode.Tensor) };
  if (n !== 1) node[n] = await timeSession(await nodeSession(bytes, n), ortNode.Tensor);
  const wasmNode = {
    1: await timeSession(await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] }), ortWeb.Tensor),
  };
  const webgpu = benchChromiumWebGpu ? await benchChromiumWebGpu(browser, url, m, { runs: RUNS }) : null;
  const record = modelRecord({
    id: m.id,
    threads: n,
    node,
    wasmNode,
    chromium: { 1: single.ms, [n]: chosen.ms },
    webgpu,
    firstView: chosen.firstView,
    longest: chosen.longest,
  });
  report.models.push(record);
  if (!printedHeader) {
    // what the app itself picks for one model here (when BENCH_THREADS overrode it: one more visit to ask)
    report.app_threads = FORCED_THREADS ? (await inBrowser(m.id, { firstView: false })).threads : n;
    console.log(
      `models: ${RUNS} runs each (chromium: ${Math.min(8, RUNS)} gallery images); N = ${n} thread${n === 1 ? '' : 's'}${
        FORCED_THREADS ? ' (BENCH_THREADS)' : ''
      }; the app's choice for one model here: ${report.app_threads}; COEP ${report.cross_origin_isolation['cross-origin-embedder-policy']}; load average ${report.machine.loadavg.join(' ')}`,
    );
    console.log(tableHeader(n));
    printedHeader = true;
  }
  console.log(tableRow(record));
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
  report.views.push({
    view: label,
    median_ms: Number(median(t).toFixed(1)),
    worst_ms: Number(Math.max(...t).toFixed(1)),
    longest_task_ms: Math.round(longest),
  });
  console.log(
    `${label.padEnd(40)} ${median(t).toFixed(1).padStart(7)} ${Math.max(...t)
      .toFixed(1)
      .padStart(7)} ${longest.toFixed(0).padStart(8)}`,
  );
  await page.close();
}
if (only.has('memory')) report.memory = await benchMemory(browser, url);
if (only.has('dataset')) report.dataset = await benchDataset(browser, url);
if (only.has('batches'))
  report.batches = await benchBatches({ root, models: index.models, ortNode, ortWeb, runs: Math.min(RUNS, 10) });
if (only.has('workers')) report.workers = await benchModelsMemory(browser, url);
await browser.close();
await server.close();
if (jsonFile) {
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${jsonFile}`);
}
