/**
 * Model URLs that misbehave, served by a local test server on 127.0.0.1 (another origin than the app): each
 * gets its pane at once (state 'fetching', progress), then the exact worded message with Retry and Remove;
 * nothing but a model that opened is kept in Cache Storage; the model and image already open stay drawn.
 * The page runs with `?fetchTimeout=2` (the idle timeout, 20 s by default), cross-origin isolated as the app's
 * servers send it (COEP credentialless): model URLs from other origins must load as without isolation.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMessages, formatBytes } from '../../src/inference/fetchModel';
import { root, serveApp } from './browser';

const app = serveApp();
const model = readFileSync(join(root, 'public/models/seg-student-attnfd.onnx'));
const tiny = readFileSync(join(root, 'tests/fixtures/tiny-detector-fp16.onnx'));
const HALF = 100_000;
const STALL_AFTER = 200_000;
const BASE = 'seg-student-plain';

let server: Server;
let origin = '';
let page: Page;
const errors: string[] = [];

/** What a public CORS host (GitHub's raw files, jsDelivr, unpkg) sends: readable by any site, embeddable anywhere. */
const cors = { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' };
const octets = { 'content-type': 'application/octet-stream' };

/** The test server's routes: each a way a model URL goes wrong (or right). */
function route(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/silent.onnx') return; // never answers: no status, no byte
  if (path === '/trickle.onnx') {
    // the whole model, 32 KB every 150 ms (about 2 s for 400 KB)
    res.writeHead(200, { ...cors, ...octets, 'content-length': model.length });
    let at = 0;
    const tick = setInterval(() => {
      res.write(model.subarray(at, at + 32_768));
      at += 32_768;
      if (at >= model.length) {
        clearInterval(tick);
        res.end();
      }
    }, 150);
    res.on('close', () => clearInterval(tick));
    return;
  }
  if (path === '/stall-after.onnx') {
    res.writeHead(200, { ...cors, ...octets, 'content-length': model.length });
    res.write(model.subarray(0, STALL_AFTER)); // then nothing, the connection open
    return;
  }
  if (path === '/truncated.onnx') {
    res.writeHead(200, { ...cors, ...octets, 'content-length': model.length });
    res.write(model.subarray(0, HALF), () => setTimeout(() => res.socket?.destroy(), 200));
    return;
  }
  if (path === '/page.onnx') {
    res.writeHead(200, { ...cors, 'content-type': 'text/html' });
    res.end('<!doctype html><html><body>Sign in to download</body></html>');
    return;
  }
  if (path === '/nocors.onnx') {
    // a plain server: neither Access-Control-Allow-Origin nor Cross-Origin-Resource-Policy
    res.writeHead(200, { ...octets, 'content-length': model.length });
    res.end(model);
    return;
  }
  if (path === '/good.onnx') {
    res.writeHead(200, { ...cors, ...octets, 'content-length': model.length });
    res.end(model);
    return;
  }
  res.writeHead(404, { ...cors, 'content-type': 'text/plain' });
  res.end('not found');
}

beforeAll(async () => {
  server = createServer(route);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  page = await app.browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}?fetchTimeout=2#m=${BASE}&s=factory-test-000.png&b=wasm`);
  await page.locator(`[data-testid=pane-${BASE}][data-state=drawn]`).waitFor({ timeout: 60_000 });
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
});

