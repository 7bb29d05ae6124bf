import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  cachedModelBytes,
  clearedMessage,
  fetchMessages,
  fetchModelBytes,
  formatBytes,
  looksLikeHtml,
  looksLikeOnnx,
  type ModelFetchError,
  parseModelUrl,
} from './fetchModel';

const enc = (s: string) => new TextEncoder().encode(s);

describe('parseModelUrl', () => {
  it('takes absolute http(s), data: and blob: URLs; only http(s) are cached', () => {
    expect(parseModelUrl('https://example.com/m.onnx')).toMatchObject({ ok: true, cacheable: true });
    expect(parseModelUrl('  http://127.0.0.1:8000/a/b.onnx ')).toMatchObject({ ok: true, cacheable: true });
    expect(parseModelUrl('data:application/octet-stream;base64,CAE=')).toMatchObject({ ok: true, cacheable: false });
    expect(parseModelUrl('blob:http://localhost/0d2c-11')).toMatchObject({ ok: true, cacheable: false });
  });
  it('refuses text that is not an absolute URL, in words (never resolved against the page)', () => {
    for (const text of ['my model', 'model.onnx', '/models/seg.onnx', '//host/x.onnx', 'ftp://h/x.onnx', 'file:///x'])
      expect(parseModelUrl(text)).toEqual({
        ok: false,
        message: `'${text}' is not a URL: give the full address of an .onnx file, starting with https://`,
      });
  });
});

describe('recognising what arrived', () => {
  it('an HTML page by its type or its first bytes', () => {
    expect(looksLikeHtml(enc('anything'), 'text/html; charset=utf-8')).toBe(true);
    expect(looksLikeHtml(enc('\uFEFF  <!DOCTYPE html><html>'), 'application/octet-stream')).toBe(true);
    expect(looksLikeHtml(enc('<html lang="en">'), null)).toBe(true);
    expect(looksLikeHtml(new Uint8Array([8, 7, 18, 4]), 'application/octet-stream')).toBe(false);
  });
  it('an ONNX model starts with its ir_version field', () => {
    expect(looksLikeOnnx(new Uint8Array([8, 8, 18, 1]).buffer)).toBe(true);
    expect(looksLikeOnnx(enc('<!doctype html>').buffer)).toBe(false);
    expect(looksLikeOnnx(new ArrayBuffer(0))).toBe(false);
  });
  it('sizes and the cache note in words', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(300 * 2 ** 20)).toBe('300.0 MB');
    expect(clearedMessage({ entries: 2, bytes: 3 * 2 ** 20 })).toBe('Cleared the model cache: 2 models, 3.0 MB freed.');
    expect(clearedMessage({ entries: 0, bytes: 0 })).toBe('The model cache was already empty.');
  });
});

/** A fetch stub answering with a body made of `chunks`, each after `gapMs`; `never` stalls after them. */
function stubFetch(chunks: Uint8Array[], init: ResponseInit & { gapMs?: number; never?: boolean; fail?: boolean }) {
  vi.stubGlobal('fetch', (_url: URL, opts: RequestInit) => {
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(c) {
        await new Promise((r) => setTimeout(r, init.gapMs ?? 0));
        if (i < chunks.length) c.enqueue(chunks[i++]);
        else if (init.fail) c.error(new TypeError('network error'));
        else if (!init.never) c.close();
        else
          await new Promise((_, reject) => opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason)));
      },
    });
    return Promise.resolve(new Response(body, init));
  });
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: ModelFetchError) => ({ kind: e.kind, message: e.message }),
  );

