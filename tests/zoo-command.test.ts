/** `npm run zoo` (README: rebuild the zoo) must find the pipeline module from the repository root. */
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..');

describe('npm run zoo', () => {
  it.skipIf(!existsSync(join(root, 'ml/.venv/bin/python')))(
    'starts the pipeline (its --help) from the repository root',
    () => {
      const script: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.zoo;
      // The part after the setup step (setup itself is what `npm test` has just run).
      const pipeline = script.replace(/^node scripts\/setup\.mjs --python && /, '');
      expect(pipeline).not.toBe(script);
      const out = execSync(`${pipeline} --help`, { cwd: root, encoding: 'utf8', shell: '/bin/sh' });
      expect(out).toContain('--export-only');
    },
  );
});
