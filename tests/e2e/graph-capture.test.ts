/**
 * Graph capture on WebGPU (src/inference/gpuCapture.ts), in chromium on its software adapter (SwiftShader:
 * correct, not fast — nothing here times anything). The built app's own inference worker is driven through
 * its protocol, next to a WASM worker on the same images: a captured graph's outputs equal WASM's on two
 * images in a row (a replay really reads the new input), a model whose graph cannot be captured falls back to
 * plain WebGPU with the reason, a model removed and opened again in the same worker still replays right, the
 * ViT rollout reads a kept copy of the attention stack after later replays overwrote the graph's own, and
 * outputs held back in the worker are read back on request. Then, in the app, the panes say which.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionRollout } from '../../src/analysis/rollout';
import { type Contract, loadContract } from '../../src/contract';
import { readResults } from '../../src/evaluate/results';
import { corpusFile, root, serveApp } from './browser';
import { runNative } from './native';

const app = serveApp();
const TOLERANCE = 1e-4;
const samples = ['factory-test-001.png', 'factory-test-004.png'];

const bytesOf = (path: string) => readFileSync(join(root, path));
const contractOf = (path: string) => (loadContract(new Uint8Array(bytesOf(path))) as { contract: Contract }).contract;

let page: Page;
beforeAll(async () => {
  page = await app.browser.newPage();
  // any page of the app's origin will do: the test starts workers of the built app itself
  await page.goto(`${app.url}samples/coco.json`);
  const chunk = readdirSync(join(app.outDir, 'assets')).find((f) => /^runtime\.worker-.*\.js$/.test(f));
  if (!chunk) throw new Error('no runtime.worker chunk in the build');
  await page.evaluate((url) => {
    type Msg = { requestId: number; kind: string; message?: string };
    const w = window as unknown as Record<string, unknown>;
    let next = 1;
    const workers: Record<string, Worker> = {};
    w.call = (worker: string, msg: Record<string, unknown>, transfer: Transferable[] = []) => {
      workers[worker] ??= new Worker(url, { type: 'module' });
      const target = workers[worker];
      const requestId = next++;
      return new Promise((resolve, reject) => {
        const on = (e: MessageEvent<Msg>) => {
          if (e.data.requestId !== requestId || e.data.kind === 'loadPhase' || e.data.kind === 'saliencyProgress')
            return;
          target.removeEventListener('message', on);
          if (e.data.kind === 'error') reject(new Error(e.data.message));
          else resolve(e.data);
        };
        target.addEventListener('message', on);
        target.postMessage({ ...msg, requestId }, transfer);
      });
    };
  }, `${app.url}assets/${chunk}`);
});

/** Load `path` into `worker` on `backend`; what the worker answered (backend, capture, fallback). */
const load = (
  worker: string,
  key: string,
  path: string,
  backend: 'webgpu' | 'wasm',
  keepOnGpu: string[] = [],
  noCapture = false,
) =>
  page.evaluate(
    async ({ worker, key, bytes, backend, input, keepOnGpu, noCapture }) => {
      const call = (window as unknown as { call: (w: string, m: object) => Promise<Record<string, unknown>> }).call;
      const r = await call(worker, {
        kind: 'load',
        modelKey: key,
        bytes: new Uint8Array(bytes).buffer,
        backend,
        input,
        keepOnGpu,
        noCapture,
      });
      return { backend: r.backend as string, capture: r.capture as { used: boolean; reason?: string } | undefined };
    },
    { worker, key, bytes: [...bytesOf(path)], backend, input: contractOf(path).input, keepOnGpu, noCapture },
  );

/** Run `key` in `worker` on a gallery sample; its outputs stay in the page under `store` (too big to return). */
const run = (worker: string, key: string, sample: string, outputs: string[], store: string, retain: string[] = []) =>
  page.evaluate(
    async ({ worker, key, sample, outputs, store, retain }) => {
      const w = window as unknown as {
        call: (w: string, m: object) => Promise<{ outputs: Record<string, { data: Float32Array }> }>;
        kept: Record<string, Record<string, Float32Array>>;
      };
      const blob = await (await fetch(`/samples/${sample}`)).blob();
      const r = await w.call(worker, {
        kind: 'run',
        modelKey: key,
        image: { id: sample, blob },
        outputs,
        retain,
        retainKey: `${key}@${sample}`,
      });
      w.kept ??= {};
      w.kept[store] = Object.fromEntries(Object.entries(r.outputs).map(([n, t]) => [n, t.data]));
      return Object.keys(r.outputs);
    },
    { worker, key, sample, outputs, store, retain },
  );

