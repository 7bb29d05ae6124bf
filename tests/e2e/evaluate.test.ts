/**
 * Evaluate mode in chromium: the gallery evaluated with the default pair, against the headless Python run on
 * Ray (python -m attnlens_ml.evaluate) over the same images; ranking, opening the worst image, export,
 * re-import in a fresh tab, cancel halfway.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ResultsDocument, readResults } from '../../src/evaluate/results';
import { corpusFile, root, serveApp } from './browser';

const app = serveApp();
const MODELS = ['seg-teacher', 'seg-student-attnfd'];
let python: ResultsDocument;
let ownPython: ResultsDocument;
const DETECTORS = ['detr-teacher', 'detr-student-hybrid'];
let detectorsPython: ResultsDocument;
const tmp = mkdtempSync(join(tmpdir(), 'attnlens-eval-'));
const OWN = join(tmp, 'own');

/** `python -m attnlens_ml.evaluate` with these models (the default pair) over a COCO file. */
function evaluateInPython(coco: string, out: string, ids = MODELS): ResultsDocument {
  const models = ids.map((m) => join(root, 'public/models', `${m}.onnx`)).join(',');
  execFileSync(
    join(root, 'ml/.venv/bin/python'),
    ['-m', 'attnlens_ml.evaluate', '--models', models, '--images', coco, '--out', out, '--workers', '1'],
    { cwd: join(root, 'ml'), stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return JSON.parse(readFileSync(out, 'utf8'));
}

const DYNAMIC = join(tmp, 'seg-student-plain-dyn.onnx');

beforeAll(() => {
  // seg-student-plain with its graph's batch axis left open, as torch.onnx.export(dynamic_axes=…) writes it
  execFileSync(join(root, 'ml/.venv/bin/python'), [
    '-c',
    `import onnx; m = onnx.load(${JSON.stringify(join(root, 'public/models/seg-student-plain.onnx'))})
for v in [*m.graph.input, *m.graph.output]: v.type.tensor_type.shape.dim[0].dim_param = 'batch'
del m.graph.value_info[:]
onnx.save(m, ${JSON.stringify(DYNAMIC)})`,
  ]);
  python = evaluateInPython(join(root, 'public/samples/coco.json'), join(tmp, 'python.json'));
  // 12 scenes no gallery image has, with their COCO file: a user's own data set
  const py = join(root, 'ml/.venv/bin/python');
  execFileSync(py, [join(root, 'ml/scripts/make_eval_set.py'), OWN, '--count', '12', '--start', '16']);
  ownPython = evaluateInPython(join(OWN, 'coco.json'), join(tmp, 'own.json'));
  detectorsPython = evaluateInPython(join(root, 'public/samples/coco.json'), join(tmp, 'detr.json'), DETECTORS);
});

/** The 16 gallery samples are in the image strip. */
const galleryOpen = (page: Page) =>
  page.waitForFunction(() => document.querySelectorAll('[data-testid=strip] button').length === 16);

/** The tables render from a deferred copy of the results: wait until the ranking has `n` rows. */
const tableShown = (page: Page, n: number) =>
  page.waitForFunction((n) => document.querySelectorAll('[data-testid=evaluate-row]').length === n, n);

async function evaluateGallery(page: Page): Promise<void> {
  await page.goto(app.url);
  await galleryOpen(page);
  await page.getByTestId('mode-evaluate').click();
  await page.getByTestId('evaluate-run').click();
  await page.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 120_000 });
  await tableShown(page, 16);
}

async function exported(page: Page): Promise<ResultsDocument> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId('evaluate-export').click()]);
  const text = readFileSync((await file.path())!, 'utf8');
  const r = readResults(text, 'attnlens-results.json');
  if (!r.ok) throw new Error(r.problem);
  return r.doc;
}

