/**
 * `npm start` (scripts/start.mjs): a port that is taken fails at once with one line saying what to do, vite's
 * own exit code is `npm start`'s, and the dev server it starts serves the app (at `/`, whatever the build's
 * relative base).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(__dirname, '..');
const START = join(root, 'scripts/start.mjs');

type Exit = { code: number | null; stdout: string; stderr: string };
const start = (env: Record<string, string>, timeout = 60_000) =>
  new Promise<Exit>((resolve) => {
    execFile(
      process.execPath,
      [START],
      { cwd: root, env: { ...process.env, ...env }, timeout, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number | undefined) ?? null) : 0, stdout, stderr }),
    );
  });

/** A port held by a node:net server of this test, on 127.0.0.1 (start.mjs's default host). */
const occupy = () =>
  new Promise<{ server: Server; port: number }>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      if (!address || typeof address === 'string') throw new Error('no port');
      resolve({ server, port: address.port });
    });
  });

const freePort = async () => {
  const { server, port } = await occupy();
  await new Promise((r) => server.close(r));
  return port;
};

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe('npm start (scripts/start.mjs)', () => {
  it('fails at once, naming the port and what to do, when the port is taken', async () => {
    const { server, port } = await occupy();
    try {
      const r = await start({ PORT: String(port) });
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBeNull(); // it exited by itself, not by the timeout
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(lines[0]).toContain(`PORT=${port + 1} npm start`);
      expect(lines[0]).toContain('stop that process');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses a PORT that is not a port number', async () => {
    const r = await start({ PORT: 'http' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^\[start\] PORT=http is not a port number/);
  });

  it("exits with vite's exit code", async () => {
    // An `npx` first on PATH that fails the way a failing vite would.
    const bin = mkdtempSync(join(tmpdir(), 'attnlens-start-'));
    temps.push(bin);
    writeFileSync(join(bin, 'npx'), '#!/bin/sh\necho "fake vite: $*" >&2\nexit 7\n');
    chmodSync(join(bin, 'npx'), 0o755);
    const port = await freePort();
    const r = await start({ PORT: String(port), PATH: `${bin}:${process.env.PATH}` });
    expect(r.stderr).toContain(`fake vite: vite --port ${port} --strictPort --host 127.0.0.1`);
    expect(r.code).toBe(7);
  });

  describe('the dev server it starts', () => {
    let child: ChildProcess | undefined;
    afterAll(() => {
      // start.mjs, npx and vite: the process group this test started (detached) and only that.
      if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
    });

    it('serves the app, its models and samples at / on the port asked for', async () => {
      const port = await freePort();
      child = spawn(process.execPath, [START], {
        cwd: root,
        env: { ...process.env, PORT: String(port) },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout?.on('data', (d) => (out += d));
      child.stderr?.on('data', (d) => (out += d));
      const base = `http://127.0.0.1:${port}/`;
      await expect
        .poll(async () => (await fetch(base).catch(() => null))?.status, { timeout: 90_000, interval: 500 })
        .toBe(200);
      expect(out).toContain(`[start] AttnLens on http://localhost:${port}/`);
      expect(await (await fetch(base)).text()).toContain('/src/main.tsx');
      const zoo = await fetch(`${base}models/index.json`);
      expect(zoo.status).toBe(200);
      expect(((await zoo.json()) as { models: unknown[] }).models.length).toBeGreaterThan(0);
      expect((await fetch(`${base}samples/index.json`)).status).toBe(200);
    });
  });
});
