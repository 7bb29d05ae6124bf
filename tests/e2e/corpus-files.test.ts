/**
 * Misnamed, foreign and hostile files (tests/fixtures/corpus, made by ml/scripts/make_bad_models.py) dropped
 * into a tab with a model drawn and a user image open: each gets its exact message (the file's name first, the
 * fix), no raw runtime text outside the "technical detail" fold, no page error, and what was open stays open.
 * Models that are only misnamed, gzipped or split from their weights open and draw.
 */
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, serveApp } from './browser';

const app = serveApp();
let page: Page;
const errors: string[] = [];
const pane = 'pane-seg-student-plain';

const RAW_RUNTIME_TEXT = /ERROR_CODE|\.cc:|\/onnxruntime\/|onnxruntime::/;

const alerts = async () => (await page.getByRole('alert').allInnerTexts()).map((t) => t.replace(/\s*×$/, ''));
const stripCount = () => page.getByTestId('strip').locator('button').count();

/** The page's text with every "technical detail" fold taken out. */
const visibleText = () =>
  page.evaluate(() => {
    const main = document.querySelector('main')!.cloneNode(true) as HTMLElement;
    for (const d of main.querySelectorAll('details')) d.remove();
    return main.innerText;
  });

async function dismissAll(): Promise<void> {
  for (let n = await page.getByLabel('dismiss').count(); n > 0; n--) await page.getByLabel('dismiss').first().click();
}

/** Take the models a test added out of the view (through the link, as a user editing it would). */
const onlyTheZooModel = () =>
  page.evaluate(() => {
    location.hash = location.hash.replace(/m=[^&]*/, 'm=seg-student-plain');
  });

let stripBefore = 0;

beforeAll(async () => {
  page = await app.browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}#m=seg-student-plain&b=wasm`);
  await page.locator(`[data-testid=${pane}][data-state=drawn]`).waitFor({ timeout: 60_000 });
});

describe('a user image open first', () => {
  it('a PNG named .bin opens as an image, with a note', async () => {
    await page.getByTestId('file-input').setInputFiles(corpusFile('image-named.bin'));
    await expect
      .poll(alerts, { timeout: 30_000 })
      .toEqual(['image-named.bin is a PNG image whatever its name says: opened as an image.']);
    await expect.poll(() => page.getByTestId('current-image').innerText()).toMatch(/^image-named\.bin/);
    await expect
      .poll(() => page.getByTestId(pane).getAttribute('data-image'), { timeout: 60_000 })
      .toBe(await page.getByTestId('current-image').getAttribute('data-image'));
    await page.locator(`[data-testid=${pane}][data-state=drawn]`).waitFor({ timeout: 60_000 });
    stripBefore = await stripCount();
  });
});

