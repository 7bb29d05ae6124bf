import { deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeView } from '../state/viewState';
import {
  decodePayload,
  encodePayload,
  fromBase64,
  linkWithPayload,
  MAX_INFLATED_BYTES,
  readViewFile,
  splitPayload,
  toBase64,
  type ViewDocument,
} from './viewDocument';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 250, 255]);
const doc: ViewDocument = {
  format: 'attnlens-view',
  version: '1.0',
  images: [{ id: '0123456789abcdef', name: 'belt 07 (copy).png', mime: 'image/png', data: toBase64(PNG) }],
  truth: { drawn: { '0123456789abcdef': [{ x0: 1, y0: 2, x1: 30.5, y1: 40, classId: 4 }] }, imported: null },
  models: [{ id: 'local-mine', source: 'file', name: 'mine.onnx', sha256: 'a'.repeat(64), bytes: 1234 }],
  findings: [
    {
      id: 'f1',
      text: 'the student misses scratches at the belt edge <b>&</b> "quoted"',
      created: '2026-11-23T10:00:00Z',
      scope: 'region',
      hash: '#m=seg-teacher&img=0123456789abcdef',
      zoom: { k: 2, x: -0.5, y: -0.25 },
      image: { id: '0123456789abcdef', name: 'belt 07 (copy).png' },
      region: { x0: 10, y0: 20, x1: 60, y1: 70 },
    },
  ],
};
const urlSafe = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

describe('the link payload', () => {
  it('round-trips a document (image bytes, boxes, models, findings) through a URL-safe string', async () => {
    const payload = await encodePayload(doc);
    expect(payload).toMatch(/^[A-Za-z0-9_-]+$/);
    const back = await decodePayload(payload);
    expect(back).toEqual({ ok: true, doc, notes: [] });
    if (back.ok) expect(fromBase64(back.doc.images![0].data)).toEqual(PNG);
  });
  it('sits after the view parameters, which stay readable; the view decoder ignores it', async () => {
    const payload = await encodePayload(doc);
    const hash = linkWithPayload('#m=seg-teacher%2Cseg-student-attnfd&s=factory-test-003.png', payload);
    expect(hash.startsWith('#m=seg-teacher%2Cseg-student-attnfd&s=factory-test-003.png&v=2&x=')).toBe(true);
    expect(splitPayload(hash)).toEqual({
      view: '#m=seg-teacher%2Cseg-student-attnfd&s=factory-test-003.png&v=2',
      payload,
      version: 2,
    });
    const decoded = decodeView(hash);
    expect(decoded.problems).toEqual([]);
    expect(decoded.payload).toBe(payload);
    expect(decoded.view.image).toEqual({ sample: 'factory-test-003.png' });
  });
  it('refuses what is cut, altered, foreign, too big or of a newer major version, in words', async () => {
    const payload = await encodePayload(doc);
    const refuse = async (p: string) => {
      const r = await decodePayload(p);
      expect(r.ok).toBe(false);
      return r.ok ? '' : r.problem;
    };
    expect(await refuse(payload.slice(0, payload.length - 7))).toMatch(/cut|decompress/);
    expect(await refuse(`${payload.slice(0, 10)}<script>${payload.slice(10)}`)).toMatch(/characters a link payload/);
    expect(await refuse(urlSafe(deflateRawSync(Buffer.from('{"images": []}'))))).toMatch(
      /not an AttnLens view \(no "format"/,
    );
    expect(await refuse(urlSafe(deflateRawSync(Buffer.from('not json'))))).toMatch(/not readable JSON/);
    // a deflate bomb: 64 MB of zeros in a few tens of kilobytes
    const bomb = urlSafe(deflateRawSync(Buffer.alloc(4 * MAX_INFLATED_BYTES)));
    expect(bomb.length).toBeLessThan(200_000);
    expect(await refuse(bomb)).toMatch(/unpacks to more than 16 MB/);
    const v2 = urlSafe(deflateRawSync(Buffer.from(JSON.stringify({ ...doc, version: '2.0' }))));
    expect(await refuse(v2)).toMatch(/version 2.0; this AttnLens reads 1.x/);
    // schema limits: a finding longer than 2,000 characters, an image that is not base64, a javascript: model URL
    for (const bad of [
      { ...doc, findings: [{ ...doc.findings![0], text: 'x'.repeat(2001) }] },
      { ...doc, images: [{ ...doc.images![0], data: 'not base64!' }] },
      { ...doc, models: [{ id: 'local-x', source: 'url', url: 'javascript:alert(1)' }] },
    ])
      expect(await refuse(urlSafe(deflateRawSync(Buffer.from(JSON.stringify(bad)))))).toMatch(/damaged or was altered/);
  });
  it('reads a newer 1.x with a note', async () => {
    const newer = urlSafe(deflateRawSync(Buffer.from(JSON.stringify({ ...doc, version: '1.7', extra: { a: 1 } }))));
    const r = await decodePayload(newer);
    expect(r).toMatchObject({ ok: true, notes: [expect.stringMatching(/newer AttnLens \(view format 1.7\)/)] });
  });
});

describe('links from older and newer versions', () => {
  it('a link from before shared views (no v) opens as it did', () => {
    const d = decodeView('#m=seg-teacher,seg-student-attnfd&s=factory-test-003.png&o=0.40');
    expect(d.problems).toEqual([]);
    expect(d.payload).toBeNull();
    expect(d.view.opacity).toBe(0.4);
  });
  it('a link from a newer version says what is not restored; the rest opens', () => {
    const d = decodeView('#m=seg-teacher&v=9&s=factory-test-003.png');
    expect(d.problems).toEqual([
      'the link was made by a newer AttnLens (link version 9, this one reads up to 2): what is newer is not restored',
    ]);
    expect(d.view.image).toEqual({ sample: 'factory-test-003.png' });
  });
  it('zoom, mode and the data-set state travel as parameters; bad values are named', () => {
    const d = decodeView(`#m=seg-teacher&z=2,-0.5,-0.25&mode=evaluate&es=name:desc&ef=belt&rh=${'b'.repeat(64)}`);
    expect(d.problems).toEqual([]);
    expect(d.extras).toEqual({
      zoom: { k: 2, x: -0.5, y: -0.25 },
      mode: 'evaluate',
      sort: { key: 'name', descending: true },
      filter: 'belt',
      results: 'b'.repeat(64),
    });
    const bad = decodeView('#m=seg-teacher&z=0.5,3,0&mode=slides&rh=1234');
    expect(bad.extras).toEqual({});
    expect(bad.problems).toHaveLength(3);
    expect(bad.problems[0]).toMatch(/^the link's zoom "0.5,3,0" is not a zoom/);
  });
});

describe('the .attnlens file', () => {
  it('is the document as JSON; other JSON and broken files are named', () => {
    expect(readViewFile(JSON.stringify(doc), 'v.attnlens')).toEqual({ ok: true, doc, notes: [] });
    expect(readViewFile('{"format":"attnlens-results","version":"1.0"}', 'r.attnlens')).toEqual({
      ok: false,
      problem: 'r.attnlens is not an AttnLens view (no "format": "attnlens-view")',
    });
    expect(readViewFile('{"format":"attnlens-view"', 'cut.attnlens')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^cut.attnlens is not an AttnLens view: it is not JSON/),
    });
  });
});
