/**
 * The AttnFD/CBAM view on zoo models: every site of both students drawn at the contract's grid, and each distance
 * to the teacher equal to the one computed here from the models run natively (AttnFD's per-site term written out).
 */
import { describe, expect, it } from 'vitest';
import { serveApp } from './browser';
import { runNative } from './native';

const app = serveApp();
const sample = 'factory-test-000.png';
const sites = [
  ['backbone', 20],
  ['context', 20],
  ['decoder', 40],
] as const;

/** AttnFD's per-site term ‖t/‖t‖ − s/‖s‖‖² over the whole map (C·h·w), and the cosine of t and s. */
function attnfdTerm(t: ArrayLike<number>, s: ArrayLike<number>): { distance: number; cosine: number } {
  expect(t.length).toBe(s.length);
  let tt = 0;
  let ss = 0;
  for (let i = 0; i < t.length; i++) {
    tt += t[i] ** 2;
    ss += s[i] ** 2;
  }
  let distance = 0;
  let cosine = 0;
  for (let i = 0; i < t.length; i++) {
    const a = t[i] / Math.sqrt(tt);
    const b = s[i] / Math.sqrt(ss);
    distance += (a - b) ** 2;
    cosine += a * b;
  }
  return { distance, cosine };
}

/** Width-free summary of a refined map [1, C, h, w] for a student without a connector: mean over channels of x². */
function energy({ data, dims }: { data: Float32Array; dims: number[] }): Float64Array {
  const [, channels, h, w] = dims;
  const out = new Float64Array(h * w);
  for (let c = 0; c < channels; c++) for (let i = 0; i < h * w; i++) out[i] += data[c * h * w + i] ** 2 / channels;
  return out;
}

describe('CBAM view', () => {
  it('shows each site for teacher and students, with the distance the native models give', async () => {
    const teacher = await runNative('seg-teacher', sample);
    const distilled = await runNative('seg-student-attnfd', sample);
    const plain = await runNative('seg-student-plain', sample);
    // Reference per site: the distilled student through its trained connector (attnfd_projected, teacher width)
    // against the teacher's refined map; the plain student (no connector, 32 vs 128/192 channels) by energy maps.
    const reference = Object.fromEntries(
      sites.map(([site]) => {
        const t = teacher.outputs[`cbam.${site}.refined`];
        const projected = distilled.outputs[`attnfd.${site}.projected`];
        expect(projected.dims).toEqual(t.dims);
        expect(plain.outputs[`cbam.${site}.refined`].dims[1]).not.toBe(t.dims[1]);
        const connector = attnfdTerm(t.data, projected.data);
        const energyMap = attnfdTerm(energy(t), energy(plain.outputs[`cbam.${site}.refined`]));
        // The references can tell a wrong answer: the students differ, and the distilled student's energy-map
        // distance (what the page would show if it ignored the connector) differs from its connector distance.
        const distilledEnergy = attnfdTerm(energy(t), energy(distilled.outputs[`cbam.${site}.refined`]));
        expect(Math.abs(connector.distance - energyMap.distance)).toBeGreaterThan(0.01);
        expect(Math.abs(connector.distance - distilledEnergy.distance)).toBeGreaterThan(0.01);
        // ‖a − b‖² = 2 − 2·cos for unit vectors: the two numbers computed apart agree
        expect(connector.distance).toBeCloseTo(2 - 2 * connector.cosine, 6);
        return [site, { 'seg-student-attnfd': connector, 'seg-student-plain': energyMap }];
      }),
    );
    expect(reference.backbone['seg-student-attnfd'].distance).not.toBeCloseTo(
      reference.decoder['seg-student-attnfd'].distance,
      2,
    );

    const page = await app.browser.newPage();
    await page.goto(`${app.url}#m=seg-teacher,seg-student-attnfd,seg-student-plain&s=${sample}&b=wasm`);
    const view = page.getByTestId('attnfd-view');
    await view.waitFor({ timeout: 60_000 });
    for (const [site, grid] of sites) {
      for (const id of ['seg-teacher', 'seg-student-attnfd', 'seg-student-plain']) {
        const card = view.getByTestId(`site-${site}`).getByTestId(`site-card-${id}`);
        await card.waitFor({ timeout: 60_000 });
        const size = await card.getByTestId('spatial').evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
        expect(size).toEqual([grid, grid]);
        expect(await card.getByTestId('channels').locator('rect').count()).toBe(12);
      }
      // the teacher is the reference: no distance on its own card
      expect(
        await view.getByTestId(`site-${site}`).getByTestId('site-card-seg-teacher').getByTestId('distance').count(),
      ).toBe(0);
      for (const [id, label, how] of [
        ['seg-student-attnfd', 'AttnFD distance', 'student through its trained connector'],
        ['seg-student-plain', 'energy-map distance', 'no connector: channel-mean of squares, width-free'],
      ] as const) {
        const el = view.getByTestId(`site-${site}`).getByTestId(`site-card-${id}`).getByTestId('distance');
        await el.waitFor({ timeout: 60_000 });
        const distance = Number(await el.getAttribute('data-distance'));
        const cosine = Number(await el.getAttribute('data-cosine'));
        const want = reference[site][id];
        expect(Math.abs(distance - want.distance), `${site} ${id} distance`).toBeLessThan(1e-3);
        expect(Math.abs(cosine - want.cosine), `${site} ${id} cosine`).toBeLessThan(1e-3);
        expect(await el.innerText()).toBe(`${label} ${distance.toFixed(3)} · cosine ${cosine.toFixed(3)} (${how})`);
      }
    }
    await page.close();
  });
});
