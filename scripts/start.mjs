// `npm start`: install npm packages if needed, then serve the app on the bundled zoo (vite's dev server).
//   PORT=5174 npm start      another port (default 5173); a port already taken fails at once, saying so
//   HOST=0.0.0.0 npm start   serve on the local network too (default 127.0.0.1: this machine only); see
//                            docs/hosting.md for what a plain-http page on another machine can and cannot do
// Exits with vite's exit code, so a vite that fails fails `npm start`.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { constants, networkInterfaces } from 'node:os';
import { root, setupNode } from './setup.mjs';

const port = process.env.PORT || '5173';
const host = process.env.HOST || '127.0.0.1';

function fail(message) {
  console.error(`[start] ${message}`);
  process.exit(1);
}

if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)
  fail(`PORT=${port} is not a port number (1-65535): try PORT=5174 npm start`);

/** Why the port cannot be listened on (null when it can), found by listening on it for a moment. */
const portProblem = () =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (e) => resolve(e));
    probe.listen({ port: Number(port), host }, () => probe.close(() => resolve(null)));
  });

const problem = await portProblem();
if (problem?.code === 'EADDRINUSE')
  fail(
    `port ${port} on ${host} is already in use (another \`npm start\` or vite?): stop that process, or use another port: PORT=${Number(port) === 65535 ? 5174 : Number(port) + 1} npm start`,
  );
if (problem?.code === 'EADDRNOTAVAIL' || problem?.code === 'ENOTFOUND' || problem?.code === 'EAI_AGAIN')
  fail(
    `HOST=${host} is not an address of this machine: use HOST=127.0.0.1 (default) or HOST=0.0.0.0 (every interface)`,
  );
if (problem) fail(`cannot listen on ${host}:${port} (${problem.code ?? problem.message}): try PORT=5174 npm start`);

setupNode();

const url = (h) => `http://${h.includes(':') ? `[${h}]` : h}:${port}/`;
if (host === '127.0.0.1' || host === 'localhost') console.log(`[start] AttnLens on ${url('localhost')}`);
else if (host === '0.0.0.0' || host === '::') {
  // 0.0.0.0 listens on every IPv4 interface; :: on every interface, IPv6 and (dual stack) IPv4.
  const lan = Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && !a.internal && (a.family === 'IPv4' || (host === '::' && !a.address.startsWith('fe80:'))))
    .map((a) => url(a.address));
  console.log(`[start] AttnLens on ${url('localhost')} and on the local network at ${lan.join(' ') || '(no network)'}`);
  console.log(
    '[start] other machines get plain http: WASM (no WebGPU) and no model cache there; https or a flag lifts that, see docs/hosting.md',
  );
} else console.log(`[start] AttnLens on ${url(host)}`);

const vite = spawnSync('npx', ['vite', '--port', port, '--strictPort', '--host', host], {
  cwd: root,
  stdio: 'inherit',
});
if (vite.error) fail(`could not run vite: ${vite.error.message}`);
process.exit(vite.status ?? 128 + (constants.signals[vite.signal] ?? 0));
