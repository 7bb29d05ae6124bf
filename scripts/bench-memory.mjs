// The memory section of `npm run bench` (BENCH_ONLY=memory runs only it): open the app with the default pair
// on WASM, drop N distinct 640×480 images through the file input, step through all of them (ArrowRight),
// waiting each time until every pane has drawn that image, and read the browser's memory after a forced GC
// at checkpoints. Numbers, not pass/fail. The issue's target: memory flat within 10 % over 200 images.
//   JS heap   the page's main-thread V8 heap in use (CDP Performance.getMetrics JSHeapUsedSize) after
//             HeapProfiler.collectGarbage (and gc() in the worker); ArrayBuffers (run outputs) live outside it
//   renderer  PSS of the renderer processes (/proc/<pid>/smaps_rollup): main thread, inference worker and
//             its WASM memory, decoded images, canvases
//   gpu       PSS of the GPU process (compositor tiles, uploaded images)
//   total     PSS of every chromium process (browser, renderer, GPU, utility: blobs and object URLs live in
//             the browser process)
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';

const W = 640;
const H = 480;

/** mulberry32: a small seeded PRNG, so image i is the same on every run and differs from every other. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 640×480 factory-ish scene seeded by `i`: a shaded belt, a dozen parts (discs, rings, plates), light noise. */
export function scenePng(i) {
  const r = rng(1000 + i * 7919);
  const px = new Uint8Array(W * H * 4);
  const base = [40 + r() * 60, 40 + r() * 60, 50 + r() * 60];
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const o = (y * W + x) * 4;
      const shade = 0.7 + 0.3 * Math.sin((x + i * 13) / 90) * Math.cos(y / 70);
      for (let c = 0; c < 3; c++) px[o + c] = base[c] * shade;
      px[o + 3] = 255;
    }
  const parts = 8 + Math.floor(r() * 8);
  for (let k = 0; k < parts; k++) {
    const cx = r() * W;
    const cy = r() * H;
    const rad = 12 + r() * 50;
    const hole = r() < 0.4 ? rad * (0.3 + r() * 0.3) : 0;
    const plate = r() < 0.3;
    const col = [80 + r() * 175, 80 + r() * 175, 80 + r() * 175];
    for (let y = Math.max(0, Math.floor(cy - rad)); y < Math.min(H, cy + rad); y++)
      for (let x = Math.max(0, Math.floor(cx - rad)); x < Math.min(W, cx + rad); x++) {
        const d = Math.hypot(x - cx, y - cy);
        if (plate ? Math.abs(x - cx) > rad || Math.abs(y - cy) > rad * 0.6 : d > rad || d < hole) continue;
        const o = (y * W + x) * 4;
        const lit = 0.75 + 0.25 * ((cx - x + cy - y) / (2 * rad));
        for (let c = 0; c < 3; c++) px[o + c] = Math.min(255, col[c] * lit);
      }
  }
  for (let o = 0; o < px.length; o += 4) {
    const n = (r() - 0.5) * 12;
    for (let c = 0; c < 3; c++) px[o + c] = Math.max(0, Math.min(255, px[o + c] + n));
  }
  return encode({ width: W, height: H, data: px, channels: 4 });
}

const MB = (bytes) => bytes / 2 ** 20;

/** PSS (kB → bytes) of one process, or 0 when it is gone. */
export function pss(pid) {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Every process under `root` (its pid included), with its chromium --type (browser for the top one). */
export function processTree(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {}
  }
  const out = [];
  const walk = (pid) => {
    let type = 'browser';
    try {
      // chromium rewrites its command line into one space-separated string (no NUL separators)
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      type = /--type=(\S+)/.exec(cmd)?.[1] ?? 'browser';
      if (/--utility-sub-type=/.test(cmd)) type = 'utility';
      if (/--top-chrome-webui/.test(cmd)) type = 'webui'; // the headless shell's own UI renderer
    } catch {}
    out.push({ pid, type });
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** The chromium browser process playwright launched: the child of this node process named chromium. */
export function chromiumRoot() {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)[1]) !== process.pid) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('chromium')) return Number(d);
    } catch {}
  }
  return null;
}

