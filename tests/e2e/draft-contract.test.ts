/**
 * Plain ONNX opens through a draft contract: zoo models stripped of their contract (by onnx in Python, as a
 * user's export would come) are dropped; the pane shows the draft as a form; class names and normalisation
 * filled in, Open draws the model and its views appear. The sidecar the form downloads, dropped with the model
 * in a fresh page, opens it directly. An output AttnLens cannot read is left out, and the model still opens.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../../src/contract';
import { root, serveApp } from './browser';

const app = serveApp();
const dir = mkdtempSync(join(tmpdir(), 'attnlens-draft-'));
const ZOO_NAMES = ['background', 'bolt', 'nut', 'washer', 'gear', 'bracket', 'defect'];

/** Each zoo model without its `attnlens.contract` metadata; `plain-seg-extra` also has an int64 and a shapeless output. */
const STRIP = `
import sys, onnx
from onnx import helper, TensorProto
src, dst, extra = sys.argv[1], sys.argv[2], sys.argv[3] == '1'
m = onnx.load(src)
kept = [p for p in m.metadata_props if p.key != 'attnlens.contract']
del m.metadata_props[:]
m.metadata_props.extend(kept)
if extra:
    m.graph.node.append(helper.make_node('ArgMax', ['seg_logits'], ['class_ids'], axis=1, keepdims=1))
    m.graph.output.append(helper.make_tensor_value_info('class_ids', TensorProto.INT64, [1, 1, 160, 160]))
    m.graph.node.append(helper.make_node('Identity', ['seg_logits'], ['raw']))
    m.graph.output.append(helper.make_tensor_value_info('raw', TensorProto.FLOAT, None))
onnx.save(m, dst)
`;

const strip = (zoo: string, name: string, extra = false) => {
  execFileSync(join(root, 'ml/.venv/bin/python'), [
    '-c',
    STRIP,
    join(root, 'public/models', zoo),
    join(dir, name),
    extra ? '1' : '0',
  ]);
  return join(dir, name);
};
const file = (path: string, name = path.split('/').pop()!) => ({
  name,
  mimeType: 'application/octet-stream',
  buffer: readFileSync(path),
});

let seg = '';
let vit = '';
let extra = '';
const errors: string[] = [];

