// The one test entry (`npm test`): installs what the suites need, runs them, and ends with one line
// "N passed, N failed" that adds up every suite (pytest for ml/, vitest for src/ and tests/).
//   --only python|lint|node   run one suite
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, setupBrowser, setupNode, setupPython, venvPython } from './setup.mjs';

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : null;
const results = [];

function suite(name, fn) {
  if (only && only !== name) return;
  console.log(`\n=== ${name} ===`);
  try {
    results.push({ name, ...fn() });
  } catch (e) {
    console.error(`[${name}] could not run: ${e.message}`);
    results.push({ name, passed: 0, failed: 1, crashed: true });
  }
}

suite('python', () => {
  setupPython();
  const r = spawnSync(
    venvPython,
    ['-m', 'pytest', 'ml/tests', '-q', '-p', 'no:cacheprovider', '-W', 'ignore::DeprecationWarning'],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  process.stdout.write(r.stdout);
  const count = (word) => Number(r.stdout.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  const passed = count('passed');
  const failed = count('failed') + count('error');
  if (r.status !== 0 && failed === 0) throw new Error(`pytest exited ${r.status}`);
  return { passed, failed };
});

// Formatter + linter: Biome for the TypeScript/JavaScript, ruff for ml/. Each check counts as one test.
suite('lint', () => {
  setupNode();
  setupPython();
  const checks = [
    ['biome', 'npx', ['biome', 'ci', '--error-on-warnings', '.']],
    ['ruff check', join(root, 'ml/.venv/bin/ruff'), ['check', 'ml']],
    ['ruff format', join(root, 'ml/.venv/bin/ruff'), ['format', '--check', 'ml']],
  ];
  let passed = 0;
  let failed = 0;
  for (const [name, cmd, args] of checks) {
    const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
    if (r.status === 0) passed++;
    else {
      failed++;
      console.error(`[lint] ${name} failed: run \`npm run format\` to fix what can be fixed automatically`);
    }
  }
  return { passed, failed };
});

suite('node', () => {
  setupNode();
  setupBrowser();
  const out = join(mkdtempSync(join(tmpdir(), 'attnlens-')), 'vitest.json');
  const r = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`], {
    cwd: root,
    stdio: 'inherit',
  });
  let report;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    throw new Error(`vitest exited ${r.status} without a report`);
  }
  const failedFiles = report.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  return { passed: report.numPassedTests, failed: report.numFailedTests + failedFiles };
});

const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
console.log(
  '\n' +
    results
      .map((r) => `${r.name}: ${r.passed} passed, ${r.failed} failed${r.crashed ? ' (suite crashed)' : ''}`)
      .join('\n'),
);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
