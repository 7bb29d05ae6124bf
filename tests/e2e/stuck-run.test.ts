/**
 * A model whose run never ends (tests/fixtures/corpus/seg-stuck.onnx, ml/scripts/make_stuck_model.py) next to a
 * zoo model, with `?runTimeout=4`: the zoo pane draws while the stuck one runs (each model has its own
 * worker); the stuck pane shows the run's seconds and Cancel, and after the timeout says it was stopped, with
 * Retry; the next image still analyses with the zoo model; Retry starts a fresh worker and runs again; Cancel
 * stops that run at once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, serveApp } from './browser';

const app = serveApp();
const ZOO = 'seg-student-plain';
const STUCK = 'local-seg-stuck';

describe('a model that never finishes a run', () => {
  it('is stopped after the run timeout and named; the other model and later images keep working', async () => {
    const page = await app.browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.url}?runTimeout=4#m=${ZOO}&s=factory-test-000.png&b=wasm`);
    const zoo = page.getByTestId(`pane-${ZOO}`);
    await page.locator(`[data-testid=pane-${ZOO}][data-state=drawn]`).waitFor({ timeout: 60_000 });
    await page.getByTestId('file-input').setInputFiles({
      name: 'seg-stuck.onnx',
      mimeType: 'application/octet-stream',
      buffer: readFileSync(join(root, 'tests/fixtures/corpus/seg-stuck.onnx')),
    });
    const stuck = page.getByTestId(`pane-${STUCK}`);
    const progress = stuck.getByTestId('run-progress');
    await progress.waitFor({ timeout: 30_000 });
    expect(await progress.innerText()).toMatch(/^running on factory-test-000\.png… \d s$/);
    expect(await stuck.getByTestId('cancel').count()).toBe(1);

    // While it spins, the next image is analysed by the zoo model (its own worker, not queued behind).
    const t0 = Date.now();
    await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
    await page.keyboard.press('ArrowRight');
    const next = await page.getByTestId('current-image').getAttribute('data-image');
    await expect.poll(() => zoo.getAttribute('data-image'), { timeout: 3000 }).toBe(next);
    expect(await zoo.getAttribute('data-state')).toBe('drawn');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await progress.count()).toBe(1); // still running on the first image

    const stopped =
      'local-seg-stuck did not finish a run on factory-test-000.png within 4 s; it was stopped. Retry, or use a smaller image / the WASM backend';
    await expect.poll(() => stuck.getByRole('alert').allInnerTexts(), { timeout: 10_000 }).toEqual([stopped]);
    expect(await stuck.getAttribute('data-state')).toBe('error');
    expect(await stuck.getByTestId('retry').count()).toBe(1);
    expect(await page.getByRole('alert').allInnerTexts()).toEqual([stopped]); // no other notice

    // Another image: the zoo model draws it; the stopped model waits for Retry.
    await page.keyboard.press('ArrowRight');
    const third = await page.getByTestId('current-image').getAttribute('data-image');
    await expect.poll(() => zoo.getAttribute('data-image'), { timeout: 10_000 }).toBe(third);
    expect(await zoo.getAttribute('data-state')).toBe('drawn');
    const name = (await page.getByTestId('current-image').innerText()).split(' · ')[0];

    // Retry: a fresh worker, the model loaded from its kept bytes, running on the current image; Cancel stops it.
    await stuck.getByTestId('retry').click();
    await progress.waitFor({ timeout: 30_000 });
    expect(await progress.innerText()).toMatch(new RegExp(`^running on ${name.replace('.', '\\.')}… \\d s$`));
    await stuck.getByTestId('cancel').click();
    await expect
      .poll(() => stuck.getByRole('alert').allInnerTexts(), { timeout: 2000 })
      .toEqual([`local-seg-stuck: the run on ${name} was cancelled and the model stopped. Retry to load it again`]);
    expect(await progress.count()).toBe(0);

    // The zoo model still runs: back to the first image (its run is cached) and on to a new one.
    await page.keyboard.press('ArrowRight');
    const fourth = await page.getByTestId('current-image').getAttribute('data-image');
    await expect.poll(() => zoo.getAttribute('data-image'), { timeout: 10_000 }).toBe(fourth);
    expect(await page.evaluate(() => 1)).toBe(1);
    expect(errors).toEqual([]);
    await page.close();
  });
});
