/**
 * Properties of computeCbam over random valid contracts and runs (0–3 models, 0–3 CBAM sites each, any
 * teacher/student mix, missing runs and outputs), checked against a naive re-derivation written here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import { type Contract, type ContractOutput, validateContract } from '../../contract';
import { plainInput, testContract } from '../../contract/testContracts';
import type { Run } from '../../state/runs';
import type { ModelInView } from '../types';
import { type CbamModel, computeCbam, type SiteCard } from './compute';

const RUNS = { numRuns: 100, seed: 1729 };
const STRIDE = 8;
const SITES = ['layer1', 'layer2', 'layer3'];

interface SiteSpec {
  name: string;
  channels: number;
  refined: boolean;
  /** Channels of the AttnFD connector output, or null when the site has none. */
  projected: number | null;
}
interface ModelSpec {
  role: 'teacher' | 'student';
  grid: [number, number];
  resize: 'stretch' | 'letterbox';
  sites: SiteSpec[];
  ran: boolean;
}

/** Mostly true: distances need sites, runs and refined maps to meet. */
const often = fc.integer({ min: 0, max: 4 }).map((v) => v > 0);
const mostly = <T>(usual: T, other: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(usual), weight: 3 }, { arbitrary: other, weight: 1 });

/** World-wide grid and widths per site, which models mostly share, so that maps are comparable. */
const siteArb = (name: string, channels: number) =>
  fc.record({
    name: fc.constant(name),
    channels: mostly(channels, fc.integer({ min: 1, max: 5 })),
    refined: often,
    projected: fc.option(mostly(channels, fc.integer({ min: 1, max: 5 })), { nil: null, freq: 3 }),
  });

const modelArb = (grid: [number, number], channels: number[]): fc.Arbitrary<ModelSpec> =>
  fc.record({
    role: fc.constantFrom('teacher', 'student'),
    grid: mostly(grid, fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))),
    resize: fc.constantFrom('stretch', 'letterbox'),
    // Any subset in any order: the union of site names must follow first appearance.
    sites: fc
      .oneof(
        { arbitrary: fc.constant([]), weight: 1 },
        { arbitrary: fc.shuffledSubarray(SITES, { minLength: 1 }), weight: 4 },
      )
      .chain((names) => fc.tuple(...names.map((n) => siteArb(n, channels[SITES.indexOf(n)])))),
    ran: often,
  });

function outputsOf(m: ModelSpec): ContractOutput[] {
  const [h, w] = m.grid;
  const map = { stride: STRIDE, upsample: 'bilinear' as const };
  const outs: ContractOutput[] = [{ name: 'logits', role: 'class_logits', shape: [1, 1], labels: [0] }];
  for (const s of m.sites) {
    outs.push({ name: `${s.name}.channel`, role: 'cbam_channel_gate', shape: [1, s.channels], site: s.name });
    outs.push({ name: `${s.name}.spatial`, role: 'cbam_spatial_gate', shape: [1, 1, h, w], site: s.name, ...map });
    if (s.refined)
      outs.push({
        name: `${s.name}.refined`,
        role: 'cbam_refined',
        shape: [1, s.channels, h, w],
        site: s.name,
        ...map,
      });
    if (s.projected !== null)
      outs.push({
        name: `${s.name}.projected`,
        role: 'attnfd_projected',
        shape: [1, s.projected, h, w],
        site: s.name,
        teacher: 'm0',
        ...map,
      });
  }
  return outs;
}

