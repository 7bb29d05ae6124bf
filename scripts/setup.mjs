// Installs what the app, the tests or the zoo pipeline need, idempotently:
//   node scripts/setup.mjs            npm packages
//   node scripts/setup.mjs --python   + Debian's PyTorch stack and ml/.venv (PyPI extras)
//   node scripts/setup.mjs --browser  + Debian's chromium for the end-to-end tests
//   node scripts/setup.mjs --gpu      + the Vulkan loader (and the GL libraries an NVIDIA driver needs) for
//                                       `npm run bench -- --gpu` (Dawn, from the npm package webgpu)
// Needs root for apt-get; without it, prints the exact command to run and exits 1.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const venvPython = join(root, 'ml/.venv/bin/python');
const APT_PYTHON = [
  'python3-torch',
  'python3-torchvision',
  'python3-onnx',
  'python3-pil',
  'python3-numpy',
  'python3-scipy',
  'python3-venv',
  'python3-pytest',
];
const APT_BROWSER = ['chromium', 'fonts-dejavu-core'];
// Measured on an H100 machine: the Vulkan loader alone did not reach the NVIDIA driver; with these it did.
const APT_GPU = ['libvulkan1', 'libglvnd0', 'libegl1', 'libgl1', 'libglx0', 'libopengl0', 'libgles2'];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

// dpkg-query's own format syntax, not a JavaScript template.
// biome-ignore lint/suspicious/noTemplateCurlyInString: see above
const DPKG_STATUS = '-f=${Status}';

function missingDebs(pkgs) {
  return pkgs.filter(
    (p) =>
      spawnSync('dpkg-query', ['-W', DPKG_STATUS, p], { encoding: 'utf8' }).stdout?.includes('ok installed') !== true,
  );
}

function aptInstall(pkgs) {
  const missing = missingDebs(pkgs);
  if (!missing.length) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    console.error(`[setup] missing Debian packages: ${missing.join(', ')}\n[setup] run as root: ${cmd}`);
    process.exit(1);
  }
  console.log(`[setup] apt-get install ${missing.join(' ')}`);
  run('bash', [
    '-c',
    `DEBIAN_FRONTEND=noninteractive ${cmd} >/tmp/attnlens-apt.log 2>&1 || (tail -30 /tmp/attnlens-apt.log; exit 1)`,
  ]);
}

export function setupNode() {
  const stamp = join(root, 'node_modules/.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(stamp) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs) return;
  // `npm install` rather than `npm ci`: npm 11 leaves other platforms' optional packages (tailwind's
  // oxide binaries) out of the lock file, which `npm ci` then rejects as out of sync.
  console.log('[setup] npm install');
  run('npm', ['install', '--no-audit', '--no-fund']);
}

export function setupPython() {
  aptInstall(APT_PYTHON);
  const req = readFileSync(join(root, 'ml/requirements.txt'));
  const hash = createHash('sha256').update(req).digest('hex');
  const stamp = join(root, 'ml/.venv/.requirements.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && existsSync(venvPython)) return;
  console.log('[setup] creating ml/.venv (system site packages + ml/requirements.txt)');
  run('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', 'ml/.venv']);
  run(venvPython, ['-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-r', 'ml/requirements.txt']);
  writeFileSync(stamp, hash);
}

export function setupBrowser() {
  aptInstall(APT_BROWSER);
}

export function setupGpu() {
  aptInstall(APT_GPU);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  setupNode();
  if (process.argv.includes('--python')) setupPython();
  if (process.argv.includes('--browser')) setupBrowser();
  if (process.argv.includes('--gpu')) setupGpu();
}