afterAll(async () => {
  await page?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const paneOf = (id: string) => page.getByTestId(`pane-${id}`);

/** Type a URL into the model-URL box and submit it. */
async function open(url: string): Promise<void> {
  await page.getByTestId('model-url').fill(url);
  await page.getByTestId('model-url').press('Enter');
}

/** Model URLs kept in the app's Cache Storage. */
const cached = () =>
  page.evaluate(async () => {
    const out: string[] = [];
    for (const name of await caches.keys()) for (const req of await (await caches.open(name)).keys()) out.push(req.url);
    return out;
  });

/** What the user had stays: the base model drawn on the same image, and no page error. */
async function viewKept(): Promise<void> {
  expect(await paneOf(BASE).getAttribute('data-state')).toBe('drawn');
  expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-000\.png/);
  expect(errors).toEqual([]);
}

/** The pane appears fetching within a second; then its alert reads `message`, with Retry and Remove. */
async function fails(id: string, url: string, message: string): Promise<void> {
  await open(url);
  const pane = paneOf(id);
  await pane.waitFor({ timeout: 1000 });
  await expect.poll(() => pane.getByRole('alert').allInnerTexts(), { timeout: 20_000 }).toEqual([message]);
  expect(await pane.getAttribute('data-state')).toBe('error');
  expect(await pane.getByTestId('retry').count()).toBe(1);
  expect(await pane.getByTestId('remove').count()).toBe(1);
  expect((await cached()).filter((u) => u === url)).toEqual([]);
  await viewKept();
}

describe('model URLs that misbehave', () => {
  it('a server that never answers: fetching at once, stopped after the idle time, Retry fetches again', async () => {
    const url = `${origin}/silent.onnx`;
    await open(url);
    const pane = paneOf('local-silent');
    await pane.waitFor({ timeout: 1000 });
    expect(await pane.getAttribute('data-state')).toBe('fetching');
    expect(await pane.getByTestId('fetch-progress').innerText()).toBe('fetching 0 bytes');
    expect(await pane.getByTestId('cancel').count()).toBe(1);
    await expect
      .poll(() => pane.getByRole('alert').allInnerTexts(), { timeout: 10_000 })
      .toEqual([fetchMessages.timeout(url, 2000)]);
    expect(fetchMessages.timeout(url, 2000)).toBe(
      `the model URL ${url} sent nothing for 2 s; it was stopped. Retry, or check the address and that the server is up`,
    );
    await pane.getByTestId('retry').click();
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 1000 }).toBe('fetching');
    // Cancel while it waits: said so, with Retry and Remove; Remove takes the pane away.
    await pane.getByTestId('cancel').click();
    expect(await pane.getByRole('alert').allInnerTexts()).toEqual([`the download of ${url} was cancelled`]);
    await pane.getByTestId('remove').click();
    await expect.poll(() => paneOf('local-silent').count()).toBe(0);
    await viewKept();
  });

  it('a slow server: progress in the pane as the bytes come, then the model opens and is cached', async () => {
    await open(`${origin}/trickle.onnx`);
    const pane = paneOf('local-trickle');
    await pane.waitFor({ timeout: 1000 });
    await expect
      .poll(() => pane.getByTestId('fetch-progress').innerText(), { timeout: 2000 })
      .toMatch(new RegExp(`^fetching [\\d.]+ KB of ${formatBytes(model.length)} \\(\\d+ %\\)$`));
    await expect.poll(() => pane.getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    expect(await cached()).toContain(`${origin}/trickle.onnx`);
    await viewKept();
  });

  it('a stall after some bytes', async () => {
    const url = `${origin}/stall-after.onnx`;
    await fails('local-stall-after', url, fetchMessages.stalled(url, STALL_AFTER, model.length, 2000));
    expect(fetchMessages.stalled(url, STALL_AFTER, model.length, 2000)).toBe(
      `the model URL ${url} stopped sending after 195.3 KB of ${formatBytes(model.length)} (nothing for 2 s); it was stopped. Retry, or download the file and drop it`,
    );
  });

  it('a truncated transfer (content-length larger than what arrived)', async () => {
    const url = `${origin}/truncated.onnx`;
    await fails('local-truncated', url, fetchMessages.truncated(url, HALF, model.length));
    expect(fetchMessages.truncated(url, HALF, model.length)).toBe(
      `the model URL ${url} was cut off: 97.7 KB arrived of the ${formatBytes(model.length)} it announced (a truncated transfer). Retry, or download the file and drop it`,
    );
  });

  it('an HTML page is named as such and never cached', async () => {
    const url = `${origin}/page.onnx`;
    await fails(
      'local-page',
      url,
      `the model URL ${url} answered a web page (HTML), not an ONNX model; give the address of the .onnx file itself`,
    );
  });

  it('a server that refuses CORS is named as CORS, not as no answer', async () => {
    const url = `${origin}/nocors.onnx`;
    await fails(
      'local-nocors',
      url,
      `the model URL ${url} cannot be read: the server at ${origin} does not allow other sites to read it (CORS); serve it with Access-Control-Allow-Origin or download the file and drop it`,
    );
  });

  it('a 404', async () => {
    const url = `${origin}/missing.onnx`;
    await fails('local-missing', url, `the model URL ${url} answered HTTP 404; check the address`);
  });

  it('text that is not a URL is refused in words and fetched from nowhere', async () => {
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await open('my model');
    await expect
      .poll(async () => (await page.getByRole('alert').allInnerTexts()).join('\n'))
      .toContain("'my model' is not a URL: give the full address of an .onnx file, starting with https://");
    expect(requests.filter((u) => /my%20model|my model/.test(u))).toEqual([]);
    expect(await page.getByTestId('pane-local-my-model').count()).toBe(0);
    await viewKept();
  });

  it('data: and blob: URLs open (and are not cached)', async () => {
    await open(`data:application/octet-stream;base64,${tiny.toString('base64')}`);
    await expect.poll(() => paneOf('local-url-model').getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    const blobUrl = await page.evaluate(
      (b64) => URL.createObjectURL(new Blob([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))])),
      tiny.toString('base64'),
    );
    await open(blobUrl);
    await expect.poll(() => paneOf('local-url-model').getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    expect((await cached()).filter((u) => u.startsWith('data:') || u.startsWith('blob:'))).toEqual([]);
    await viewKept();
  });

  it('a good model with CORS opens and is cached; clearing the cache says what it freed', async () => {
    await open(`${origin}/good.onnx`);
    await expect.poll(() => paneOf('local-good').getAttribute('data-state'), { timeout: 60_000 }).toBe('drawn');
    const urls = await cached();
    expect(urls).toContain(`${origin}/good.onnx`);
    await page.getByTestId('clear-cache').click();
    await expect
      .poll(() => page.getByTestId('cache-note').innerText())
      .toMatch(new RegExp(`^Cleared the model cache: ${urls.length} models, [\\d.]+ MB freed\\.$`));
    expect(await cached()).toEqual([]);
    await viewKept();
  });
});