/**
 * Largest difference per output between two stored runs, |a − b| / max(1, |b|): absolute for values up to 1,
 * relative beyond (a detector's logits reach tens); NaN when an output is missing or resized.
 */
const diff = (a: string, b: string) =>
  page.evaluate(
    ({ a, b }) => {
      const kept = (window as unknown as { kept: Record<string, Record<string, Float32Array>> }).kept;
      return Object.fromEntries(
        Object.entries(kept[a]).map(([name, x]) => {
          const y = kept[b][name];
          if (!y || y.length !== x.length) return [name, Number.NaN];
          let worst = 0;
          for (let i = 0; i < x.length; i++)
            worst = Math.max(worst, Math.abs(x[i] - y[i]) / Math.max(1, Math.abs(y[i])));
          return [name, worst];
        }),
      );
    },
    { a, b },
  );

const worst = (d: Record<string, number>) => Math.max(...Object.values(d));

describe('graph capture in the inference worker (chromium, software WebGPU)', () => {
  for (const id of ['seg-student-plain', 'detr-student-o2o', 'vit-attn']) {
    it(`${id}: captured, and equal to WASM on two images in a row`, { timeout: 900_000 }, async () => {
      const path = `public/models/${id}.onnx`;
      const names = contractOf(path).outputs.map((o) => o.name);
      const gpu = await load(`gpu-${id}`, id, path, 'webgpu');
      expect(gpu).toEqual({ backend: 'webgpu', capture: expect.objectContaining({ used: true }) });
      await load(`wasm-${id}`, id, path, 'wasm');
      // the same model as a plain WebGPU session: what WebGPU's kernels differ from WASM's by is theirs
      const plain = await load(`plain-${id}`, id, path, 'webgpu', [], true);
      expect(plain.capture).toEqual({ used: false, reason: 'graph capture was turned off for this load' });
      for (const sample of samples) {
        await run(`gpu-${id}`, id, sample, names, `gpu ${id} ${sample}`);
        await run(`wasm-${id}`, id, sample, names, `wasm ${id} ${sample}`);
        await run(`plain-${id}`, id, sample, names, `plain ${id} ${sample}`);
        const d = await diff(`gpu ${id} ${sample}`, `wasm ${id} ${sample}`);
        const same = await diff(`gpu ${id} ${sample}`, `plain ${id} ${sample}`);
        console.log(`${id} on ${sample}: captured vs WASM, max |Δ|/max(1, |x|) per output`, d);
        console.log(`${id} on ${sample}: captured vs plain WebGPU`, same);
        expect(Object.keys(d).sort()).toEqual([...names].sort());
        expect(worst(same)).toBeLessThan(1e-6); // the capture adds nothing
        // a detector's logits come out of a deep decoder: WebGPU's float sums differ from WASM's by ~2e-4 there
        expect(worst(d)).toBeLessThan(id.startsWith('detr') ? 5 * TOLERANCE : TOLERANCE);
      }
      // the two images differ: the second replay read the second image, not the first one again
      expect(worst(await diff(`gpu ${id} ${samples[0]}`, `gpu ${id} ${samples[1]}`))).toBeGreaterThan(1e-3);
    });
  }

  it('a graph with an operator WebGPU has no kernel for: plain WebGPU, with the reason; equal to WASM', {
    timeout: 600_000,
  }, async () => {
    const path = 'tests/fixtures/corpus/cpu-op.onnx';
    const names = contractOf(path).outputs.map((o) => o.name);
    const gpu = await load('gpu-cpu-op', 'cpu-op', path, 'webgpu');
    expect(gpu.backend).toBe('webgpu');
    expect(gpu.capture?.used).toBe(false);
    expect(gpu.capture?.reason).toMatch(/no WebGPU kernel/);
    await load('wasm-cpu-op', 'cpu-op', path, 'wasm');
    await run('gpu-cpu-op', 'cpu-op', samples[0], names, 'gpu cpu-op');
    await run('wasm-cpu-op', 'cpu-op', samples[0], names, 'wasm cpu-op');
    expect(worst(await diff('gpu cpu-op', 'wasm cpu-op'))).toBeLessThan(TOLERANCE);
  });

  it('a model released and opened again in the same worker (its last session gone) still replays right', {
    timeout: 900_000,
  }, async () => {
    const id = 'seg-student-plain';
    const path = `public/models/${id}.onnx`;
    const names = contractOf(path).outputs.map((o) => o.name);
    // the worker of the first test: release its only model, open another and release it, open the first again
    await page.evaluate(
      (id) =>
        (window as unknown as { call: (w: string, m: object) => Promise<unknown> }).call(`gpu-${id}`, {
          kind: 'release',
          modelKey: id,
        }),
      id,
    );
    await load(`gpu-${id}`, 'other', 'tests/fixtures/corpus/det-classes.onnx', 'webgpu');
    await page.evaluate(
      (id) =>
        (window as unknown as { call: (w: string, m: object) => Promise<unknown> }).call(`gpu-${id}`, {
          kind: 'release',
          modelKey: 'other',
        }),
      id,
    );
    expect((await load(`gpu-${id}`, id, path, 'webgpu')).capture?.used).toBe(true);
    await run(`gpu-${id}`, id, samples[1], names, 'gpu again');
    expect(worst(await diff('gpu again', `wasm ${id} ${samples[1]}`))).toBeLessThan(TOLERANCE);
  });

  it('saliency on a captured graph: one picture a replay, the same map as WASM', { timeout: 900_000 }, async () => {
    const id = 'seg-student-plain';
    const job = {
      spec: { method: { kind: 'occlusion', occlusion: { patch: 0.5, stride: 0.5 } }, fill: 'mean', steps: 0 },
      target: { kind: 'segment', output: 'seg_logits', channel: 1, measure: 'probability' },
      batch: 2, // refused by the captured graph (its batch is fixed): the job goes on one picture at a time
    };
    const maps = await page.evaluate(
      async ({ id, job, sample }) => {
        const call = (window as unknown as { call: (w: string, m: object) => Promise<Record<string, unknown>> }).call;
        const blob = await (await fetch(`/samples/${sample}`)).blob();
        const out: number[][] = [];
        for (const worker of [`gpu-${id}`, `wasm-${id}`]) {
          const r = await call(worker, { kind: 'saliency', modelKey: id, image: { id: sample, blob }, job });
          out.push([...(r.outcome as { map: Float32Array }).map]);
        }
        return out;
      },
      { id, job, sample: samples[0] },
    );
    expect(maps[0].length).toBe(160 * 160);
    expect(Math.max(...maps[0].map((v, i) => Math.abs(v - maps[1][i])))).toBeLessThan(TOLERANCE);
    expect(Math.max(...maps[0]) - Math.min(...maps[0])).toBeGreaterThan(0); // a map, not a constant
  });

  for (const id of ['seg-student-plain', 'detr-student-o2o']) {
    it(`${id}: three images in one replay of a session captured at batch 3, each equal to its WASM run`, {
      timeout: 900_000,
    }, async () => {
      const path = `public/models/${id}.onnx`;
      const names = contractOf(path).outputs.map((o) => o.name);
      const three = ['factory-test-002.png', ...samples];
      expect((await load(`gpu-batch-${id}`, id, path, 'webgpu')).capture?.used).toBe(true);
      await load(`wasm-batch-${id}`, id, path, 'wasm');
      const dims = await page.evaluate(
        async ({ worker, key, three, names }) => {
          const w = window as unknown as {
            call: (
              w: string,
              m: object,
            ) => Promise<{ runs: { outputs: Record<string, { data: Float32Array; dims: number[] }> }[] }>;
            kept: Record<string, Record<string, Float32Array>>;
          };
          const images = await Promise.all(
            three.map(async (s) => ({ id: s, blob: await (await fetch(`/samples/${s}`)).blob() })),
          );
          const r = await w.call(worker, { kind: 'runBatch', modelKey: key, images, outputs: names, classMaps: [] });
          w.kept ??= {};
          r.runs.forEach((run, i) => {
            w.kept[`batch ${key} ${three[i]}`] = Object.fromEntries(
              Object.entries(run.outputs).map(([n, t]) => [n, t.data]),
            );
          });
          return r.runs.map((run) => run.outputs[names[0]].dims);
        },
        { worker: `gpu-batch-${id}`, key: id, three, names },
      );
      expect(dims.map((d) => d[0])).toEqual([1, 1, 1]);
      for (const sample of three) {
        await run(`wasm-batch-${id}`, id, sample, names, `wasm one ${id} ${sample}`);
        const d = await diff(`batch ${id} ${sample}`, `wasm one ${id} ${sample}`);
        console.log(`${id} on ${sample}: batch-3 capture vs WASM`, d);
        expect(Object.keys(d).sort()).toEqual([...names].sort());
        expect(worst(d)).toBeLessThan(id.startsWith('detr') ? 5 * TOLERANCE : TOLERANCE);
      }
    });
  }

  it('a data-set batch reduces the segmentation logits to class maps on the GPU: the argmax of the WASM logits', {
    timeout: 900_000,
  }, async () => {
    const id = 'seg-student-plain';
    const path = `public/models/${id}.onnx`;
    const logits = contractOf(path).outputs.find((o) => o.role === 'segmentation_logits')!.name;
    const three = ['factory-test-003.png', ...samples];
    const worker = `gpu-maps-${id}`;
    expect((await load(worker, id, path, 'webgpu')).capture?.used).toBe(true);
    await load(`wasm-batch-${id}`, id, path, 'wasm'); // from the test above, or loaded here
    const got = await page.evaluate(
      async ({ worker, key, three, logits }) => {
        type Map = { data: Uint8Array; dims: number[]; total: number; nan: number; infinite: number };
        const w = window as unknown as {
          call: (
            w: string,
            m: object,
          ) => Promise<{
            engine: string;
            runs: { outputs: Record<string, unknown>; classMaps: Record<string, Map> }[];
          }>;
        };
        const images = await Promise.all(
          three.map(async (s) => ({ id: s, blob: await (await fetch(`/samples/${s}`)).blob() })),
        );
        const r = await w.call(worker, {
          kind: 'runBatch',
          modelKey: key,
          images,
          outputs: [logits],
          classMaps: [logits],
        });
        return {
          engine: r.engine,
          outputs: r.runs.map((run) => Object.keys(run.outputs)),
          maps: r.runs.map((run) => ({ ...run.classMaps[logits], data: [...run.classMaps[logits].data] })),
        };
      },
      { worker, key: id, three, logits },
    );
    expect(got.engine).toBe('webgpu');
    expect(got.outputs).toEqual([[], [], []]); // the logits themselves stay on the GPU
    for (const [i, sample] of three.entries()) {
      await run(`wasm-batch-${id}`, id, sample, [logits], `wasm map ${sample}`);
      const ref = await page.evaluate(
        ({ store, logits }) => {
          const x = (window as unknown as { kept: Record<string, Record<string, Float32Array>> }).kept[store][logits];
          const n = 160 * 160;
          const k = x.length / n;
          const map: number[] = [];
          const margin: number[] = []; // best − second best logit: a near tie may flip between backends
          for (let p = 0; p < n; p++) {
            let best = 0;
            for (let c = 1; c < k; c++) if (x[c * n + p] > x[best * n + p]) best = c;
            let second = Number.NEGATIVE_INFINITY;
            for (let c = 0; c < k; c++) if (c !== best) second = Math.max(second, x[c * n + p]);
            map.push(best);
            margin.push(x[best * n + p] - second);
          }
          return { map, margin };
        },
        { store: `wasm map ${sample}`, logits },
      );
      const m = got.maps[i];
      expect(m.dims).toEqual([1, 160, 160]);
      expect(m.total).toBe(7 * 160 * 160);
      expect([m.nan, m.infinite]).toEqual([0, 0]);
      const differ = ref.map.flatMap((c, p) => (c === m.data[p] ? [] : [ref.margin[p]]));
      console.log(
        `${sample}: ${differ.length} of ${ref.map.length} pixels differ from the WASM argmax`,
        differ.slice(0, 5),
      );
      expect(differ.every((margin) => margin < TOLERANCE)).toBe(true);
      expect(new Set(m.data).size).toBeGreaterThan(1); // a mask, not one class everywhere
    }
    // logits with NaN and infinite values (the corpus' seg-nan.onnx): counted on the GPU as on the CPU
    const nanPath = 'tests/fixtures/corpus/seg-nan.onnx';
    await load('gpu-maps-nan', 'seg-nan', nanPath, 'webgpu');
    const counts = await page.evaluate(async () => {
      type Map = { data: Uint8Array; nan: number; infinite: number; total: number };
      const w = window as unknown as {
        call: (w: string, m: object) => Promise<{ engine: string; runs: { classMaps: Record<string, Map> }[] }>;
      };
      const blob = await (await fetch('/samples/factory-test-001.png')).blob();
      const r = await w.call('gpu-maps-nan', {
        kind: 'runBatch',
        modelKey: 'seg-nan',
        images: [{ id: 'nan', blob }],
        outputs: ['seg_logits'],
        classMaps: ['seg_logits'],
      });
      const m = r.runs[0].classMaps.seg_logits;
      return {
        engine: r.engine,
        nan: m.nan,
        infinite: m.infinite,
        total: m.total,
        noClass: m.data.filter((c) => c === 255).length,
      };
    });
    // as the page counts them from the logits (tests/e2e/corpus-models): 1,024 NaN, 3 infinite, of 179,200
    expect(counts).toEqual({ engine: 'webgpu', nan: 1024, infinite: 3, total: 179_200, noClass: expect.any(Number) });
    expect(counts.noClass).toBeGreaterThan(0);
    expect(counts.noClass).toBeLessThanOrEqual(1024);
  });

  it("the ViT's kept attention stack survives later replays: rollout on the GPU equals the reference", {
    timeout: 900_000,
  }, async () => {
    const id = 'vit-attn';
    const path = `public/models/${id}.onnx`;
    const contract = contractOf(path);
    const stack = 'self_attention';
    const task = ['label_logits'];
    // a fresh worker, the stack kept on the GPU (as the app asks), patch_tokens held back for later
    await load('gpu-vit-kept', id, path, 'webgpu', [stack]);
    await run('gpu-vit-kept', id, samples[0], task, 'kept 0', [stack, 'patch_tokens']);
    await run('gpu-vit-kept', id, samples[1], task, 'kept 1', [stack]); // overwrites the graph's own outputs
    const got = await page.evaluate(
      async ({ key }) => {
        const call = (window as unknown as { call: (w: string, m: object) => Promise<Record<string, unknown>> }).call;
        const rolled = await call('gpu-vit-kept', {
          kind: 'rollout',
          retainKey: key,
          output: 'self_attention',
          options: { upTo: 4, identity: true, head: 'mean' },
        });
        const read = await call('gpu-vit-kept', { kind: 'read', retainKey: key, outputs: ['patch_tokens'] });
        const kept = (window as unknown as { kept: Record<string, Record<string, Float32Array>> }).kept;
        kept.read = { patch_tokens: (read.outputs as Record<string, { data: Float32Array }>).patch_tokens.data };
        return { engine: rolled.engine as string, row: [...(rolled.row as Float32Array)] };
      },
      { key: `${id}@${samples[0]}` },
    );
    expect(got.engine).toBe('webgpu');
    // the reference: the WASM worker's stack of the same image, rolled out in TypeScript
    await run(`wasm-${id}`, id, samples[0], [stack, 'patch_tokens'], 'wasm stack');
    const ref = await page.evaluate(() => {
      const kept = (window as unknown as { kept: Record<string, Record<string, Float32Array>> }).kept;
      return [...kept['wasm stack'].self_attention];
    });
    const [layers, heads, tokens] = contract.outputs.find((o) => o.name === stack)!.shape.slice(1) as number[];
    const want = attentionRollout(
      { data: new Float32Array(ref), layers, heads, tokens },
      { upTo: 4, identity: true, head: 'mean' },
    );
    expect(got.row).toHaveLength(want.length);
    expect(Math.max(...want.map((v, i) => Math.abs(v - got.row[i])))).toBeLessThan(TOLERANCE);
    const held = await diff('read', 'wasm stack');
    expect(held.patch_tokens).toBeLessThan(TOLERANCE);
  });
});