describe('fetchModelBytes', () => {
  afterEach(() => vi.unstubAllGlobals());
  const url = 'http://127.0.0.1:1/m.onnx';

  it('returns the bytes with progress against the announced length', async () => {
    stubFetch([new Uint8Array([8, 1]), new Uint8Array([2, 3])], { headers: { 'content-length': '4' } });
    const seen: [number, number | null][] = [];
    const bytes = await fetchModelBytes(url, { onProgress: (p) => seen.push([p.received, p.total]) });
    expect([...new Uint8Array(bytes)]).toEqual([8, 1, 2, 3]);
    expect(seen).toEqual([
      [0, 4],
      [2, 4],
      [4, 4],
    ]);
  });
  it('names a transfer that ends short of its content-length as truncated', async () => {
    stubFetch([new Uint8Array(10)], { headers: { 'content-length': '100' }, fail: true });
    expect(await failure(fetchModelBytes(url))).toEqual({
      kind: 'truncated',
      message: fetchMessages.truncated(url, 10, 100),
    });
  });
  it('a stall after some bytes and a silent server are stopped after the idle time', async () => {
    stubFetch([new Uint8Array(2048)], { headers: { 'content-length': '4096' }, never: true });
    expect(await failure(fetchModelBytes(url, { idleMs: 50 }))).toEqual({
      kind: 'stalled',
      message:
        'the model URL http://127.0.0.1:1/m.onnx stopped sending after 2.0 KB of 4.0 KB (nothing for 0 s); it was stopped. Retry, or download the file and drop it',
    });
    vi.stubGlobal(
      'fetch',
      (_u: URL, o: RequestInit) =>
        new Promise((_, reject) => o.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
    );
    expect(await failure(fetchModelBytes(url, { idleMs: 50 }))).toMatchObject({ kind: 'timeout' });
  });
  it('an HTML answer, an HTTP error and a cancel are each named', async () => {
    stubFetch([enc('<!doctype html><title>x</title>')], { headers: { 'content-type': 'text/html' } });
    expect(await failure(fetchModelBytes(url))).toEqual({
      kind: 'html',
      message:
        'the model URL http://127.0.0.1:1/m.onnx answered a web page (HTML), not an ONNX model; give the address of the .onnx file itself',
    });
    stubFetch([], { status: 404 });
    expect(await failure(fetchModelBytes(url))).toEqual({
      kind: 'http',
      message: 'the model URL http://127.0.0.1:1/m.onnx answered HTTP 404; check the address',
    });
    stubFetch([new Uint8Array(8)], { never: true });
    const cancel = new AbortController();
    const job = failure(fetchModelBytes(url, { signal: cancel.signal, idleMs: 10_000 }));
    setTimeout(() => cancel.abort(), 20);
    expect(await job).toMatchObject({ kind: 'cancelled' });
  });
  it('CORS when a no-cors probe gets an opaque answer, else no answer', async () => {
    const calls: string[] = [];
    vi.stubGlobal('fetch', (_u: URL, o: RequestInit) => {
      calls.push(o.mode ?? 'cors');
      if (o.mode === 'no-cors') return Promise.resolve({ type: 'opaque', body: null });
      return Promise.reject(new TypeError('Failed to fetch'));
    });
    expect(await failure(fetchModelBytes(url))).toEqual({
      kind: 'cors',
      message:
        'the model URL http://127.0.0.1:1/m.onnx cannot be read: the server at http://127.0.0.1:1 does not allow other sites to read it (CORS); serve it with Access-Control-Allow-Origin or download the file and drop it',
    });
    expect(calls).toEqual(['cors', 'no-cors']);
    vi.stubGlobal('fetch', () => Promise.reject(new TypeError('Failed to fetch')));
    expect(await failure(fetchModelBytes(url))).toEqual({
      kind: 'unreachable',
      message:
        'the model URL http://127.0.0.1:1/m.onnx did not answer (Failed to fetch); check the address or your connection',
    });
  });
  it('on a page isolated with COEP require-corp, a blocked probe names COEP and CORP (credentialless: no answer)', async () => {
    const asked: string[] = [];
    const page = (coep: string) => (u: URL | string, o: RequestInit) => {
      asked.push(`${o.method ?? 'GET'} ${o.mode ?? 'cors'} ${String(u)}`);
      if (o.method === 'HEAD')
        return Promise.resolve({ headers: new Headers({ 'Cross-Origin-Embedder-Policy': coep }) });
      return Promise.reject(new TypeError('Failed to fetch'));
    };
    vi.stubGlobal('crossOriginIsolated', true);
    vi.stubGlobal('location', { href: 'https://app.example/tools/#m=x' });
    vi.stubGlobal('fetch', page('require-corp'));
    expect(await failure(fetchModelBytes(url))).toEqual({
      kind: 'coep',
      message: fetchMessages.coep(url, 'http://127.0.0.1:1', 'Failed to fetch'),
    });
    expect(asked).toEqual([`GET cors ${url}`, `GET no-cors ${url}`, 'HEAD cors https://app.example/tools/']);
    expect(fetchMessages.coep(url, 'http://127.0.0.1:1', 'Failed to fetch')).toMatch(
      /COEP require-corp.*Access-Control-Allow-Origin.*Cross-Origin-Resource-Policy: cross-origin.*credentialless/,
    );
    vi.stubGlobal('fetch', page('credentialless'));
    expect(await failure(fetchModelBytes(url))).toMatchObject({ kind: 'unreachable' });
    vi.stubGlobal('crossOriginIsolated', false);
    vi.stubGlobal('fetch', page('require-corp'));
    expect(await failure(fetchModelBytes(url))).toMatchObject({ kind: 'unreachable' });
  });
  it('refuses a non-URL without fetching anything; no cache for data: URLs', async () => {
    const fetchSpy = vi.fn();
    vi.stubGlobal('fetch', fetchSpy);
    expect(await failure(fetchModelBytes('my model'))).toMatchObject({ kind: 'not-url' });
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(await cachedModelBytes('data:application/octet-stream;base64,CAE=')).toBeNull();
  });
});