export async function benchMemory(browser, url, { images = Number(process.env.BENCH_MEMORY_IMAGES ?? 200) } = {}) {
  const checkpoints = [...new Set([1, 20, 50, 100, 150, images].filter((n) => n <= images))];
  const dir = mkdtempSync(join(tmpdir(), 'attnlens-bench-memory-'));
  const t0 = Date.now();
  const files = [];
  for (let i = 0; i < images; i++) {
    const file = join(dir, `scene-${String(i).padStart(3, '0')}.png`);
    writeFileSync(file, scenePng(i));
    files.push(file);
  }
  console.log(`\nmemory: ${images} distinct ${W}×${H} PNGs generated in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const rootPid = chromiumRoot();
  if (!rootPid) console.log('memory: no chromium process under this one in /proc: only the JS heap is measured');
  const measure = async (n, id) => {
    // GC twice: the first pass runs finalizers (FinalizationRegistry, wasm objects) the second reclaims.
    // The inference worker's heap too (gc() there needs --js-flags=--expose-gc, which bench.mjs passes):
    // without it the worker's garbage (decoded pixels of every image it hashed) is collected whenever V8 likes.
    const gcWorkers = () => Promise.all(page.workers().map((w) => w.evaluate(() => globalThis.gc?.()).catch(() => {})));
    for (let k = 0; k < 2; k++) {
      await cdp.send('HeapProfiler.collectGarbage');
      await gcWorkers();
    }
    await page.waitForTimeout(500);
    await cdp.send('HeapProfiler.collectGarbage');
    await gcWorkers();
    const { metrics } = await cdp.send('Performance.getMetrics');
    const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN;
    const by = { renderer: 0, gpu: 0, total: 0 };
    for (const p of rootPid ? processTree(rootPid) : []) {
      const b = pss(p.pid);
      by.total += b;
      if (p.type === 'renderer') by.renderer += b;
      if (p.type === 'gpu-process') by.gpu += b;
    }
    return { n, id, heap, ...by };
  };

  const models = ['seg-teacher', 'seg-student-attnfd']; // DEFAULT_VIEW.models (src/state/viewState.ts)
  /** Wait until the current image is not one of `seen` and every pane has drawn it; its id. */
  const drawnNew = async (seen) =>
    (
      await page.waitForFunction(
        ([ids, seen]) => {
          const cur = document.querySelector('[data-testid=current-image]')?.getAttribute('data-image');
          if (!cur || seen.includes(cur)) return false;
          const drawn = ids.every((m) => {
            const pane = document.querySelector(`[data-testid="pane-${m}"]`);
            return pane?.getAttribute('data-state') === 'drawn' && pane.getAttribute('data-image') === cur;
          });
          return drawn ? cur : false;
        },
        [models, seen],
        { timeout: 600_000, polling: 20 },
      )
    ).jsonValue();
  await page.goto(`${url}#b=wasm`);
  const galleryId = await drawnNew([]); // the gallery sample the default view opens on
  const galleryCount = await page.getByTestId('strip').locator('button').count();
  const tDrop = Date.now();
  await page.getByTestId('file-input').setInputFiles(files);
  // addUserFiles describes every file in the worker, then shows the first dropped image
  let id = await drawnNew([galleryId]);
  const strip = await page.getByTestId('strip').locator('button').count();
  if (strip !== galleryCount + images)
    throw new Error(`memory bench: the strip has ${strip - galleryCount} dropped images, not ${images}`);
  console.log(`memory: dropped, described and first drawn in ${((Date.now() - tDrop) / 1000).toFixed(0)} s; stepping`);
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());

  const rows = [await measure(1, id)];
  const seen = [galleryId, id];
  const tStep = Date.now();
  for (let n = 2; n <= images; n++) {
    await page.keyboard.press('ArrowRight');
    id = await drawnNew(seen);
    seen.push(id);
    if (checkpoints.includes(n)) {
      rows.push(await measure(n, id));
      console.log(
        `memory: image ${n}/${images} drawn (${((Date.now() - tStep) / 1000).toFixed(0)} s): total ${MB(rows.at(-1).total).toFixed(0)} MB`,
      );
    }
  }
  await page.close();
  rmSync(dir, { recursive: true, force: true });

  console.log(`\nmemory after forced GC (MB)   JS heap   renderer PSS   GPU PSS   total PSS (all chromium processes)`);
  for (const r of rows)
    console.log(
      `${`image ${r.n}`.padEnd(28)} ${MB(r.heap).toFixed(1).padStart(8)} ${MB(r.renderer).toFixed(1).padStart(14)} ${MB(r.gpu).toFixed(1).padStart(9)} ${MB(r.total).toFixed(1).padStart(11)}`,
    );
  const at = (n) => rows.find((r) => r.n === n);
  const first = rows[0];
  // The baseline is image 20: by then code is compiled, the worker's WASM memory has grown to its size and the
  // run cache is full (RUN_BUDGET_BYTES holds ~15 images of the default pair), so later growth is a leak.
  const warm = at(20) ?? first;
  const last = rows.at(-1);
  const pct = (a, b, key) => (100 * (a[key] - b[key])) / b[key];
  const sign = (v) => `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
  const fifty = at(50);
  const ofFirst = (key) => sign((100 * (last[key] - fifty[key])) / first[key]);
  if (fifty && fifty !== last)
    console.log(
      `growth image 50→${last.n} (% of image 1): total ${ofFirst('total')} %, renderer ${ofFirst('renderer')} %, JS heap ${ofFirst('heap')} %`,
    );
  const growth = pct(last, warm, 'total');
  console.log(
    `memory over ${last.n} images: ${sign(growth)} % (total PSS, image ${warm.n} → ${last.n}; renderer ${sign(pct(last, warm, 'renderer'))} %, JS heap ${sign(pct(last, warm, 'heap'))} %; from image 1: ${sign(pct(last, first, 'total'))} %) (target: within 10 %)`,
  );
  return rows;
}

/** Six segmenters in one view (one inference worker each since issue 10): the renderer's PSS, sampled every
 * 200 ms from page load until every pane has drawn (peak), and after a forced GC (settled). */
export async function benchModelsMemory(browser, url) {
  const models = [
    'seg-teacher',
    'seg-student-plain',
    'seg-student-attnfd',
    'seg-student-wide-plain',
    'seg-student-wide-attnfd',
    'seg-student-plain-few-masks',
  ];
  const page = await browser.newPage();
  const cdp = await page.context().newCDPSession(page);
  const rootPid = chromiumRoot();
  const sample = () => {
    const by = { renderer: 0, total: 0 };
    for (const p of rootPid ? processTree(rootPid) : []) {
      const b = pss(p.pid);
      by.total += b;
      if (p.type === 'renderer') by.renderer += b;
    }
    return by;
  };
  let peak = { renderer: 0, total: 0 };
  const timer = setInterval(() => {
    const s = sample();
    peak = { renderer: Math.max(peak.renderer, s.renderer), total: Math.max(peak.total, s.total) };
  }, 200);
  const t0 = Date.now();
  await page.goto(`${url}#m=${models.join(',')}&b=wasm`);
  await page.waitForFunction(
    (ids) =>
      ids.every((m) => document.querySelector(`[data-testid="pane-${m}"]`)?.getAttribute('data-state') === 'drawn'),
    models,
    { timeout: 600_000, polling: 50 },
  );
  const drawnAfter = (Date.now() - t0) / 1000;
  clearInterval(timer);
  for (let k = 0; k < 2; k++) await cdp.send('HeapProfiler.collectGarbage');
  await page.waitForTimeout(500);
  const settled = sample();
  const workers = page.workers().length;
  await page.close();
  console.log(
    `\nmemory, ${models.length} segmenters in one view (WASM): all drawn in ${drawnAfter.toFixed(1)} s; ${workers} workers; ` +
      `renderer PSS peak ${MB(peak.renderer).toFixed(0)} MB, settled ${MB(settled.renderer).toFixed(0)} MB; ` +
      `all chromium peak ${MB(peak.total).toFixed(0)} MB, settled ${MB(settled.total).toFixed(0)} MB`,
  );
  return { peak, settled, drawnAfter, workers };
}
