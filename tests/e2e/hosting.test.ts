/**
 * `npm run build` works from any static host under any path (docs/hosting.md): one build, served by a plain
 * static server under two different sub-paths (and nothing at `/`, so an absolute URL fails), loads the
 * bundled models and samples, its workers and onnxruntime-web's WebAssembly, and a link's fragment opens its
 * image there. Also on an insecure origin (plain http under a host name, as from another machine on the
 * network): no WebGPU, no crypto.subtle, no Cache Storage, and the WASM backend still draws. A plain host sends
 * no cross-origin isolation headers: one WASM thread, said once. A host that sends them as docs/hosting.md's nginx
 * lines do, with COEP require-corp: isolated, threads run, a model URL with CORS still opens and one without is
 * named with COEP/CORP.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchMessages } from '../../src/inference/fetchModel';
import { launchChromium, root } from './browser';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
};

type Hit = { path: string; status: number };

/**
 * A static server of `dir` under `prefix` (e.g. `/team/tools/attnlens/`) only: anything else is a 404; `headers`
 * go on every answer.
 */
function serveStatic(
  dir: string,
  prefix: string,
  headers: Record<string, string> = {},
): Promise<{ server: Server; base: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const reply = (status: number, body: Buffer | string, type = 'text/plain; charset=utf-8') => {
      hits.push({ path, status });
      res.writeHead(status, { ...headers, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !path.startsWith(prefix)) return reply(404, 'not found');
    try {
      let rel = decodeURIComponent(path.slice(prefix.length));
      if (rel === '' || rel.endsWith('/')) rel += 'index.html';
      const file = normalize(join(dir, rel));
      const type = MIME[extname(file)];
      if (!file.startsWith(dir + sep) || !type || !statSync(file).isFile()) return reply(404, 'not found');
      reply(200, readFileSync(file), type);
    } catch {
      reply(404, 'not found');
    }
  });
  return new Promise((resolve) =>
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      if (!address || typeof address === 'string') throw new Error('static server has no port');
      resolve({ server, base: `http://127.0.0.1:${address.port}${prefix}`, hits });
    }),
  );
}

/** A page that records every request the browser saw fail (network error or status >= 400). */
async function watchedPage(browser: Browser): Promise<{ page: Page; failed: string[] }> {
  const page = await browser.newPage(); // a fresh context: no model cache from another test
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(`${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.url()} (${r.status()})`);
  });
  return { page, failed };
}

/** Waits for a pane to draw; if it does not, says which requests failed (the likely reason). */
async function drawn(page: Page, failed: string[], id: string): Promise<void> {
  try {
    await page.locator(`[data-testid=pane-${id}][data-state=drawn]`).waitFor({ timeout: 60_000 });
  } catch (e) {
    const pane = await page
      .getByTestId(`pane-${id}`)
      .innerText({ timeout: 1000 })
      .catch(() => '(no pane)');
    throw new Error(
      `pane-${id} was not drawn (${(e as Error).message.split('\n')[0]}); failed requests: ${failed.join(', ') || 'none'}; pane: ${pane.slice(0, 300)}`,
    );
  }
}

/** Opened under another name, 127.0.0.1 is a plain-http origin that is not "potentially trustworthy". */
const LAN_NAME = 'attnlens-lan.test';
const LINK = '#m=seg-teacher,seg-student-attnfd&s=factory-test-003.png&b=wasm';