/** Drop, wait for exactly these messages, and check that nothing raw shows and nothing that was open went. */
async function drop(names: string[], expected: (string | RegExp)[]) {
  await dismissAll();
  await page.getByTestId('file-input').setInputFiles(names.map(corpusFile));
  await expect
    .poll(alerts, { timeout: 60_000 })
    .toEqual(expected.map((e) => (typeof e === 'string' ? e : expect.stringMatching(e))));
  expect(await visibleText()).not.toMatch(RAW_RUNTIME_TEXT);
  // still drawn (or drawn again, on a new image)
  await expect.poll(() => page.getByTestId(pane).getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
  expect(await stripCount()).toBeGreaterThanOrEqual(stripBefore);
  expect(errors).toEqual([]);
}

/** The runtime's text is there, folded, for a bug report. */
async function foldedDetail(pattern: RegExp) {
  const details = page.getByTestId('raw-detail');
  await expect.poll(() => details.count()).toBeGreaterThan(0);
  expect((await details.locator('pre').allTextContents()).join('\n')).toMatch(pattern);
}

describe('models the browser runtime refuses: named, with the fix', () => {
  it('a custom operator', async () => {
    await drop(
      ['custom-op.onnx'],
      [
        'custom-op.onnx uses the custom operator FancyPool (domain com.acme), which the browser runtime (onnxruntime-web 1.30) does not have: it runs the standard ONNX operators, opsets up to 26. Export the model without custom operators (replace them by standard ONNX ones).',
      ],
    );
    await foldedDetail(/is not a registered function\/op/);
  });
  it('an opset from the future', async () => {
    await drop(
      ['opset-30.onnx'],
      [
        'opset-30.onnx imports ONNX opset 30; the browser runtime (onnxruntime-web 1.30) reads opsets up to 26: export it again with opset 26 or lower (torch.onnx.export(…, opset_version=17) is a safe choice).',
      ],
    );
    await foldedDetail(/ERROR_CODE/);
  });
  it('an IR version from the future', async () => {
    await drop(
      ['ir-14.onnx'],
      [
        'ir-14.onnx is ONNX IR version 14, newer than the browser runtime (onnxruntime-web 1.30) reads (up to IR 13): save it with an older onnx package, or export it again with opset 26 or lower (torch.onnx.export(…, opset_version=17) is a safe choice).',
      ],
    );
  });
  it('external data without its file', async () => {
    await drop(
      ['external.onnx'],
      [
        'external.onnx keeps its weights in a separate file (external.onnx.data) that was not given with it: drop external.onnx and external.onnx.data together (select both files).',
      ],
    );
  });
  it('an int64 input: what the contract and the graph say', async () => {
    await drop(
      ['int64-input.onnx'],
      [
        "int64-input.onnx: its contract does not match the model graph: input 'image' is int64 in the graph but float32 in the contract; AttnLens feeds the dtype the contract says (float32 or float16). Re-export the model with the AttnLens export kit (ml/attnlens_ml/export_kit.py) or fix its sidecar <model>.contract.json.",
      ],
    );
  });
  it('a Reshape that fails at run time: which node, and that it is this input size', async () => {
    await drop(
      ['reshape-fail.onnx'],
      [
        /^reshape-fail\.onnx fails on this input size: its Reshape node 'bad_reshape' cannot reshape \[1, 3, 160, 160\] to \[1, 3, 320, 160\]\. The model was probably exported for another input size than its contract's input\.shape \(\[1, 3, 160, 160\]\): export it again for that size \(or with dynamic axes\), or fix input\.shape\. \(image: image-named\.bin\)$/,
      ],
    );
    await foldedDetail(/reshape_helper/);
    // its pane says it failed on this image (not "running" for ever), with Retry, which fails the same way
    const failed = page.getByTestId('pane-local-reshape-fail');
    await expect.poll(() => failed.getAttribute('data-state')).toBe('failed');
    expect(await failed.getByTestId('pane-status').innerText()).toMatch(/· failed on this image$/);
    expect(await failed.getByTestId('run-failed').innerText()).toBe(
      'did not run on image-named.bin: see the message above',
    );
    await dismissAll();
    await failed.getByTestId('retry-run').click();
    await expect
      .poll(alerts, { timeout: 60_000 })
      .toEqual([expect.stringMatching(/^reshape-fail\.onnx fails on this input size/)]);
    await expect.poll(() => failed.getAttribute('data-state')).toBe('failed');
    await onlyTheZooModel();
  });
  it('a model whose input cannot fit the browser runtime: refused at load, before anything is allocated', async () => {
    await drop(
      ['huge-input.onnx'],
      [
        "huge-input.onnx's input 'image' is [1, 3, 40000, 40000]: 19.2 GB as float32, more than the browser runtime can hold (its WebAssembly memory is at most 4 GB for everything). Export it for a smaller input: AttnLens analyses images at up to 4,096 pixels a side.",
      ],
    );
    await onlyTheZooModel();
  });
  it('a size that overflows at run time', async () => {
    await drop(
      ['overflow.onnx'],
      [
        "overflow.onnx fails on this input size: its Tile node 'huge_tile' computes a tensor too large to hold (more than 4 GB, an integer overflow in its sizes) for the input of shape [1, 3, 160, 160]. Check the shapes that node computes from the input, and export the model again. (image: image-named.bin)",
      ],
    );
    await onlyTheZooModel();
  });
});

describe('files that are not what their names say', () => {
  it('a PyTorch checkpoint and a raw pickle point at the export kit', async () => {
    await drop(
      ['checkpoint.pt', 'weights.pkl'],
      [
        'checkpoint.pt is a PyTorch checkpoint (a zip holding data.pkl), not an ONNX model: AttnLens runs ONNX models; export it to ONNX with the AttnLens export kit (ml/attnlens_ml/export_kit.py: export_with_contract, see docs/contract.md), then drop the .onnx file it writes.',
        'weights.pkl is a Python pickle (PyTorch weights saved with torch.save, or pickle.dump), not an ONNX model: AttnLens runs ONNX models; export it to ONNX with the AttnLens export kit (ml/attnlens_ml/export_kit.py: export_with_contract, see docs/contract.md), then drop the .onnx file it writes.',
      ],
    );
  });
  it('a sidecar alone names its model; JSON that is neither COCO nor a contract says so', async () => {
    await drop(
      ['lonely.contract.json', 'notes.json'],
      [
        'lonely.contract.json is the contract sidecar of a model file lonely.onnx, which was not dropped with it: drop lonely.onnx and lonely.contract.json together (select both files).',
        'notes.json is JSON, but neither COCO annotations (with "images" and "annotations") nor an AttnLens contract: drop a COCO file for ground truth, or <model>.contract.json together with its model.',
      ],
    );
  });
});

describe('formats dropped by mistake: named, with what to convert them to', () => {
  it('TIFF, SVG, PDF, a web page saved as .onnx, a PNG cut in half', async () => {
    await drop(
      ['scan.tiff', 'logo.svg', 'spec.pdf', 'saved-page.onnx', 'cut-half.png'],
      [
        'scan.tiff is a TIFF image, which browsers cannot decode: save it as PNG (lossless) and drop that.',
        'logo.svg is an SVG drawing, not a photo: AttnLens analyses camera images; export it as PNG at the size you need if you want it analysed.',
        'spec.pdf is a PDF document: export the page or picture you want analysed as PNG or JPEG and drop that.',
        'saved-page.onnx is a web page (HTML), perhaps saved in place of the file it links to: download the model or image itself and drop that.',
        'cut-half.png is a PNG image by its bytes, but this browser cannot decode it (it may be truncated or damaged): save it again as PNG, JPEG or WebP.',
      ],
    );
  });
});

describe('models that open', () => {
  const opens = async (id: string) => {
    await expect
      .poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 60_000 })
      .toBe('drawn');
    expect(await page.getByTestId(pane).getAttribute('data-state')).toBe('drawn');
    expect(await visibleText()).not.toMatch(RAW_RUNTIME_TEXT);
    expect(errors).toEqual([]);
  };
  it('a model with its external-data file, dropped together', async () => {
    await dismissAll();
    await page.getByTestId('file-input').setInputFiles([corpusFile('external.onnx'), corpusFile('external.onnx.data')]);
    await opens('local-external');
    expect(await alerts()).toEqual([]);
  });
  it('a gzipped model (.onnx.gz)', async () => {
    await dismissAll();
    await page.getByTestId('file-input').setInputFiles(corpusFile('tiny-det.onnx.gz'));
    await opens('local-tiny-det');
    expect(await alerts()).toEqual([]);
  });
  it('a model whose graph leaves the batch axis open (dynamic_axes)', async () => {
    await dismissAll();
    await page.getByTestId('file-input').setInputFiles(corpusFile('dynamic-batch.onnx'));
    await opens('local-dynamic-batch');
    expect(await alerts()).toEqual([]);
  });
  it('a model named .png, with a note', async () => {
    await dismissAll();
    await page.getByTestId('file-input').setInputFiles(corpusFile('model-named.png'));
    await opens('local-model-named.png');
    expect(await alerts()).toEqual(['model-named.png is an ONNX model whatever its name says: opened as a model.']);
  });
  it('a sidecar whose name differs from its model only in case', async () => {
    await dismissAll();
    await page.getByTestId('file-input').setInputFiles([corpusFile('Mixed.ONNX'), corpusFile('mixed.contract.json')]);
    await opens('local-mixed');
    expect(await alerts()).toEqual([]);
  });
});

describe('extreme images are analysed, and a note says what was downscaled', () => {
  for (const [name, note] of [
    ['wide-100000x1.png', 'wide-100000x1.png is 100,000×1 (100,000 pixels): shown and analysed at 4096×1.'],
    ['tall-1x100000.png', 'tall-1x100000.png is 1×100,000 (100,000 pixels): shown and analysed at 1×4096.'],
    ['strip-8000x2.png', 'strip-8000x2.png is 8,000×2 (16,000 pixels): shown and analysed at 4096×1.'],
  ])
    it(name, async () => {
      const before = await stripCount();
      await drop([name], [note]);
      await expect.poll(() => page.getByTestId('current-image').innerText()).toMatch(new RegExp(`^${name}`));
      await expect.poll(stripCount).toBe(before + 1);
      await page.locator(`[data-testid=${pane}][data-state=drawn]`).waitFor({ timeout: 60_000 });
      expect(await page.getByTestId(pane).getAttribute('data-image')).toBe(
        await page.getByTestId('current-image').getAttribute('data-image'),
      );
    });
});