function contractOf(id: string, m: ModelSpec): Contract {
  return testContract({
    model: { id, name: id, task: 'classification', role: m.role, family: 'cbam' },
    input: plainInput(m.grid[0] * STRIDE, m.grid[1] * STRIDE, m.resize),
    classes: [{ id: 0, name: 'thing', color: '#ff0000' }],
    outputs: outputsOf(m),
  });
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Values: all zeros, small, or wide. Magnitudes are kept in [1e-6, 1e6] (else 0): float32 energy maps square
 * them, and x² leaves float32 outside about [1e-19, 1e19] — underflow to 0 or ∞, not what is checked here.
 */
const tensorArb = (n: number) =>
  fc
    .oneof(
      fc.constant(new Float32Array(n)),
      fc.float32Array({ minLength: n, maxLength: n, min: -2, max: 2, noNaN: true }),
      fc.float32Array({ minLength: n, maxLength: n, min: -1e6, max: 1e6, noNaN: true }),
    )
    .map((t) => t.map((v) => (Math.abs(v) < 1e-6 ? 0 : v)));

interface World {
  models: ModelInView[];
  runs: Record<string, Run>;
}

const worldArb: fc.Arbitrary<World> = fc
  .record({
    grid: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    channels: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: SITES.length, maxLength: SITES.length }),
  })
  .chain(({ grid, channels }) =>
    fc.oneof(
      { arbitrary: fc.constant([]), weight: 1 },
      { arbitrary: fc.array(modelArb(grid, channels), { minLength: 1, maxLength: 1 }), weight: 2 },
      // Two or three models, where distances happen; fc.array alone mostly makes short arrays.
      { arbitrary: fc.array(modelArb(grid, channels), { minLength: 2, maxLength: 3 }), weight: 6 },
    ),
  )
  .chain((specs) => {
    const contracts = specs.map((m, i) => contractOf(`m${i}`, m));
    const outs = contracts.flatMap((c, i) => (specs[i].ran ? c.outputs.map((o) => ({ model: i, o })) : []));
    return fc
      .tuple(
        ...outs.map(({ o }) => tensorArb(size(o.shape))),
        ...outs.map(() => fc.integer({ min: 0, max: 9 })), // one output in ten is lost from its run
        fc.tuple(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 })),
      )
      .map((parts) => {
        const data = parts.slice(0, outs.length) as Float32Array[];
        const lost = parts.slice(outs.length, 2 * outs.length) as number[];
        const [iw, ih] = parts[2 * outs.length] as [number, number];
        const runs: Record<string, Run> = {};
        specs.forEach((m, i) => {
          if (!m.ran) return;
          const c = contracts[i];
          runs[c.model.id] = {
            modelId: c.model.id,
            imageId: 'img',
            outputs: {},
            milliseconds: 0,
            width: iw,
            height: ih,
            placement: placement(iw, ih, c.input),
            bytes: 0,
          };
        });
        outs.forEach(({ model, o }, k) => {
          if (lost[k] === 0) return;
          runs[`m${model}`].outputs[o.name] = { data: data[k], dims: o.shape };
        });
        return { models: contracts.map((contract) => ({ id: contract.model.id, contract })), runs };
      });
  });

/** Naive cosine in float64, written out independently of attnfdDistance. */
function naiveCosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  return na && nb ? dot / (Math.sqrt(na) * Math.sqrt(nb)) : 0;
}

/** [C, h, w] → [h, w]: mean over channels of x², in float64. */
function naiveEnergy(x: Float32Array, channels: number): number[] {
  const n = x.length / channels;
  return Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let c = 0; c < channels; c++) s += x[c * n + i] ** 2;
    return s / channels;
  });
}

const siteSpec = (c: Contract, site: string, role: string) => c.outputs.find((o) => o.site === site && o.role === role);

/** What computeCbam should return, derived from the contracts' roles directly. */
function expected(world: World) {
  const hasSites = (c: Contract) => c.outputs.some((o) => o.role === 'cbam_spatial_gate');
  const withSites = world.models.filter((m) => hasSites(m.contract));
  if (!withSites.length) return null;
  const ref = withSites.find((m) => m.contract.model.role === 'teacher') ?? withSites[0];
  const names: string[] = [];
  for (const m of withSites)
    for (const o of m.contract.outputs)
      if (o.role === 'cbam_spatial_gate' && !names.includes(o.site!)) names.push(o.site!);
  const refOut = (site: string) => {
    const o = siteSpec(ref.contract, site, 'cbam_refined');
    return o && world.runs[ref.id]?.outputs[o.name];
  };
  return {
    reference: ref.id,
    sites: names.map((name) => ({
      name,
      cards: withSites.flatMap((m) => {
        const run = world.runs[m.id];
        const spatial = run?.outputs[siteSpec(m.contract, name, 'cbam_spatial_gate')?.name ?? ''];
        const channel = run?.outputs[siteSpec(m.contract, name, 'cbam_channel_gate')?.name ?? ''];
        if (!spatial || !channel) return [];
        const t = refOut(name);
        let cosine: { kind: 'connector' | 'energy'; cosine: number } | null = null;
        if (m.id !== ref.id && t) {
          const proj = run.outputs[siteSpec(m.contract, name, 'attnfd_projected')?.name ?? ''];
          const own = run.outputs[siteSpec(m.contract, name, 'cbam_refined')?.name ?? ''];
          if (proj && proj.data.length === t.data.length)
            cosine = { kind: 'connector', cosine: naiveCosine(t.data, proj.data) };
          else if (own && own.dims[2] === t.dims[2] && own.dims[3] === t.dims[3])
            cosine = {
              kind: 'energy',
              cosine: naiveCosine(naiveEnergy(t.data, t.dims[1]), naiveEnergy(own.data, own.dims[1])),
            };
        }
        return [{ modelId: m.id, spatial, channel, cosine }];
      }),
    })),
  };
}

