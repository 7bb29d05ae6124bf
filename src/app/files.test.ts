/** What each dropped file becomes, decided by its bytes: every outcome worded, starting with the file's name. */
import { describe, expect, it } from 'vitest';
import type { Sniffed } from '../inference/sniff';
import { type DroppedFile, downscaleNote, planFiles, undecodableMessage } from './files';

const onnx: Sniffed = { kind: 'onnx' };
const png: Sniffed = { kind: 'image', format: 'png', width: 64, height: 48 };
const file = (name: string, sniffed: Sniffed, more: Partial<DroppedFile> = {}): DroppedFile => ({
  name,
  innerName: name,
  sniffed,
  ...more,
});
const contract = (name: string) => file(name, { kind: 'json' }, { json: 'contract' });

describe('planFiles', () => {
  it('a model and its sidecar, matched whatever their case', () => {
    expect(planFiles([file('Mixed.ONNX', onnx), contract('mixed.contract.json')])).toEqual([
      { do: 'model', file: 0, sidecar: 1, externalData: [] },
    ]);
    expect(planFiles([contract('MODEL.contract.json'), file('model.onnx', onnx)])).toEqual([
      { do: 'model', file: 1, sidecar: 0, externalData: [] },
    ]);
  });
  it('a sidecar alone names the model it belongs to', () => {
    expect(planFiles([contract('lonely.contract.json'), file('other.onnx', onnx)])).toEqual([
      {
        do: 'tell',
        file: 0,
        message:
          'lonely.contract.json is the contract sidecar of a model file lonely.onnx, which was not dropped with it: drop lonely.onnx and lonely.contract.json together (select both files).',
      },
      { do: 'model', file: 1, externalData: [] },
    ]);
  });
  it('external data: attached when dropped along, named when not', () => {
    const model = file('external.onnx', onnx, { externalData: ['external.onnx.data'] });
    expect(planFiles([model, file('external.onnx.data', { kind: 'unknown' })])).toEqual([
      { do: 'model', file: 0, externalData: [{ file: 1, path: 'external.onnx.data' }] },
    ]);
    // the model names its weights' path; the file dropped may differ in case (the runtime gets the model's path)
    const nested = file('m.onnx', onnx, { externalData: ['weights/M.bin'] });
    expect(planFiles([file('m.BIN', { kind: 'unknown' }), nested])).toEqual([
      { do: 'model', file: 1, externalData: [{ file: 0, path: 'weights/M.bin' }] },
    ]);
    expect(planFiles([model])).toEqual([
      {
        do: 'tell',
        file: 0,
        message:
          'external.onnx keeps its weights in a separate file (external.onnx.data) that was not given with it: drop external.onnx and external.onnx.data together (select both files).',
      },
    ]);
    expect(planFiles([file('w.onnx.data', { kind: 'unknown' })])[0]).toEqual({
      do: 'tell',
      file: 0,
      message:
        'w.onnx.data looks like the external weights of an ONNX model, which open only with the model: drop it together with its .onnx file.',
    });
  });
  it('names that lie: a PNG called .bin or .onnx is an image, a model called .png a model, with a note', () => {
    expect(planFiles([file('image-named.bin', png), file('pic.onnx', png), file('model-named.png', onnx)])).toEqual([
      { do: 'image', file: 0, note: 'image-named.bin is a PNG image whatever its name says: opened as an image.' },
      { do: 'image', file: 1, note: 'pic.onnx is a PNG image whatever its name says: opened as an image.' },
      {
        do: 'model',
        file: 2,
        externalData: [],
        note: 'model-named.png is an ONNX model whatever its name says: opened as a model.',
      },
    ]);
    expect(planFiles([file('a.JPG', { ...png, format: 'jpeg' })])).toEqual([{ do: 'image', file: 0 }]);
  });
  it('a gzipped model opens as the model inside (its sidecar matched by the inner name)', () => {
    const gz = file('tiny-det.onnx.gz', onnx, { innerName: 'tiny-det.onnx' });
    expect(planFiles([gz, contract('tiny-det.contract.json')])).toEqual([
      { do: 'model', file: 0, sidecar: 1, externalData: [] },
    ]);
  });
  it('PyTorch checkpoints and pickles point at the export kit; other files say what AttnLens opens', () => {
    const told = (f: DroppedFile) => (planFiles([f])[0] as { message: string }).message;
    expect(told(file('checkpoint.pt', { kind: 'zip', pytorch: true }))).toBe(
      'checkpoint.pt is a PyTorch checkpoint (a zip holding data.pkl), not an ONNX model: AttnLens runs ONNX models; export it to ONNX with the AttnLens export kit (ml/attnlens_ml/export_kit.py: export_with_contract, see docs/contract.md), then drop the .onnx file it writes.',
    );
    expect(told(file('weights.pkl', { kind: 'pickle' }))).toMatch(/^weights\.pkl is a Python pickle .*export kit/);
    expect(told(file('a.zip', { kind: 'zip', pytorch: false }))).toMatch(/^a\.zip is a zip archive.*unpack it/);
    expect(told(file('scan.tif', { kind: 'foreign', format: 'tiff' }))).toBe(
      'scan.tif is a TIFF image, which browsers cannot decode: save it as PNG (lossless) and drop that.',
    );
    expect(told(file('IMG_0001.HEIC', { kind: 'foreign', format: 'heic' }))).toMatch(
      /^IMG_0001\.HEIC is a HEIC.*JPEG or PNG/,
    );
    expect(told(file('model.onnx', { kind: 'foreign', format: 'html' }))).toMatch(
      /^model\.onnx is a web page \(HTML\).*download the model or image itself/,
    );
    expect(told(file('notes.txt', { kind: 'unknown' }))).toBe(
      'notes.txt is not a file AttnLens opens (by its bytes it is not an ONNX model, an image or JSON): drop .onnx models (or .onnx.gz), PNG, JPEG, WebP, GIF or BMP images, COCO JSON, or an .attnlens view.',
    );
    expect(told(file('e.png', { kind: 'empty' }))).toMatch(/^e\.png is empty \(0 bytes\)/);
    expect(told(file('x.gz', { kind: 'gzip' }, { gzipBroken: true }))).toMatch(
      /^x\.gz is gzip-compressed but does not decompress/,
    );
    const gone = 'm.onnx could not be read (it was moved, changed or deleted after it was picked): drop it again.';
    expect(told(file('m.onnx', { kind: 'unknown' }, { unreadable: gone }))).toBe(gone);
    expect(told(file('notes.json', { kind: 'json' }, { json: 'other' }))).toMatch(
      /^notes\.json is JSON, but neither COCO/,
    );
  });
  it('COCO JSON (and JSON that does not parse, so the COCO reader names the problem) is ground truth', () => {
    expect(
      planFiles([
        file('gt.json', { kind: 'json' }, { json: 'coco' }),
        file('bad.json', { kind: 'json' }, { json: 'invalid' }),
      ]),
    ).toEqual([
      { do: 'coco', file: 0 },
      { do: 'coco', file: 1 },
    ]);
  });
});

describe('downscaleNote', () => {
  it('megapixels when there is at least one, pixels when not (never "0 megapixels")', () => {
    expect(downscaleNote('huge.jpg', { width: 7100, height: 7100 }, { width: 4096, height: 4096 })).toBe(
      'huge.jpg is 50 megapixels: shown and analysed at 4096×4096.',
    );
    expect(downscaleNote('s.png', { width: 8000, height: 2 }, { width: 4096, height: 1 })).toBe(
      's.png is 8,000×2 (16,000 pixels): shown and analysed at 4096×1.',
    );
    expect(downscaleNote('w.png', { width: 5000, height: 400 }, { width: 4096, height: 328 })).toBe(
      'w.png is 2.0 megapixels: shown and analysed at 4096×328.',
    );
  });
});

describe('undecodableMessage', () => {
  it('names the format the header says', () => {
    expect(undecodableMessage(file('cut.webp', { kind: 'image', format: 'webp', width: null, height: null }))).toBe(
      'cut.webp is a WebP image by its bytes, but this browser cannot decode it (it may be truncated or damaged): save it again as PNG, JPEG or WebP.',
    );
  });
});
