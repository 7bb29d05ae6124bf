/**
 * Hostile links, each opened fresh and pasted into an open tab: the link notice names every value that does not
 * exist or was dropped (exact words), the rest of the link is honoured (its panes draw), and the tab stays
 * responsive throughout.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { serveApp } from './browser';

const app = serveApp();

/** Round trips to the page, each under 2 s: the main thread is not stuck in a loop. */
async function responsive(page: Page): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const t0 = Date.now();
    await page.evaluate(() => 1);
    expect(Date.now() - t0).toBeLessThan(2000);
  }
}

const notes = (page: Page) => page.getByTestId('link-note').allInnerTexts();

interface Case {
  name: string;
  hash: string;
  notes: string[];
  /** Panes that must draw (the valid parts of the link). */
  drawn: string[];
  /** More checks on the honoured parts. */
  check?: (page: Page) => Promise<void>;
}

const nope = Array.from({ length: 3000 }, (_, i) => `nope-${i}`);
const pad = 'x'.repeat(100_000);
const bigHash = `#m=seg-student-plain&s=factory-test-003.png&b=wasm&pad=${pad}`;
const kept = bigHash.lastIndexOf('&', 32_768 + 1) - 1; // characters read, after the '#'

const cases: Case[] = [
  {
    name: '3,000 unknown model ids',
    hash: `#m=seg-student-plain,seg-student-attnfd,${nope.join(',')}&s=factory-test-001.png&b=wasm`,
    notes: [
      'the link names 3,002 models and a view shows at most 8: kept the first 8 (seg-student-plain, seg-student-attnfd, nope-0, nope-1, nope-2, nope-3, nope-4, nope-5), dropped the other 2,994',
      'the link names 6 models the zoo does not have ("nope-0", "nope-1", "nope-2", "nope-3", "nope-4", "nope-5"): left out',
    ],
    drawn: ['seg-student-plain', 'seg-student-attnfd'],
    check: async (page) => {
      expect(await page.locator('figure[data-testid^=pane-]').count()).toBe(2);
      await expect
        .poll(() => page.evaluate(() => location.hash))
        .toMatch(/^#m=seg-student-plain%2Cseg-student-attnfd&/);
    },
  },
  {
    name: 'ViT layer 99',
    hash: '#m=vit-attn&s=factory-test-002.png&l=99&b=wasm',
    notes: ['the link names layer 99 but vit-attn has 5 layers (0–4): showing layer 4'],
    drawn: [],
    check: async (page) => {
      await expect.poll(() => page.getByTestId('vit-layer').inputValue(), { timeout: 60_000 }).toBe('4');
    },
  },
  {
    name: 'query 999',
    hash: '#m=detr-teacher&s=factory-test-001.png&q=detr-teacher:o2o:999&b=wasm',
    notes: [
      "the link selects query 999 of detr-teacher's one-to-one block, which has 40 queries (0–39): no query is selected",
    ],
    drawn: ['detr-teacher'],
  },
  {
    name: 'an unknown gallery sample',
    hash: '#m=seg-student-plain&s=nope.png&b=wasm',
    notes: [
      'the link names the gallery image "nope.png", which the gallery does not have: showing factory-test-000.png instead',
    ],
    drawn: ['seg-student-plain'],
    check: async (page) => {
      expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-000\.png/);
    },
  },
  {
    name: 'an own image not open here',
    hash: '#m=seg-student-plain&img=00000000deadbeef&in=gone.jpg&b=wasm',
    notes: [
      'the link shows your own image "gone.jpg" (id 00000000deadbeef), which is not open in this tab: images never leave the browser that opened them. Drop the same file here and the view opens on it',
    ],
    drawn: [],
    check: async (page) => {
      await page.getByTestId('no-image').waitFor();
    },
  },
  {
    name: 'garbage keys and values',
    hash: '#m=seg-student-plain&s=factory-test-004.png&t=abc&zz=1&foo=%00&vm=banana&k=99&o=0.30&b=wasm',
    notes: [
      `the link's threshold "abc" is not a number between 0 and 1`,
      `the link's ViT map "banana" is not cls or rollout`,
      `the link's K "99" is not a whole number from 1 to 6`,
      'the link has 2 parameters this app does not read ("zz", "foo"): ignored',
    ],
    drawn: ['seg-student-plain'],
    check: async (page) => {
      expect(await page.getByTestId('opacity').inputValue()).toBe('0.3');
      expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-004\.png/);
    },
  },
  {
    name: 'a 100 KB fragment',
    hash: bigHash,
    notes: [
      `the link is ${(bigHash.length - 1).toLocaleString('en-US')} characters long and a view link is at most 32,768: only its first ${kept.toLocaleString('en-US')} characters were read; 1 parameter after that was dropped`,
    ],
    drawn: ['seg-student-plain'],
    check: async (page) => {
      expect(await page.getByTestId('current-image').innerText()).toMatch(/^factory-test-003\.png/);
    },
  },
];

async function expectOutcome(page: Page, c: Case): Promise<void> {
  await expect.poll(() => notes(page), { timeout: 60_000 }).toEqual(c.notes);
  await responsive(page);
  for (const id of c.drawn)
    await expect
      .poll(() => page.getByTestId(`pane-${id}`).getAttribute('data-state'), { timeout: 60_000 })
      .toBe('drawn');
  await c.check?.(page);
  expect(await page.getByTestId('view-error').count()).toBe(0);
  await responsive(page);
}

describe('hostile links', () => {
  for (const c of cases) {
    it(`${c.name}: opened fresh`, async () => {
      const page = await app.browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${app.url}${c.hash}`);
      await expectOutcome(page, c);
      expect(errors).toEqual([]);
      await page.close();
    });

    it(`${c.name}: pasted into an open tab`, async () => {
      const page = await app.browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${app.url}#m=seg-student-plain&s=factory-test-005.png&b=wasm`);
      await page.locator('[data-testid=pane-seg-student-plain][data-state=drawn]').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('link-notice').count()).toBe(0);
      await page.evaluate((h) => {
        location.hash = h;
      }, c.hash);
      await expectOutcome(page, c);
      expect(errors).toEqual([]);
      await page.close();
    });
  }

  it('the notice goes away when the named value is changed, and closes on request', async () => {
    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=vit-attn&s=factory-test-002.png&l=99&zz=1&b=wasm`);
    await expect.poll(() => notes(page), { timeout: 60_000 }).toHaveLength(2);
    await page.getByTestId('vit-layer').selectOption('2');
    await expect.poll(() => notes(page)).toEqual(['the link has a parameter this app does not read ("zz"): ignored']);
    await page.getByRole('button', { name: 'dismiss the link notice' }).click();
    expect(await page.getByTestId('link-notice').count()).toBe(0);
    await page.close();
  });
});