describe('the build served by a static host under a sub-path', () => {
  let outDir = '';
  let browser: Browser;
  const servers: Server[] = [];
  const serve = async (prefix: string, headers: Record<string, string> = {}) => {
    const s = await serveStatic(outDir, prefix, headers);
    servers.push(s.server);
    return s;
  };

  beforeAll(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'attnlens-hosting-'));
    execFileSync('npx', ['vite', 'build', '--logLevel', 'error', '--outDir', outDir, '--emptyOutDir'], {
      cwd: root,
      stdio: 'inherit',
    });
    browser = await launchChromium([`--host-resolver-rules=MAP ${LAN_NAME} 127.0.0.1`]);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    for (const s of servers) await new Promise((r) => s.close(r));
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('loads the bundled models and draws the default view, every request under the sub-path', async () => {
    const { base, hits } = await serve('/team/tools/attnlens/');
    const { page, failed } = await watchedPage(browser);
    await page.goto(base);
    await drawn(page, failed, 'seg-teacher');
    expect(failed).toEqual([]);
    expect(hits.filter((h) => h.status !== 200)).toEqual([]);
    const paths = hits.map((h) => h.path);
    for (const kind of [/\/models\/index\.json$/, /\/models\/seg-teacher\.onnx$/, /\/samples\/index\.json$/])
      expect(paths.some((p) => kind.test(p))).toBe(true);
    for (const kind of [/\/assets\/runtime\.worker-[^/]+\.js$/, /\/assets\/ort-wasm[^/]*\.wasm$/])
      expect(paths.some((p) => kind.test(p))).toBe(true);
    await page.close();
  }, 180_000);

  it("a link's fragment opens its image under the sub-path", async () => {
    const { base, hits } = await serve('/team/tools/attnlens/');
    const { page, failed } = await watchedPage(browser);
    await page.goto(`${base}?wasmThreads=4${LINK}`);
    await drawn(page, failed, 'seg-teacher');
    await drawn(page, failed, 'seg-student-attnfd');
    expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-003\.png · /);
    // no isolation headers: one WASM thread whatever was asked for, said once (not per pane)
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    for (const id of ['seg-teacher', 'seg-student-attnfd'])
      expect(await page.getByTestId(`pane-${id}`).getByTestId('pane-status').innerText()).toMatch(
        /^wasm, 1 thread · \d+ ms · /,
      );
    expect(await page.getByTestId('threads-note').allInnerTexts()).toEqual([
      '1 WASM thread: this host does not send cross-origin isolation headers (docs/hosting.md)',
    ]);
    expect(failed).toEqual([]);
    expect(hits.filter((h) => h.status !== 200)).toEqual([]);
    await page.close();
  }, 180_000);

  it('the same build (no rebuild) works at another, deeper path, opened as …/index.html', async () => {
    const { base, hits } = await serve('/some/deep/path/');
    const { page, failed } = await watchedPage(browser);
    await page.goto(`${base}index.html${LINK}`);
    await drawn(page, failed, 'seg-teacher');
    await drawn(page, failed, 'seg-student-attnfd');
    expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-003\.png · /);
    expect(failed).toEqual([]);
    expect(hits.filter((h) => h.status !== 200)).toEqual([]);
    expect(hits.some((h) => h.path === '/some/deep/path/models/seg-student-attnfd.onnx')).toBe(true);
    await page.close();
  }, 180_000);

  it('on an insecure origin (plain http from another machine) the WASM backend still draws', async () => {
    const { base, hits } = await serve('/team/tools/attnlens/');
    const lanBase = base.replace('127.0.0.1', LAN_NAME);
    const { page, failed } = await watchedPage(browser);
    // No `&b=`: the app's own choice, which must fall back to WASM where there is no WebGPU.
    await page.goto(`${lanBase}#m=seg-teacher,seg-student-attnfd&s=factory-test-003.png`);
    expect(
      await page.evaluate(() => ({
        secure: isSecureContext,
        subtle: typeof crypto.subtle,
        gpu: 'gpu' in navigator,
        caches: 'caches' in self,
      })),
    ).toEqual({ secure: false, subtle: 'undefined', gpu: false, caches: false });
    await drawn(page, failed, 'seg-teacher');
    await drawn(page, failed, 'seg-student-attnfd');
    expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-003\.png · /);
    expect(await page.getByTestId('pane-seg-teacher').getByTestId('pane-status').innerText()).toMatch(
      /^wasm, 1 thread · /,
    );
    expect(await page.getByTestId('threads-note').innerText()).toMatch(
      /^1 WASM thread: this page is not a secure context/,
    );
    expect(failed).toEqual([]);
    expect(hits.filter((h) => h.status !== 200)).toEqual([]);
    await page.close();
  }, 180_000);

  it('a host sending COOP + COEP require-corp: isolated, 2 threads run; model URLs with CORS open, without it COEP is named', async () => {
    const { base } = await serve('/team/tools/attnlens/', {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    });
    // models on another origin: one as a public CORS host sends it, one from a plain server (no CORS, no CORP)
    const model = readFileSync(join(root, 'public/models/seg-student-plain.onnx'));
    const models = createServer((req, res) => {
      const cors = req.url === '/cors.onnx';
      res.writeHead(200, {
        'Content-Type': 'application/octet-stream',
        ...(cors ? { 'Access-Control-Allow-Origin': '*', 'Cross-Origin-Resource-Policy': 'cross-origin' } : {}),
      });
      res.end(model);
    });
    servers.push(models);
    await new Promise<void>((r) => models.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(models.address() as { port: number }).port}`;
    const { page, failed } = await watchedPage(browser);
    await page.goto(`${base}?wasmThreads=2#m=seg-teacher&s=factory-test-003.png&b=wasm`);
    await drawn(page, failed, 'seg-teacher');
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.getByTestId('pane-seg-teacher').getByTestId('pane-status').innerText()).toMatch(
      /^wasm, 2 threads · \d+ ms · mask$/,
    );
    expect(await page.getByTestId('threads-note').count()).toBe(0);
    const open = async (url: string) => {
      await page.getByTestId('model-url').fill(url);
      await page.getByTestId('model-url').press('Enter');
    };
    await open(`${origin}/cors.onnx`);
    await drawn(page, failed, 'local-cors');
    await open(`${origin}/plain.onnx`);
    const pane = page.getByTestId('pane-local-plain');
    await expect
      .poll(() => pane.getByRole('alert').allInnerTexts(), { timeout: 20_000 })
      .toEqual([fetchMessages.coep(`${origin}/plain.onnx`, origin, 'Failed to fetch')]);
    await page.close();
  }, 180_000);
});
