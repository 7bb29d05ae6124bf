/** End-to-end plumbing: build the app, serve with `vite preview`, drive Debian's chromium with playwright-core. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll } from 'vitest';

export const root = join(__dirname, '../..');
export const CHROMIUM = '/usr/bin/chromium';

/** A file of tests/fixtures/corpus as playwright's setInputFiles takes it. */
export const corpusFile = (name: string) => ({
  name,
  mimeType: 'application/octet-stream',
  buffer: readFileSync(join(root, 'tests/fixtures/corpus', name)),
});

/** Builds into a fresh temporary folder (so concurrent test runs never overwrite each other's build). */
export async function startApp(): Promise<{ server: PreviewServer; url: string; outDir: string }> {
  const outDir = mkdtempSync(join(tmpdir(), 'attnlens-e2e-'));
  execFileSync('npx', ['vite', 'build', '--logLevel', 'error', '--outDir', outDir, '--emptyOutDir'], {
    cwd: root,
    stdio: 'inherit',
  });
  const server = await preview({
    root,
    build: { outDir },
    preview: { port: 0, host: '127.0.0.1', strictPort: false },
    logLevel: 'error',
  });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('preview server has no port');
  return { server, url: `http://127.0.0.1:${address.port}/`, outDir };
}

/** Debian's chromium; `extraArgs` go after the usual flags (e.g. a --host-resolver-rules). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: run 'node scripts/setup.mjs --browser' (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--enable-unsafe-webgpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...extraArgs,
    ],
  });
}

/** Register a built app and a browser for this test file; the returned object is filled in beforeAll. */
export function serveApp(): { url: string; browser: Browser; outDir: string } {
  const ctx = { url: '', browser: undefined as unknown as Browser, outDir: '' };
  let server: PreviewServer | undefined;
  let outDir: string | undefined;
  beforeAll(async () => {
    const app = await startApp();
    server = app.server;
    outDir = app.outDir;
    ctx.outDir = app.outDir;
    ctx.url = app.url;
    ctx.browser = await launchChromium();
  });
  afterAll(async () => {
    await ctx.browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });
  return ctx;
}