describe('Evaluate mode', () => {
  it('the gallery: per-image numbers and summaries as the Python run on Ray computes them', async () => {
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await evaluateGallery(page);
    expect(await page.getByTestId('evaluate-progress').getAttribute('data-done')).toBe('16');
    const doc = await exported(page);
    expect(doc.producer.name).toBe('attnlens-app');
    expect(doc.models.map((m) => [m.id, m.contract_sha256])).toEqual(
      python.models.map((m) => [m.id, m.contract_sha256]),
    );
    // Same images, by content: the app's pixel hash and the Python's agree on every gallery PNG.
    expect(doc.images.map((i) => [i.id, i.name, i.width, i.height, i.truth])).toEqual(
      python.images.map((i) => [i.id, i.name, i.width, i.height, i.truth]),
    );
    // Per image and model: the same comparisons. Tolerance: the gallery is fed byte for byte on both sides, but
    // onnxruntime-web (WASM) and native onnxruntime may round a logit differently, flipping a rare argmax tie.
    const key = (r: { image: string; model: string }) => `${r.image}|${r.model}`;
    const theirs = new Map(python.rows.map((r) => [key(r), r]));
    expect(doc.rows).toHaveLength(python.rows.length);
    let largest = 0;
    for (const r of doc.rows) {
      const p = theirs.get(key(r))!;
      for (const k of ['vs_reference', 'vs_truth'] as const) {
        expect(Boolean(r[k]), `${key(r)} ${k}`).toBe(Boolean(p[k]));
        if (!r[k] || !p[k]) continue;
        expect(r[k]!.metric).toBe(p[k]!.metric);
        expect(r[k]!.against).toBe(p[k]!.against);
        if (r[k]!.value === null || p[k]!.value === null) expect(r[k]!.value).toBe(p[k]!.value);
        else largest = Math.max(largest, Math.abs(r[k]!.value! - p[k]!.value!));
      }
    }
    expect(largest).toBeLessThan(1e-3);
    // Failures against ground truth: the same counts, up to the pixels a rounding flips.
    for (const r of doc.rows) {
      const p = theirs.get(key(r))!;
      expect(Boolean(r.failures), key(r)).toBe(Boolean(p.failures));
      if (!r.failures || !p.failures) continue;
      expect(r.failures.total).toBe(p.failures.total);
      for (const k of ['only_reference', 'only_model', 'neither'] as const)
        expect(Math.abs(r.failures[k] - p.failures[k])).toBeLessThanOrEqual(Math.ceil(0.002 * p.failures.total));
    }
    expect(await page.getByTestId('failure-row').count()).toBe(1);
    // AttnFD's distance per CBAM site, for the student on every image
    for (const r of doc.rows.filter((x) => x.model === 'seg-student-attnfd')) {
      const sites = r.methods?.attnfd?.sites ?? [];
      expect(sites.length).toBeGreaterThan(0);
      for (const s of sites) expect(s.distance).toBeGreaterThanOrEqual(0);
    }
    expect(await page.getByTestId('method-mean').count()).toBeGreaterThan(0);
    // mean gate maps over the 16 images, for both models (each CBAM site)
    expect(doc.maps?.every((m) => m.n === 16)).toBe(true);
    expect(new Set(doc.maps?.map((m) => m.model))).toEqual(new Set(MODELS));
    expect(await page.getByTestId('mean-map').count()).toBe(doc.maps?.length);
    for (const s of doc.summary) {
      const p = python.summary.find((x) => x.model === s.model && x.against === s.against && x.metric === s.metric)!;
      expect(s.n).toBe(p.n);
      expect(s.mean!).toBeCloseTo(p.mean!, 3);
    }
    // Per-class IoU pooled over the set: as the Python's, and the teacher's against ground truth is the model card's.
    for (const c of python.per_class ?? []) {
      const ours = doc.per_class?.find(
        (x) => x.model === c.model && x.against === c.against && x.class_id === c.class_id,
      );
      expect(ours?.class).toBe(c.class);
      expect(ours?.value ?? NaN).toBeCloseTo(c.value ?? NaN, 3);
    }
    const card = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')).models.find(
      (m: { id: string }) => m.id === 'seg-teacher',
    ).metrics.check_slice.iou_per_class as Record<string, number>;
    for (const [name, v] of Object.entries(card))
      expect(doc.per_class?.find((x) => x.model === 'seg-teacher' && x.class === name)?.value).toBeCloseTo(v, 3);
    expect(await page.getByTestId('confusion').count()).toBe(doc.confusion?.length);
    // What the summary table shows is the exported summary.
    const shown = await page
      .getByTestId('summary-row')
      .evaluateAll((rows) =>
        rows.map((r) => [
          r.getAttribute('data-model'),
          r.getAttribute('data-against'),
          Number(r.getAttribute('data-mean')),
        ]),
      );
    expect(shown).toEqual(doc.summary.map((s) => [s.model, s.against, s.mean]));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('ranks by disagreement, opens the worst image in the comparison, re-opens the export in a fresh tab', async () => {
    const page = await app.browser.newPage();
    await evaluateGallery(page);
    const doc = await exported(page);
    const student = doc.rows.filter((r) => r.model === 'seg-student-attnfd' && r.vs_reference?.value != null);
    const worst = student.reduce((a, b) => (b.vs_reference!.value! < a.vs_reference!.value! ? b : a));
    const first = page.getByTestId('evaluate-row').first();
    expect(await first.getAttribute('data-image')).toBe(worst.image);
    // sort by name, then back by the worst agreement
    await page.getByTestId('sort-name').click();
    expect(await page.getByTestId('evaluate-row').first().getAttribute('data-name')).toBe('factory-test-000.png');
    await page.getByTestId('sort-worst').click();
    expect(await page.getByTestId('evaluate-row').first().getAttribute('data-image')).toBe(worst.image);
    const worstName = await first.getAttribute('data-name');
    await first.click();
    await page.getByTestId('mode-compare').waitFor();
    expect(await page.getByTestId('mode-compare').getAttribute('aria-pressed')).toBe('true');
    await page.waitForFunction((name) => decodeURIComponent(location.hash).includes(name!), worstName);
    await page.locator('[data-testid=agreement][data-model=seg-student-attnfd]').first().waitFor();
    const shownValue = Number(
      await page
        .locator('[data-testid=agreement][data-model=seg-student-attnfd][data-against=seg-teacher]')
        .getAttribute('data-value'),
    );
    expect(shownValue).toBeCloseTo(worst.vs_reference!.value!, 12);
    // the disagreement overlay: the share of pixels whose class differs is 1 − pixel agreement
    const caption = await page
      .locator('[data-testid=disagreement-figure][data-model=seg-student-attnfd] [data-testid=disagreement-caption]')
      .innerText();
    expect(Number(caption.match(/([\d.]+) % of the compared pixels/)![1])).toBeCloseTo(
      100 * (1 - worst.vs_reference!.pixel_agreement!),
      1,
    );
    await page.close();

    // A fresh tab opens the file: the table and the summary come back (the gallery images are open there too).
    const fresh = await app.browser.newPage();
    await fresh.goto(app.url);
    await galleryOpen(fresh);
    await fresh.getByTestId('mode-evaluate').click();
    await fresh.getByTestId('results-file').setInputFiles({
      name: 'colleague.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(doc)),
    });
    await fresh.getByTestId('results-source').waitFor();
    await tableShown(fresh, 16);
    expect(await fresh.getByTestId('summary-row').count()).toBe(doc.summary.length);
    // and a file that is not a results file is named as such, the table stays
    await fresh.getByTestId('results-file').setInputFiles({
      name: 'coco.json',
      mimeType: 'application/json',
      buffer: readFileSync(join(root, 'public/samples/coco.json')),
    });
    await fresh.getByRole('alert').filter({ hasText: 'coco.json is JSON but not an AttnLens results file' }).waitFor();
    expect(await fresh.getByTestId('evaluate-row').count()).toBe(16);
    await fresh.close();
  });

  it("detectors: COCO AP per image and over the set as pycocotools and the model cards; box confusion as the Python's", async () => {
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}#m=${DETECTORS.join(',')}`);
    await galleryOpen(page);
    await page.getByTestId('mode-evaluate').click();
    await page.getByTestId('evaluate-run').click();
    await page.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 120_000 });
    await tableShown(page, 16);
    const doc = await exported(page);
    const python = detectorsPython;
    const theirs = new Map(python.rows.map((r) => [`${r.image}|${r.model}`, r]));
    expect(doc.rows).toHaveLength(32);
    for (const r of doc.rows) {
      const p = theirs.get(`${r.image}|${r.model}`)!;
      // each image's own AP (its top 100 detections), the app's port against pycocotools
      expect(r.vs_truth!.ap!).toBeCloseTo(p.vs_truth!.ap!, 3);
      expect(r.vs_truth!.ap50!).toBeCloseTo(p.vs_truth!.ap50!, 3);
      expect(r.vs_truth!.value!).toBeCloseTo(p.vs_truth!.value!, 3);
    }
    const card = (id: string) =>
      JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')).models.find(
        (m: { id: string }) => m.id === id,
      ).metrics.check_slice;
    for (const id of DETECTORS)
      for (const [metric, cardKey] of [
        ['box_ap', 'ap'],
        ['box_ap50', 'ap50'],
      ] as const) {
        const ours = doc.summary.find((s) => s.model === id && s.metric === metric)!;
        const py = python.summary.find((s) => s.model === id && s.metric === metric)!;
        expect(ours.n).toBe(16);
        expect(ours.ci).toBeNull();
        expect(ours.mean!).toBeCloseTo(py.mean!, 3);
        expect(ours.mean!).toBeCloseTo(card(id)[cardKey], 3);
        if (id !== doc.reference) expect(ours.share_of_reference!).toBeCloseTo(py.share_of_reference!, 3);
      }
    // box confusion (teacher vs ground truth, student vs ground truth, student vs teacher) and per-class F1
    const boxes = (d: ResultsDocument) => (d.confusion ?? []).filter((t) => t.unit === 'boxes');
    expect(boxes(doc)).toHaveLength(3);
    for (const t of boxes(python)) {
      const ours = boxes(doc).find((x) => x.model === t.model && x.against === t.against)!;
      expect(ours.class_ids).toEqual(t.class_ids);
      expect(ours.classes).toEqual(t.classes);
      const cells = t.matrix.flat();
      const differ = ours.matrix.flat().reduce((a, v, i) => a + Math.abs(v - cells[i]), 0);
      expect(differ, `${t.model} vs ${t.against}`).toBeLessThanOrEqual(2); // a score rounding may reorder a match
    }
    for (const c of (python.per_class ?? []).filter((x) => x.metric === 'f1')) {
      const ours = doc.per_class!.find(
        (x) => x.model === c.model && x.against === c.against && x.class_id === c.class_id,
      );
      expect(ours?.value ?? NaN).toBeCloseTo(c.value ?? NaN, 1);
    }
    expect(await page.locator('[data-testid=evaluate-per-class][data-unit=boxes]').count()).toBe(1);
    expect(await page.locator('[data-testid=confusion][data-unit=boxes]').count()).toBe(3);
    // the summary names AP and shows it; the ranking has a per-image AP column per detector
    const apRow = page.locator('[data-testid=summary-row][data-model=detr-student-hybrid][data-metric=box_ap]');
    expect(Number(await apRow.getAttribute('data-mean'))).toBeCloseTo(card('detr-student-hybrid').ap, 3);
    expect(await apRow.innerText()).toMatch(/COCO box AP @ IoU \.50:\.95/);
    await page.getByTestId('sort-detr-student-hybrid AP vs ground truth').waitFor();
    expect(errors).toEqual([]);
    await page.close();
  });

  it("own images dropped with their COCO file: rows against that ground truth, as the Python's", async () => {
    const page = await app.browser.newPage();
    await page.goto(app.url);
    await galleryOpen(page);
    await page.getByTestId('file-input').setInputFiles(readdirSync(OWN).map((f) => join(OWN, f)));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=strip] button').length === 28);
    await page.getByTestId('mode-evaluate').click();
    await page.getByTestId('evaluate-run').click();
    await page.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 120_000 });
    const doc = await exported(page);
    expect(doc.images).toHaveLength(28);
    expect(doc.ground_truth?.source).toBe('coco.json');
    const ours = new Map(doc.rows.map((r) => [`${r.image}|${r.model}`, r]));
    expect(ownPython.rows).toHaveLength(24);
    for (const p of ownPython.rows) {
      const r = ours.get(`${p.image}|${p.model}`);
      expect(r, `${p.image} ${p.model}`).toBeDefined();
      expect(r!.vs_truth?.value ?? null).toBeCloseTo(p.vs_truth?.value ?? NaN, 3);
      if (p.vs_reference) expect(r!.vs_reference!.value!).toBeCloseTo(p.vs_reference.value!, 3);
    }
    await page.close();
  });

  it("method numbers: the ViT pseudo-mask IoU over the gallery is the model card's; KS-DETR's foreground share", async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=vit-attn,detr-student-o2o,detr-student-ks`);
    await galleryOpen(page);
    await page.getByTestId('mode-evaluate').click();
    await page.getByTestId('evaluate-run').click();
    await page.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 120_000 });
    const doc = await exported(page);
    const vit = doc.rows.filter((r) => r.model === 'vit-attn').map((r) => r.methods?.vit?.pseudo_mask_iou);
    expect(vit).toHaveLength(16);
    const card = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')).models.find(
      (m: { id: string }) => m.id === 'vit-attn',
    ).metrics.check_slice;
    expect(doc.settings.vit).toEqual({ layer: -1, mass: card.dino_mass });
    const mean = vit.reduce((a, b) => a! + b!, 0)! / vit.length;
    expect(mean).toBeCloseTo(card.dino_iou_last_layer, 3);
    for (const id of ['detr-student-o2o', 'detr-student-ks']) {
      const shares = doc.rows.filter((r) => r.model === id).map((r) => r.methods?.ks?.foreground_share);
      expect(shares).toHaveLength(16);
      for (const s of shares) expect(s).toBeGreaterThanOrEqual(0);
      for (const s of shares) expect(s).toBeLessThanOrEqual(1);
    }
    await page.close();
  });

  it('a model whose batch axis is open runs four images a call, with the same numbers as one by one', async () => {
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}#m=seg-teacher,seg-student-plain`);
    await galleryOpen(page);
    // seg-student-plain with its batch axis left open; the tiny detector whose constant boxes do not carry a
    // batch (its run falls back to image by image) beside its fixed-batch twin
    await page
      .getByTestId('file-input')
      .setInputFiles([
        { name: 'seg-student-plain-dyn.onnx', mimeType: 'application/octet-stream', buffer: readFileSync(DYNAMIC) },
        corpusFile('dynamic-batch.onnx'),
        corpusFile('tiny-det.onnx.gz'),
      ]);
    for (const id of ['local-seg-student-plain-dyn', 'local-dynamic-batch', 'local-tiny-det'])
      await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 60_000 });
    await page.getByTestId('mode-evaluate').click();
    await page.getByTestId('evaluate-run').click();
    await page.locator('[data-testid=evaluate-progress][data-status=done]').waitFor({ timeout: 120_000 });
    const doc = await exported(page);
    const rowsOf = (id: string) => doc.rows.filter((r) => r.model === id);
    const batched = rowsOf('local-seg-student-plain-dyn');
    const fixed = rowsOf('seg-student-plain');
    expect(batched).toHaveLength(16);
    for (const [i, r] of batched.entries()) {
      expect(r.image).toBe(fixed[i].image);
      expect(r.vs_reference!.value!).toBeCloseTo(fixed[i].vs_reference!.value!, 3);
    }
    // a batch's time is shared by its images: four equal latencies in a row (the first image ran alone, in view)
    const latencies = batched.map((r) => r.latency_ms);
    for (const from of [4, 8, 12]) expect(new Set(latencies.slice(from, from + 4)).size).toBe(1);
    const fallback = rowsOf('local-dynamic-batch');
    for (const [i, r] of rowsOf('local-tiny-det').entries()) expect(fallback[i].vs_truth).toEqual(r.vs_truth);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('cancel halfway keeps what was done', async () => {
    const page = await app.browser.newPage();
    await page.goto(app.url);
    await galleryOpen(page);
    await page.getByTestId('mode-evaluate').click();
    await page.getByTestId('evaluate-run').click();
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid=evaluate-progress]')?.getAttribute('data-done')) >= 3,
    );
    await page.getByTestId('evaluate-cancel').click();
    await page.locator('[data-testid=evaluate-progress][data-status=cancelled]').waitFor();
    const done = Number(await page.getByTestId('evaluate-progress').getAttribute('data-done'));
    await tableShown(page, done);
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(16);
    const doc = await exported(page);
    expect(doc.images).toHaveLength(done);
    expect(doc.rows).toHaveLength(done * MODELS.length);
    expect(await page.getByTestId('evaluate-row').count()).toBe(done);
    await page.close();
  });
});
