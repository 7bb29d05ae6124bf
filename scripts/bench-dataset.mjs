// The data-set section of `npm run bench` (BENCH_ONLY=dataset): N test-split scenes with their COCO file
// (ml/scripts/make_eval_set.py), evaluated with the default pair
//   ray, 1 / 2 workers   `python -m attnlens_ml.evaluate` wall time (a local Ray started inside, included) and
//                        images/s; the numbers of both runs must be the same file
//   app                  Evaluate mode in chromium (WASM) on the same images dropped with their COCO file:
//                        images/s, the longest main-thread task while it runs (target: under 50 ms), and total
//                        chromium PSS after GC at a quarter of the images and at the end (target: flat)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromiumRoot, processTree, pss } from './bench-memory.mjs';
import { root, venvPython } from './setup.mjs';

const MODELS = ['seg-teacher', 'seg-student-attnfd']; // DEFAULT_VIEW.models

export async function benchDataset(browser, url, { images = Number(process.env.BENCH_DATASET_IMAGES ?? 200) } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'attnlens-bench-dataset-'));
  const set = join(dir, 'set');
  // from scene 16 on: the gallery is scenes 0–15, and a dropped image with a gallery image's pixels is that image
  execFileSync(venvPython, [
    join(root, 'ml/scripts/make_eval_set.py'),
    set,
    '--count',
    String(images),
    '--start',
    '16',
  ]);
  console.log(
    `\ndata set: ${images} test-split scenes (160×160 PNG, not the gallery's) + COCO; models ${MODELS.join(', ')}`,
  );
  const docs = [];
  const ray = [];
  for (const workers of [1, 2]) {
    const out = join(dir, `ray-${workers}.json`);
    const t0 = Date.now();
    execFileSync(
      venvPython,
      [
        '-m',
        'attnlens_ml.evaluate',
        '--models',
        MODELS.map((m) => join(root, 'public/models', `${m}.onnx`)).join(','),
        '--images',
        join(set, 'coco.json'),
        '--out',
        out,
        '--workers',
        String(workers),
      ],
      { cwd: join(root, 'ml'), stdio: ['ignore', 'ignore', 'ignore'] },
    );
    const s = (Date.now() - t0) / 1000;
    docs.push(JSON.parse(readFileSync(out, 'utf8')));
    ray.push({ workers, seconds: Number(s.toFixed(1)), images_per_s: Number((images / s).toFixed(1)) });
    console.log(
      `ray, ${workers} worker${workers > 1 ? 's' : ' '}          ${s.toFixed(1).padStart(6)} s  ${(images / s).toFixed(1).padStart(6)} images/s (Ray start-up included)`,
    );
  }
  const strip = (d) => JSON.stringify(d.rows.map(({ latency_ms, ...r }) => r));
  console.log(`ray, 1 vs 2 workers: ${strip(docs[0]) === strip(docs[1]) ? 'the same rows' : 'ROWS DIFFER'}`);

  const page = await browser.newPage();
  await page.addInitScript(() => {
    window.__longest = 0;
    window.__tasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        window.__longest = Math.max(window.__longest, e.duration);
        window.__tasks.push([Math.round(e.startTime), Math.round(e.duration)]);
      }
    }).observe({ type: 'longtask', buffered: true });
  });
  const cdp = await page.context().newCDPSession(page);
  const rootPid = chromiumRoot();
  const totalPss = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    return (rootPid ? processTree(rootPid) : []).reduce((a, p) => a + pss(p.pid), 0) / 2 ** 20;
  };
  await page.goto(`${url}#b=wasm`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=strip] button').length === 16);
  const files = readdirSync(set).map((f) => join(set, f));
  await page.getByTestId('file-input').setInputFiles(files);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=strip] button').length === n, 16 + images, {
    timeout: 600_000,
  });
  await page.getByTestId('mode-evaluate').click();
  const since = await page.evaluate(() => {
    window.__longest = 0;
    window.__tasks = [];
    return performance.now();
  });
  const t0 = Date.now();
  await page.getByTestId('evaluate-run').click();
  const done = () => page.getByTestId('evaluate-progress').getAttribute('data-done').then(Number);
  const total = 16 + images;
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid=evaluate-progress]')?.getAttribute('data-done')) >= n,
    Math.round(total / 4),
    { timeout: 600_000 },
  );
  const now = () => page.evaluate(() => performance.now());
  const gcFrom = await now();
  const quarter = { n: await done(), mb: await totalPss() }; // a forced GC: a long task of its own, left out below
  const gcTo = await now();
  await page.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 1_200_000 });
  const s = (Date.now() - t0) / 1000;
  const end = { n: total, mb: await totalPss() };
  const tasks = (await page.evaluate(() => window.__tasks)).filter(([t]) => t < gcFrom || t > gcTo);
  const longest = Math.max(0, ...tasks.map(([, d]) => d));
  const top = tasks.sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(
    `app: longest tasks (ms, at s after Evaluate): ${top.map(([t, d]) => `${d} at ${((t - since) / 1000).toFixed(1)}`).join(', ')}; ${tasks.length} over 50 ms`,
  );
  console.log(
    `app (chromium, wasm)    ${s.toFixed(1).padStart(6)} s  ${(total / s).toFixed(1).padStart(6)} images/s; longest main-thread task ${longest.toFixed(0)} ms (target < 50)`,
  );
  console.log(
    `app memory (total PSS after GC): ${quarter.mb.toFixed(0)} MB at image ${quarter.n}, ${end.mb.toFixed(0)} MB at ${end.n} (${(((end.mb - quarter.mb) / quarter.mb) * 100).toFixed(1)} %)`,
  );
  await page.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    images,
    ray,
    ray_same_rows: strip(docs[0]) === strip(docs[1]),
    app: {
      seconds: Number(s.toFixed(1)),
      images_per_s: Number((total / s).toFixed(1)),
      longest_task_ms: Math.round(longest),
      total_pss_mb: { [quarter.n]: Math.round(quarter.mb), [end.n]: Math.round(end.mb) },
    },
  };
}