const isModel = (r: CbamModel | string): r is CbamModel => typeof r !== 'string';

describe('computeCbam (properties)', () => {
  it('the generator makes contracts the validator accepts', () => {
    fc.assert(
      fc.property(worldArb, ({ models }) => {
        for (const m of models) expect(validateContract(m.contract)).toEqual([]);
      }),
      { numRuns: 30, seed: RUNS.seed },
    );
  });

  it('picks the reference, sites and cards as the contracts and runs say', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const got = computeCbam(world.models, world.runs);
        const want = expected(world);
        if (!want) {
          expect(got).toBe('no model in view has CBAM sites');
          return;
        }
        if (!isModel(got)) throw new Error(`expected a model, got '${got}'`);
        expect(got.reference).toBe(want.reference);
        expect(got.sites.map((s) => s.name)).toEqual(want.sites.map((s) => s.name));
        got.sites.forEach((site, i) => {
          expect(site.cards.map((c) => c.modelId)).toEqual(want.sites[i].cards.map((c) => c.modelId));
        });
      }),
      RUNS,
    );
  });

  it('each card: spatial range, grid and the top-12 channel gates, largest first', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const got = computeCbam(world.models, world.runs);
        const want = expected(world);
        if (!want || !isModel(got)) return;
        got.sites.forEach((site, i) => {
          site.cards.forEach((card: SiteCard, j) => {
            const { spatial, channel } = want.sites[i].cards[j];
            const values = Array.from(spatial.data);
            expect(card.spatial.values).toBe(spatial.data);
            expect(card.spatial.grid).toEqual([spatial.dims[2], spatial.dims[3]]);
            expect(card.spatial.grid[0] * card.spatial.grid[1]).toBe(values.length);
            expect(card.spatial.lo === Math.min(...values)).toBe(true); // === so that -0 and 0 agree
            expect(card.spatial.hi === Math.max(...values)).toBe(true);
            expect(card.channelCount).toBe(channel.data.length);
            const gates = Array.from(channel.data);
            expect(card.channels).toHaveLength(Math.min(12, gates.length));
            // Largest first: no unlisted gate beats a listed one, and the listed values are the gates at their labels.
            for (let k = 1; k < card.channels.length; k++)
              expect(card.channels[k - 1].value).toBeGreaterThanOrEqual(card.channels[k].value);
            const listed = new Set(card.channels.map((c) => Number(c.label)));
            expect(listed.size).toBe(card.channels.length);
            for (const c of card.channels) expect(c.value).toBe(gates[Number(c.label)]);
            const floor = Math.min(...card.channels.map((c) => c.value));
            gates.forEach((g, k) => {
              if (!listed.has(k)) expect(g).toBeLessThanOrEqual(floor);
            });
          });
        });
      }),
      RUNS,
    );
  });

  it('distance: the same kind as the naive rule, cosine equal to the naive one and in [-1, 1], distance = 2 − 2·cos in [0, 4]', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const got = computeCbam(world.models, world.runs);
        const want = expected(world);
        if (!want || !isModel(got)) return;
        got.sites.forEach((site, i) => {
          site.cards.forEach((card, j) => {
            const w = want.sites[i].cards[j].cosine;
            if (!w) {
              expect(card.distance).toBeNull();
              return;
            }
            const d = card.distance!;
            expect(d.kind).toBe(w.kind);
            expect(Number.isFinite(d.cosine) && Number.isFinite(d.distance)).toBe(true);
            expect(d.cosine).toBeCloseTo(w.cosine, 6);
            expect(d.cosine).toBeGreaterThanOrEqual(-1);
            expect(d.cosine).toBeLessThanOrEqual(1);
            expect(d.distance).toBeCloseTo(2 - 2 * d.cosine, 12);
            expect(d.distance).toBeGreaterThanOrEqual(0);
            expect(d.distance).toBeLessThanOrEqual(4);
          });
        });
      }),
      RUNS,
    );
  });

  it("a student whose connector output is a positive multiple of the teacher's map is at distance 0, exactly within [0, 4]", () => {
    const arb = fc.record({
      channels: fc.integer({ min: 1, max: 6 }),
      grid: fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
      factor: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
      // Eighths: float32 subnormals would lose the multiple to rounding, which is not what this checks.
      seedValues: fc.array(
        fc.integer({ min: -800, max: 800 }).map((v) => v / 8),
        { minLength: 1, maxLength: 96 },
      ),
    });
    fc.assert(
      fc.property(arb, ({ channels, grid, factor, seedValues }) => {
        const spec = (role: 'teacher' | 'student', projected: number | null): ModelSpec => ({
          role,
          grid,
          resize: 'stretch',
          sites: [{ name: 'layer1', channels, refined: true, projected }],
          ran: true,
        });
        const teacher = contractOf('m0', spec('teacher', null));
        const student = contractOf('m1', spec('student', channels));
        const n = channels * grid[0] * grid[1];
        const t = Float32Array.from({ length: n }, (_, i) => seedValues[i % seedValues.length]);
        const s = t.map((v) => Math.fround(v * factor));
        const runOf = (id: string, refined: Float32Array, projected?: Float32Array): Run => ({
          modelId: id,
          imageId: 'img',
          width: 10,
          height: 10,
          milliseconds: 0,
          bytes: 0,
          placement: placement(10, 10, teacher.input),
          outputs: {
            'layer1.channel': { data: new Float32Array(channels), dims: [1, channels] },
            'layer1.spatial': { data: new Float32Array(grid[0] * grid[1]), dims: [1, 1, ...grid] },
            'layer1.refined': { data: refined, dims: [1, channels, ...grid] },
            ...(projected && { 'layer1.projected': { data: projected, dims: [1, channels, ...grid] } }),
          },
        });
        const got = computeCbam(
          [
            { id: 'm1', contract: student },
            { id: 'm0', contract: teacher },
          ],
          { m0: runOf('m0', t), m1: runOf('m1', t, s) },
        );
        if (!isModel(got)) throw new Error(got);
        expect(got.reference).toBe('m0'); // the teacher, though the student is listed first
        const d = got.sites[0].cards.find((c) => c.modelId === 'm1')!.distance!;
        expect(d.kind).toBe('connector');
        expect(d.distance).toBeGreaterThanOrEqual(0);
        expect(d.cosine).toBeLessThanOrEqual(1);
        const zero = t.every((v) => v === 0) || s.every((v) => v === 0);
        // Rounding the scaled copy to float32 moves it off the exact multiple by ~1e-7 relative.
        if (zero) expect(d).toEqual({ kind: 'connector', distance: 2, cosine: 0 });
        else expect(d.distance).toBeLessThan(1e-6);
      }),
      RUNS,
    );
  });

  it('never throws on empty input and says why in words', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        expect(computeCbam([], world.runs)).toBe('no model in view has CBAM sites');
        // No runs at all: every site is listed with no cards, never a throw.
        const got = computeCbam(world.models, {});
        if (isModel(got)) for (const s of got.sites) expect(s.cards).toEqual([]);
        else expect(got).toBe('no model in view has CBAM sites');
      }),
      RUNS,
    );
  });

  it('one model only: every card is the reference, with no distance', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        for (const m of world.models) {
          const got = computeCbam([m], world.runs);
          if (!isModel(got)) continue;
          expect(got.reference).toBe(m.id);
          for (const s of got.sites) for (const c of s.cards) expect(c.distance).toBeNull();
        }
      }),
      RUNS,
    );
  });

  it('all-zero outputs: finite everything, cosine 0 and distance 2 wherever compared', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const zeroRuns = Object.fromEntries(
          Object.entries(world.runs).map(([id, r]) => [
            id,
            {
              ...r,
              outputs: Object.fromEntries(
                Object.entries(r.outputs).map(([k, t]) => [k, { dims: t.dims, data: new Float32Array(t.data.length) }]),
              ),
            },
          ]),
        );
        const got = computeCbam(world.models, zeroRuns);
        if (!isModel(got)) return;
        for (const s of got.sites)
          for (const c of s.cards) {
            expect([c.spatial.lo, c.spatial.hi]).toEqual([0, 0]);
            for (const ch of c.channels) expect(ch.value).toBe(0);
            if (c.distance) expect([c.distance.cosine, c.distance.distance]).toEqual([0, 2]);
          }
      }),
      RUNS,
    );
  });
});
