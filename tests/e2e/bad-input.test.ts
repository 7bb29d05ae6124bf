/** Bad input in the real browser: each gets a message naming the problem and the fix; the view stays. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Contract, loadContract } from '../../src/contract';
import { root, serveApp } from './browser';

const app = serveApp();
let page: Page;
const zooBytes = readFileSync(join(root, 'public/models/seg-student-plain.onnx'));
const pane = 'pane-seg-teacher';

beforeAll(async () => {
  page = await app.browser.newPage();
  await page.goto(`${app.url}#m=seg-teacher,seg-student-plain&b=wasm`);
  await page.locator(`[data-testid=${pane}][data-state=drawn]`).waitFor({ timeout: 60_000 });
});

async function drop(files: { name: string; mimeType: string; buffer: Buffer }[], expected: RegExp) {
  await page.getByTestId('file-input').setInputFiles(files);
  await expect
    .poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n'), { timeout: 30_000 })
    .toMatch(expected);
  expect(await page.getByTestId(pane).getAttribute('data-state')).toBe('drawn'); // what the user had stays
}

describe('bad input keeps the view and names the problem', () => {
  it('a truncated ONNX file', async () => {
    await drop(
      [{ name: 'cut.onnx', mimeType: 'application/octet-stream', buffer: zooBytes.subarray(0, 4000) }],
      /cut\.onnx: .*(truncated|not a complete ONNX).*Pick an \.onnx model file/,
    );
  });
  it('a 0-byte model file', async () => {
    await drop(
      [{ name: 'empty.onnx', mimeType: 'application/octet-stream', buffer: Buffer.alloc(0) }],
      /^empty\.onnx is empty \(0 bytes\): the file was not saved or copied completely; pick it again\./m,
    );
  });
  it('an ONNX file without a contract says so, points at the export kit, and opens a draft contract to confirm', async () => {
    await drop(
      [
        {
          name: 'foreign.onnx',
          mimeType: 'application/octet-stream',
          buffer: readFileSync(join(root, 'tests/fixtures/foreign-relu.onnx')),
        },
      ],
      /no AttnLens contract.*export kit/,
    );
  });
  it('a sidecar contract that lies about an output', async () => {
    const contract = (loadContract(new Uint8Array(zooBytes)) as { contract: Contract }).contract;
    const lying = structuredClone(contract); // valid on its own, but says the backbone site is 48 wide
    for (const o of lying.outputs) if (o.site === 'backbone' && o.role !== 'cbam_spatial_gate') o.shape[1] = 48;
    await drop(
      [
        { name: 'liar.onnx', mimeType: 'application/octet-stream', buffer: zooBytes },
        { name: 'liar.contract.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(lying)) },
      ],
      /contract does not match the model graph: outputs\[1\] 'cbam\.backbone\.channel' is \[batch, 32\] in the graph but \[1, 48\] in the contract/,
    );
  });
  it('a model URL that does not answer', async () => {
    await page.getByTestId('model-url').fill('http://127.0.0.1:9/missing.onnx');
    await page.getByTestId('model-url').press('Enter');
    await expect
      .poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n'), { timeout: 30_000 })
      .toMatch(/the model URL http:\/\/127\.0\.0\.1:9\/missing\.onnx did not answer/);
    expect(await page.getByTestId(pane).getAttribute('data-state')).toBe('drawn');
  });
  it('a contract naming a method it has no outputs for opens, with a note saying so', async () => {
    const contract = (loadContract(new Uint8Array(zooBytes)) as { contract: Contract }).contract;
    const claims = structuredClone(contract);
    claims.model.methods = [...(claims.model.methods ?? []), 'h-detr'];
    await page.getByTestId('file-input').setInputFiles([
      { name: 'Claims.onnx', mimeType: 'application/octet-stream', buffer: zooBytes },
      { name: 'Claims.contract.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(claims)) },
    ]);
    const pane = page.getByTestId('pane-local-claims');
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    expect(await pane.getByTestId('contract-warning').allInnerTexts()).toEqual([
      "Contract note: model.methods lists 'h-detr' but the model exports no one_to_many query block, so its views will not show (methods is informational: the views follow the outputs)",
    ]);
  });
  it('a good dropped model opens next to the others', async () => {
    await page
      .getByTestId('file-input')
      .setInputFiles([{ name: 'Mine.onnx', mimeType: 'application/octet-stream', buffer: zooBytes }]);
    await expect
      .poll(() => page.getByTestId('pane-local-mine').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('drawn');
  });
  it('a 50-megapixel image is downscaled for display and analysis, with a note', async () => {
    await page.evaluate(async () => {
      const canvas = new OffscreenCanvas(7100, 7100); // 50.4 MP
      const ctx = canvas.getContext('2d')!;
      ctx.fillStyle = '#444';
      ctx.fillRect(0, 0, 7100, 7100);
      ctx.fillStyle = '#ddd';
      ctx.fillRect(3000, 3000, 900, 900);
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.8 });
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'huge.jpg', { type: 'image/jpeg' }));
      const input = document.querySelector<HTMLInputElement>('[data-testid=file-input]')!;
      input.files = dt.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await expect
      .poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n'), { timeout: 60_000 })
      .toMatch(/huge\.jpg is 50 megapixels: shown and analysed at 4096×4096/);
    await expect.poll(() => page.getByTestId(pane).getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
  });
});