beforeAll(() => {
  seg = strip('seg-student-plain.onnx', 'plain-seg.onnx');
  vit = strip('vit-attn.onnx', 'plain-vit.onnx');
  extra = strip('seg-student-plain.onnx', 'plain-seg-extra.onnx', true);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function freshPage(): Promise<Page> {
  const page = await app.browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}#m=seg-student-plain&b=wasm`);
  await page.locator('[data-testid=pane-seg-student-plain][data-state=drawn]').waitFor({ timeout: 60_000 });
  return page;
}

/** The model's pane in draft state, and the notice that says so (`file`: the name the user gave it). */
async function draftShown(page: Page, file: string, id: string) {
  const pane = page.getByTestId(`pane-${id}`);
  await expect.poll(() => pane.getAttribute('data-state'), { timeout: 30_000 }).toBe('draft');
  const notice = `${file.replaceAll('.', '\\.')} has no AttnLens contract: a draft inferred from its graph is in the ${id} pane`;
  await expect.poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n')).toMatch(new RegExp(notice));
  return pane;
}

/** Class names, and the zoo's normalisation (mean 0.5, std 0.25), typed into a pane's draft form. */
async function fillForm(page: Page, pane: string, names: string[]) {
  const form = page.getByTestId(pane).getByTestId('draft-form');
  await form.getByTestId('draft-classes').fill(names.join('\n'));
  await form.getByTestId('draft-input-mean').fill('0.5, 0.5, 0.5');
  await form.getByTestId('draft-input-std').fill('0.25, 0.25, 0.25');
  return form;
}

describe('a segmenter without a contract', () => {
  let page: Page;
  let sidecar = '';

  it('opens a draft form instead of a refusal, with what the graph decides and what it asks', async () => {
    page = await freshPage();
    await page.getByTestId('file-input').setInputFiles(file(seg));
    const pane = await draftShown(page, 'plain-seg.onnx', 'local-plain-seg');
    const form = pane.getByTestId('draft-form');
    expect(await form.getByTestId('draft-role-seg_logits').inputValue()).toBe('segmentation_logits');
    expect(await form.getByTestId('draft-why-seg_logits').innerText()).toMatch(
      /from the graph.*shape \[1, 7, 160, 160\] fits segmentation logits with 7 classes at the input size/,
    );
    for (const site of ['backbone', 'context', 'decoder']) {
      expect(await form.getByTestId(`draft-role-cbam.${site}.channel`).inputValue()).toBe('cbam_channel_gate');
      expect(await form.getByTestId(`draft-role-cbam.${site}.spatial`).inputValue()).toBe('cbam_spatial_gate');
      expect(await form.getByTestId(`draft-role-cbam.${site}.refined`).inputValue()).toBe('cbam_refined');
    }
    // what a graph cannot say is marked to confirm
    expect(await form.getByTestId('draft-classes-summary').innerText()).toMatch(
      /^7 classes; expected by seg_logits: 7/,
    );
    expect(await form.locator('[data-certainty=ask]').count()).toBeGreaterThan(4);
    expect(await page.getByTestId('pane-seg-student-plain').getAttribute('data-state')).toBe('drawn');
  });

  it("shows the validator's errors inline, and no Open until they are answered", async () => {
    const form = page.getByTestId('pane-local-plain-seg').getByTestId('draft-form');
    await form.getByTestId('draft-classes').fill('background\nbolt');
    await expect
      .poll(() => form.getByTestId('draft-error').allInnerTexts())
      .toEqual(["class-count: outputs[0] 'seg_logits' has 7 channels but the contract lists 2 classes"]);
    expect(await form.getByTestId('draft-open').isDisabled()).toBe(true);
  });

  it('downloads the confirmed contract as a sidecar', async () => {
    const form = await fillForm(page, 'pane-local-plain-seg', ZOO_NAMES);
    await expect.poll(() => form.getByTestId('draft-error').count()).toBe(0);
    const [download] = await Promise.all([page.waitForEvent('download'), form.getByTestId('draft-download').click()]);
    expect(download.suggestedFilename()).toBe('plain-seg.contract.json');
    sidecar = join(dir, 'plain-seg.contract.json');
    await download.saveAs(sidecar);
    const r = loadContract(new Uint8Array(readFileSync(seg)), readFileSync(sidecar, 'utf8'));
    expect(r.ok && r.source).toBe('sidecar');
    if (r.ok) {
      expect(r.contract.classes.map((k) => k.name)).toEqual(ZOO_NAMES);
      expect(r.contract.input).toMatchObject({ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] });
    }
  });

  it('opens with it: the pane draws its mask and the CBAM view shows its sites', async () => {
    const pane = page.getByTestId('pane-local-plain-seg');
    await pane.getByTestId('draft-open').click();
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    expect(await pane.getByTestId('draft-form').count()).toBe(0);
    expect(await pane.getByTestId('pane-status').innerText()).toMatch(/mask$/);
    await pane.getByTestId('drafted-note').waitFor();
    const view = page.getByTestId('attnfd-view');
    for (const site of ['backbone', 'context', 'decoder'])
      await view.getByTestId(`site-${site}`).getByTestId('site-card-local-plain-seg').waitFor({ timeout: 30_000 });
    // the same graph and contract as the zoo's student: the same mask
    const row = page.locator('[data-testid=agreement][data-model=local-plain-seg][data-against=seg-student-plain]');
    await expect.poll(() => row.getAttribute('data-value'), { timeout: 30_000 }).toBe('1');
  });

  it('the sidecar, dropped with the model in a fresh page, opens it directly (no form)', async () => {
    const fresh = await freshPage();
    await fresh.getByTestId('file-input').setInputFiles([file(seg), file(sidecar)]);
    const pane = fresh.getByTestId('pane-local-plain-seg');
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    expect(await fresh.getByTestId('draft-form').count()).toBe(0);
    expect(await fresh.getByRole('alert').count()).toBe(0);
    await fresh.close();
  });
});