describe('graph capture in the app', () => {
  it('the pane says "graph capture", or why not (a dropped model with a CPU-only operator)', {
    timeout: 900_000,
  }, async () => {
    const p = await app.browser.newPage();
    await p.goto(`${app.url}#m=seg-student-plain&s=${samples[0]}&b=webgpu`);
    const pane = p.getByTestId('pane-seg-student-plain');
    // the warm-up at load (seconds here, in software) shows in the pane while it lasts
    await expect
      .poll(() => pane.getByTestId('warm-up').allInnerTexts(), { timeout: 120_000, interval: 100 })
      .toEqual([expect.stringMatching(/^warming up on WebGPU \(compiling shaders, capturing the graph\)… \d+ s$/)]);
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 600_000 }).toBe('drawn');
    expect(await pane.getByTestId('pane-status').innerText()).toMatch(/^webgpu · graph capture · \d+ ms · mask$/);
    expect(await pane.getByTestId('capture').innerText()).toMatch(/^graph capture: each run replays/);
    await p.getByTestId('file-input').setInputFiles([corpusFile('cpu-op.onnx')]);
    const dropped = p.getByTestId('pane-local-cpu-op');
    await expect.poll(() => dropped.getAttribute('data-state'), { timeout: 600_000 }).toBe('drawn');
    expect(await dropped.getByTestId('pane-status').innerText()).toMatch(/^webgpu · \d+ ms · /);
    expect(await dropped.getByTestId('capture').innerText()).toMatch(
      /^WebGPU without graph capture, because some of its operators have no WebGPU kernel/,
    );
    await p.close();
  });

  it('a view that appears later gets the outputs the captured ViT held back in its worker', {
    timeout: 900_000,
  }, async () => {
    // the SAK view (which alone reads the ViT's patch tokens) is not in sight until the SAK student joins
    const sample = samples[1];
    const student = await runNative('sak-student', sample);
    const vit = await runNative('vit-attn', sample);
    const toVit = student.outputs['sak.vit-attn.projected'].data;
    const tokens = vit.outputs.patch_tokens.data;
    let sum = 0;
    for (let i = 0; i < 400; i++) {
      let ab = 0;
      let aa = 0;
      let bb = 0;
      for (let c = 0; c < 64; c++) {
        ab += toVit[c * 400 + i] * tokens[i * 64 + c];
        aa += toVit[c * 400 + i] ** 2;
        bb += tokens[i * 64 + c] ** 2;
      }
      sum += ab / Math.sqrt(aa * bb);
    }
    const p = await app.browser.newPage();
    await p.goto(`${app.url}#m=vit-attn&s=${sample}&b=webgpu`);
    const pane = p.getByTestId('pane-vit-attn');
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 600_000 }).toBe('drawn');
    const status = await pane.getByTestId('pane-status').innerText();
    expect(status).toMatch(/^webgpu · graph capture · /);
    await p.evaluate((s) => {
      location.hash = `#m=vit-attn,sak-student&s=${s}&b=webgpu`;
    }, sample);
    const fig = p.getByTestId('sak-vit-attn');
    await fig.waitFor({ timeout: 600_000 });
    expect(Math.abs(Number(await fig.getAttribute('data-mean')) - sum / 400)).toBeLessThan(1e-3);
    // read back from the worker, not run again: the ViT's run (and its time) is the one it had
    expect(await pane.getByTestId('pane-status').innerText()).toBe(status);
    expect(await p.getByTestId('sak-missing').allInnerTexts()).toEqual([
      'seg-teacher is not in the view: add it to compare',
    ]);
    await p.close();
  });

  it('a data set on WebGPU: four images a replay of a session captured at batch 4, the numbers of WASM', {
    timeout: 900_000,
  }, async () => {
    const rows = async (backend: 'webgpu' | 'wasm') => {
      const p = await app.browser.newPage();
      await p.goto(`${app.url}#m=seg-student-plain&b=${backend}`);
      await p.waitForFunction(() => document.querySelectorAll('[data-testid=strip] button').length === 16);
      await expect
        .poll(() => p.getByTestId('pane-seg-student-plain').getAttribute('data-state'), { timeout: 600_000 })
        .toBe('drawn');
      await p.getByTestId('mode-evaluate').click();
      await p.getByTestId('evaluate-run').click();
      await p.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 600_000 });
      const [file] = await Promise.all([p.waitForEvent('download'), p.getByTestId('evaluate-export').click()]);
      const r = readResults(readFileSync((await file.path())!, 'utf8'), 'results.json');
      if (!r.ok) throw new Error(r.problem);
      await p.close();
      return r.doc.rows;
    };
    const gpu = await rows('webgpu');
    const wasm = await rows('wasm');
    expect(gpu).toHaveLength(16);
    for (const [i, r] of gpu.entries()) {
      expect(r.image).toBe(wasm[i].image);
      expect(r.error).toBeUndefined();
      expect(r.vs_truth!.value!).toBeCloseTo(wasm[i].vs_truth!.value!, 3);
    }
    // images 2–16 ran in batches of four (the first ran alone, in view): one batch's time shared by its images
    const latencies = gpu.map((r) => r.latency_ms);
    for (const from of [4, 8, 12]) expect(new Set(latencies.slice(from, from + 4)).size).toBe(1);
  });
});
