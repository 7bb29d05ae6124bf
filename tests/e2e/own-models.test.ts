/**
 * Bring your own model: architectures the project did not write (torchvision's VisionTransformer and LR-ASPP,
 * Hugging Face's DETR with its own label ids and DINOv2 with register tokens), built with random weights and
 * exported by the export kit's one entry point (ml/scripts/export_families.py --e2e → attnlens_ml.export_kit.export),
 * dropped into the app next to a zoo model: each pane draws, its method views appear, and no page error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../../src/contract';
import { root, serveApp } from './browser';

const app = serveApp();
const dir = mkdtempSync(join(tmpdir(), 'attnlens-own-models-'));

interface Exported {
  name: string;
  path: string;
  bytes: number;
  seconds: number;
  found: string[];
  not_found: string[];
}
let exported: Map<string, Exported>;

beforeAll(() => {
  const out = execFileSync(
    join(root, 'ml/.venv/bin/python'),
    ['-W', 'ignore', join(root, 'ml/scripts/export_families.py'), dir, '--e2e', '--json'],
    { encoding: 'utf8', env: { ...process.env, HF_HUB_OFFLINE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  exported = new Map((JSON.parse(out) as Exported[]).map((e) => [e.name, e]));
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string) => {
  const path = exported.get(name)!.path;
  return { name: basename(path), mimeType: 'application/octet-stream', buffer: readFileSync(path) };
};

/** A page with `hash`'s zoo model drawn, `name` dropped on it; returns the page once both panes have drawn. */
async function dropNextTo(hash: string, zoo: string, name: string, errors: string[]): Promise<Page> {
  const page = await app.browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}#${hash}`);
  await page.locator(`[data-testid=pane-${zoo}][data-state=drawn]`).waitFor({ timeout: 90_000 });
  await page.getByTestId('file-input').setInputFiles(file(name));
  await page.locator(`[data-testid=pane-local-${name}][data-state=drawn]`).waitFor({ timeout: 90_000 });
  expect(await page.getByTestId(`pane-${zoo}`).getAttribute('data-state')).toBe('drawn');
  return page;
}

describe('the exported files', () => {
  it('carry a contract the app reads, without errors, and are small', () => {
    expect([...exported.keys()]).toEqual(['tv-vit', 'tv-lraspp', 'hf-detr', 'hf-dinov2-reg']);
    for (const e of exported.values()) {
      const loaded = loadContract(new Uint8Array(readFileSync(e.path)));
      if (!loaded.ok) throw new Error(`${e.name}: ${loaded.problem}`);
      expect(loaded.warnings, e.name).toEqual([]); // nothing this AttnLens does not know (1.4's channel_gate included)
      expect(e.bytes).toBeLessThan(10_000_000);
    }
    const lraspp = loadContract(new Uint8Array(readFileSync(exported.get('tv-lraspp')!.path)));
    expect(lraspp.ok && lraspp.contract.version).toBe('1.4');
    expect(lraspp.ok && lraspp.contract.outputs.filter((o) => o.role === 'channel_gate').length).toBe(8);
  });
});

describe('own models next to a zoo model', () => {
  it("torchvision's VisionTransformer: the ViT view appears for it, next to seg-teacher", async () => {
    const errors: string[] = [];
    const page = await dropNextTo('m=seg-teacher&s=factory-test-003.png&b=wasm', 'seg-teacher', 'tv-vit', errors);
    const view = page.getByTestId('vit-view');
    await view.waitFor({ timeout: 60_000 });
    await expect.poll(() => view.getByTestId('vit-head').count(), { timeout: 60_000 }).toBe(2); // its 2 heads
    expect(await view.getByTestId('vit-dino-caption').innerText()).toMatch(/DINO: \d+ of 16/); // 4x4 patches
    expect(errors).toEqual([]);
    await page.close();
  });

  it('DINOv2 with register tokens (Hugging Face): the ViT view, over its 4x4 patches', async () => {
    const errors: string[] = [];
    const page = await dropNextTo(
      'm=seg-teacher&s=factory-test-003.png&b=wasm',
      'seg-teacher',
      'hf-dinov2-reg',
      errors,
    );
    const view = page.getByTestId('vit-view');
    await view.waitFor({ timeout: 60_000 });
    await expect.poll(() => view.getByTestId('vit-head').count(), { timeout: 60_000 }).toBe(2);
    expect(await view.getByTestId('vit-dino-caption').innerText()).toMatch(/DINO: \d+ of 16/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("torchvision's LR-ASPP: its mask draws next to seg-teacher, its squeeze-and-excitation gates in their view", async () => {
    const errors: string[] = [];
    const page = await dropNextTo('m=seg-teacher&s=factory-test-003.png&b=wasm', 'seg-teacher', 'tv-lraspp', errors);
    expect(await page.getByTestId('pane-local-tv-lraspp').getByTestId('pane-status').innerText()).toMatch(/mask/);
    // its 8 channel-only gates, each summarised over its channels (shares of channels per tenth of [0, 1])
    await expect.poll(() => page.getByTestId('channel-gate-card').count(), { timeout: 30_000 }).toBe(8);
    expect(await page.getByTestId('channel-gate-card').first().innerText()).toMatch(/\d+ channels · mean 0\.\d{3}/);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("a Hugging Face DETR with its own label ids: drawn next to the zoo's DETR, with its query and KS views", async () => {
    const errors: string[] = [];
    const page = await dropNextTo('m=detr-teacher&s=factory-test-001.png&b=wasm', 'detr-teacher', 'hf-detr', errors);
    const pane = page.getByTestId('pane-local-hf-detr');
    // its recommended threshold (0.05, exported with it) keeps boxes, labelled with its own classes
    expect(await pane.getByTestId('pane-status').innerText()).toMatch(/ · \d+ box(es)? ≥ 0\.05, its recommended$/);
    const labels = await pane.locator('g.det text').allTextContents();
    expect(labels.length).toBeGreaterThan(0);
    for (const l of labels) expect(l).toMatch(/^(pallet|forklift|person) \d+$/);
    await page.getByTestId('detr-queries-view').waitFor({ timeout: 60_000 });
    // a click on one of its boxes opens that query's cross-attention
    const box = (await pane.locator('g.det rect').first().boundingBox())!;
    await pane.getByTestId('viewport').scrollIntoViewIfNeeded();
    const again = (await pane.locator('g.det rect').first().boundingBox()) ?? box;
    await page.mouse.click(again.x + again.width / 2, again.y + again.height / 2);
    await page.getByTestId('qattn-local-hf-detr').waitFor({ timeout: 30_000 });
    const ks = page.getByTestId('ks-view');
    await ks.getByTestId('ks-local-hf-detr').waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('the DETR alone next to a segmenter: the DETR views appear because of it', async () => {
    const errors: string[] = [];
    const page = await dropNextTo('m=seg-teacher&s=factory-test-001.png&b=wasm', 'seg-teacher', 'hf-detr', errors);
    await page.getByTestId('detr-queries-view').waitFor({ timeout: 60_000 });
    await page.getByTestId('ks-view').getByTestId('ks-local-hf-detr').waitFor({ timeout: 60_000 });
    expect(errors).toEqual([]);
    await page.close();
  });
});