describe('a model URL without a contract', () => {
  it('gets the same draft form as a dropped file, and opens with it', async () => {
    // another origin, as a public CORS host serves a user's export
    const server = createServer((_req, res) => {
      res.writeHead(200, {
        'access-control-allow-origin': '*',
        'cross-origin-resource-policy': 'cross-origin',
        'content-type': 'application/octet-stream',
      });
      res.end(readFileSync(seg));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const page = await freshPage();
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exports/plain-url.onnx`;
      await page.getByTestId('model-url').fill(url);
      await page.getByTestId('model-url').press('Enter');
      const pane = await draftShown(page, 'plain-url.onnx', 'local-plain-url');
      const form = await fillForm(page, 'pane-local-plain-url', ZOO_NAMES);
      await expect.poll(() => form.getByTestId('draft-error').count()).toBe(0);
      await form.getByTestId('draft-open').click();
      await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
      // the zoo student's graph with the zoo's contract answered in: the zoo student's mask
      const row = page.locator('[data-testid=agreement][data-model=local-plain-url][data-against=seg-student-plain]');
      await expect.poll(() => row.getAttribute('data-value'), { timeout: 30_000 }).toBe('1');
      await page.close();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('a ViT without a contract', () => {
  it('asks softmax or sigmoid for its labels; opened, the ViT view draws its heads', async () => {
    const page = await freshPage();
    await page.getByTestId('file-input').setInputFiles(file(vit));
    const pane = page.getByTestId('pane-local-plain-vit');
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 30_000 }).toBe('draft');
    const form = pane.getByTestId('draft-form');
    expect(await form.getByTestId('draft-role-cls_attention').inputValue()).toBe('cls_attention');
    expect(await form.getByTestId('draft-role-self_attention').inputValue()).toBe('self_attention');
    expect(await form.getByTestId('draft-role-patch_tokens').inputValue()).toBe('token_features');
    expect(await form.getByTestId('draft-why-label_logits').getAttribute('data-certainty')).toBe('ask');
    await form.getByTestId('draft-role-label_logits').selectOption('multilabel_logits');
    // 6 label columns, 7 names: the first, background, has no column
    await fillForm(page, 'pane-local-plain-vit', ZOO_NAMES);
    expect(await form.getByTestId('draft-classes-summary').innerText()).toMatch(
      /7 classes; expected by label_logits: 6 or 7 with a background/,
    );
    await form.getByTestId('draft-open').click();
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    await expect.poll(() => page.getByTestId('vit-view').getByTestId('vit-head').count(), { timeout: 60_000 }).toBe(4);
    await page.close();
  });
});

describe('a graph with an output AttnLens cannot read', () => {
  it('leaves it out, says why, and still opens', async () => {
    const page = await freshPage();
    await page.getByTestId('file-input').setInputFiles(file(extra));
    const pane = page.getByTestId('pane-local-plain-seg-extra');
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 30_000 }).toBe('draft');
    const form = pane.getByTestId('draft-form');
    for (const [name, why] of [
      ['class_ids', /from the graph.*it is int64: AttnLens reads float32 or float16 outputs only/],
      ['raw', /from the graph.*the graph gives it no shape/],
    ] as const) {
      const role = form.getByTestId(`draft-role-${name}`);
      expect(await role.inputValue()).toBe('ignore');
      expect(await role.locator('option').allInnerTexts()).toEqual(['ignore (leave out)']);
      expect(await form.getByTestId(`draft-why-${name}`).innerText()).toMatch(why);
    }
    await fillForm(page, 'pane-local-plain-seg-extra', ZOO_NAMES);
    await form.getByTestId('draft-open').click();
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    expect(errors).toEqual([]);
    await page.close();
  });
});
