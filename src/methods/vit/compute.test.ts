/**
 * Properties of computeVit and patchVsClassMapIoU over random valid ViT contracts (grids from 1×1, any patch,
 * layers, heads), non-square images placed by stretch or letterbox, and optional truth and reference maps.
 * IoUs are checked against a per-pixel reference that maps each pixel centre by hand; pixels whose centre
 * falls on a cell edge (within rounding) may go either way, so the reference gives bounds there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Placement, placement } from '../../analysis/geometry';
import type { ClassMap } from '../../app/task';
import { type Contract, type ContractOutput, validateContract } from '../../contract';
import { plainInput, testContract } from '../../contract/testContracts';
import type { Run } from '../../state/runs';
import { computeVit, patchVsClassMapIoU, type VitModel } from './compute';
import type { VitSettings } from './index';

const RUNS = { numRuns: 100, seed: 4242 };

const dims = (max: number) => fc.tuple(fc.integer({ min: 1, max }), fc.integer({ min: 1, max }));

/** Rows of softmax over random logits (what a ViT exports), or all zeros. */
function softmaxRows(logits: Float32Array, n: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / n; r++) {
    const row = logits.subarray(r * n, (r + 1) * n);
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, i) => {
      out[r * n + i] = v / s;
    });
  }
  return out;
}

interface Case {
  contract: Contract;
  run: Run;
  settings: VitSettings;
  rollout: { row: Float32Array; upTo: number; identity: boolean } | null;
  truth: { mask: Uint8Array; width: number; height: number; objects: number } | null;
  reference: { id: string; map: ClassMap } | null;
  n: number;
  zero: boolean;
}

function vitContract(
  grid: [number, number],
  patch: number,
  layers: number,
  heads: number,
  resize: 'stretch' | 'letterbox',
  cosine: boolean,
): Contract {
  const n = grid[0] * grid[1];
  const common = { grid, patch, cls_token: 'leads' as const, keys: 'patches' as const, upsample: 'nearest' as const };
  const outputs: ContractOutput[] = [
    {
      name: 'attn',
      role: 'cls_attention',
      shape: [1, layers, heads, n],
      layout: 'batch,layer,head,key',
      layers: Array.from({ length: layers }, (_, i) => i),
      ...common,
    },
  ];
  if (cosine)
    outputs.push({
      name: 'cos',
      role: 'cls_key_cosine',
      shape: [1, heads, n],
      layout: 'batch,head,key',
      layer: layers - 1,
      ...common,
    });
  return testContract({
    model: { id: 'vit', name: 'vit', task: 'classification', role: 'student', family: 'vit' },
    input: plainInput(grid[0] * patch, grid[1] * patch, resize),
    classes: [{ id: 0, name: 'thing', color: '#ff0000' }],
    outputs,
  });
}

/** A threshold in [0, 1], mostly spread evenly (fc.double alone sits at the ends, where masks are all or nothing). */
const unit = fc.oneof(
  { arbitrary: fc.noBias(fc.integer({ min: 0, max: 1000 })).map((k) => k / 1000), weight: 4 },
  { arbitrary: fc.double({ min: 0, max: 1, noNaN: true }), weight: 1 },
);

const bits = (n: number) => fc.uint8Array({ minLength: n, maxLength: n, min: 0, max: 1 });

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    grid: dims(4),
    patch: fc.integer({ min: 1, max: 4 }),
    layers: fc.integer({ min: 1, max: 3 }),
    heads: fc.integer({ min: 1, max: 3 }),
    resize: fc.constantFrom('stretch' as const, 'letterbox' as const),
    image: dims(40),
    cosine: fc.boolean(),
    zero: fc.integer({ min: 0, max: 4 }).map((v) => v === 0),
  })
  .chain((s) => {
    const n = s.grid[0] * s.grid[1];
    const contract = vitContract(s.grid, s.patch, s.layers, s.heads, s.resize, s.cosine);
    return fc.record({
      contract: fc.constant(contract),
      n: fc.constant(n),
      zero: fc.constant(s.zero),
      logits: fc.float32Array({
        minLength: s.layers * s.heads * n,
        maxLength: s.layers * s.heads * n,
        min: -6,
        max: 6,
        noNaN: true,
      }),
      cos: fc.float32Array({ minLength: s.heads * n, maxLength: s.heads * n, min: -1, max: 1, noNaN: true }),
      settings: fc.record({
        layer: fc.integer({ min: -2, max: s.layers + 1 }), // out of range → the last layer
        mass: unit,
        score: unit,
        map: fc.constantFrom('cls' as const, 'rollout' as const),
        identity: fc.boolean(),
      }),
      rollout: fc.option(
        fc.record({
          row: fc.float32Array({ minLength: n + 1, maxLength: n + 1, min: 0, max: 1, noNaN: true }),
          upTo: fc.integer({ min: 0, max: s.layers - 1 }),
          identity: fc.boolean(),
        }),
        { nil: null },
      ),
      truth: fc.option(
        dims(30).chain(([w, h]) =>
          fc.record({
            mask: bits(w * h),
            width: fc.constant(w),
            height: fc.constant(h),
            objects: fc.nat(5),
          }),
        ),
        { nil: null },
      ),
      reference: fc.option(
        fc
          .record({ input: dims(30), resize: fc.constantFrom('stretch' as const, 'letterbox' as const) })
          .chain(({ input: [rw, rh], resize }) =>
            fc.record({
              classMap: fc.uint8Array({ minLength: rw * rh, maxLength: rw * rh, min: 0, max: 2 }),
              width: fc.constant(rw),
              height: fc.constant(rh),
              resize: fc.constant(resize),
            }),
          ),
        { nil: null },
      ),
      image: fc.constant(s.image),
    });
  })
  .map((g) => {
    const [iw, ih] = g.image;
    const attn = g.contract.outputs[0];
    const data = g.zero ? new Float32Array(g.logits.length) : softmaxRows(g.logits, g.n);
    const outputs: Run['outputs'] = { attn: { data, dims: attn.shape } };
    if (g.contract.outputs[1]) outputs.cos = { data: g.cos, dims: g.contract.outputs[1].shape };
    const run: Run = {
      modelId: 'vit',
      imageId: 'img',
      outputs,
      milliseconds: 0,
      width: iw,
      height: ih,
      placement: placement(iw, ih, g.contract.input),
      bytes: 0,
    };
    const r = g.reference;
    const reference = r && {
      id: 'seg',
      map: {
        classMap: r.classMap,
        width: r.width,
        height: r.height,
        placement: placement(iw, ih, { shape: [1, 3, r.height, r.width], layout: 'NCHW', resize: r.resize }),
      },
    };
    return {
      contract: g.contract,
      run,
      settings: g.settings,
      rollout: g.rollout,
      truth: g.truth,
      reference,
      n: g.n,
      zero: g.zero,
    };
  });

const ok = (r: VitModel | string): VitModel => {
  if (typeof r === 'string') throw new Error(`expected a model, got '${r}'`);
  return r;
};

/** A value that may go either way (a sample on a cell edge, within rounding). */
type Maybe = 0 | 1 | 'either';

/** floor(v), or both neighbours when v sits on an integer to within rounding. */
function floors(v: number): number[] {
  const k = Math.round(v);
  return Math.abs(v - k) < 1e-9 * Math.max(1, Math.abs(v)) ? [k - 1, k] : [Math.floor(v)];
}

function either(values: number[]): Maybe {
  const set = new Set(values.map((v) => (v ? 1 : 0)));
  return set.size === 2 ? 'either' : ([...set][0] as 0 | 1);
}

/** The patch mask's value at a point in model-input pixels (off the grid: 0). */
function patchAt(mask: Uint8Array, grid: [number, number], patch: number, u: number, v: number): Maybe {
  const vals: number[] = [];
  for (const r of floors(v / patch))
    for (const c of floors(u / patch))
      vals.push(r >= 0 && r < grid[0] && c >= 0 && c < grid[1] ? mask[r * grid[1] + c] : 0);
  return either(vals);
}

/** IoU bounds over every way the 'either' samples may go: [lo, hi]; equal when none is in doubt. */
function iouBounds(pairs: [Maybe, Maybe][]): [number, number] {
  let interLo = 0;
  let interHi = 0;
  let unionLo = 0;
  let unionHi = 0;
  for (const [a, b] of pairs) {
    if (a === 1 && b === 1) interLo++;
    if (a !== 0 && b !== 0) interHi++;
    if (a === 1 || b === 1) unionLo++;
    if (a !== 0 || b !== 0) unionHi++;
  }
  return [unionHi ? interLo / unionHi : 1, unionLo ? Math.min(1, interHi / unionLo) : 1];
}

const inBounds = (v: number, [lo, hi]: [number, number]) => {
  expect(v).toBeGreaterThanOrEqual(lo - 1e-12);
  expect(v).toBeLessThanOrEqual(hi + 1e-12);
};

/** Pixel centres of the w×h image as image points (what patchVsClassMapIoU samples below 320 px). */
function* centres(w: number, h: number) {
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) yield [x + 0.5, y + 0.5] as const;
}

/** The reference's foreground at an image point, mapped through its own placement by hand. */
function foregroundAt(ref: ClassMap, x: number, y: number): Maybe {
  const p = ref.placement;
  const vals: number[] = [];
  for (const v of floors(y * p.scaleY + p.offsetY))
    for (const u of floors(x * p.scaleX + p.offsetX))
      vals.push(u >= 0 && v >= 0 && u < ref.width && v < ref.height && ref.classMap[v * ref.width + u] > 0 ? 1 : 0);
  return either(vals);
}

const toInputPx = (p: Placement, x: number, y: number) => [x * p.scaleX + p.offsetX, y * p.scaleY + p.offsetY];

describe('computeVit (properties)', () => {
  it('the generator makes contracts the validator accepts', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(validateContract(c.contract)).toEqual([]);
      }),
      { numRuns: 30, seed: RUNS.seed },
    );
  });

  it('shapes: the layer asked (or the last), one row of N per head, masks of N 0/1 values', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = ok(computeVit(c));
        const [, layers, heads, n] = c.run.outputs.attn.dims;
        expect(m.layer).toBe(c.settings.layer >= 0 && c.settings.layer < layers ? c.settings.layer : layers - 1);
        expect([m.layers, m.heads, m.grid[0] * m.grid[1]]).toEqual([layers, heads, n]);
        expect(m.perHead).toHaveLength(heads);
        const data = c.run.outputs.attn.data;
        m.perHead.forEach((row, h) => {
          expect(Array.from(row)).toEqual(
            Array.from(data.subarray((m.layer * heads + h) * n, (m.layer * heads + h + 1) * n)),
          );
        });
        expect(m.mean).toHaveLength(n);
        for (const mask of [m.dino, m.cst ?? new Uint8Array(n)]) {
          expect(mask).toHaveLength(n);
          for (const v of mask) expect(v === 0 || v === 1).toBe(true);
        }
        expect(m.cst === null).toBe(!c.run.outputs.cos);
      }),
      RUNS,
    );
  });

  it('the map: the naive head mean (sums to 1 for softmax rows), or the rollout row without CLS', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = ok(computeVit(c));
        if (c.rollout) {
          expect(Array.from(m.mean)).toEqual(Array.from(c.rollout.row.subarray(1)));
          expect(m.mapName).toMatch(new RegExp(`^rollout of layers 0–${c.rollout.upTo} `));
          return;
        }
        expect(m.mapName).toBe(`layer ${m.layer} head mean`);
        m.mean.forEach((v, i) => {
          expect(v).toBeCloseTo(m.perHead.reduce((a, row) => a + row[i], 0) / m.heads, 6);
        });
        const sum = m.mean.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(c.zero ? 0 : 1, 5);
      }),
      RUNS,
    );
  });

  it('DINO mask: the largest entries, the fewest that hold the mass (nothing from an all-zero map)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = ok(computeVit(c));
        const values = Array.from(m.mean);
        const total = values.reduce((a, b) => a + b, 0);
        const kept = values.filter((_, i) => m.dino[i]);
        if (total === 0) {
          expect(kept).toEqual([]);
          return;
        }
        const keptMass = kept.reduce((a, b) => a + b, 0) / total;
        expect(keptMass).toBeGreaterThanOrEqual(c.settings.mass - 1e-6);
        if (kept.length) {
          const least = Math.min(...kept);
          expect(keptMass - least / total).toBeLessThan(c.settings.mass + 1e-6);
          for (let i = 0; i < values.length; i++) if (!m.dino[i]) expect(values[i]).toBeLessThanOrEqual(least);
        }
      }),
      RUNS,
    );
  });

  it('CST mask: (head-mean cosine + 1) / 2 above the score, naively (entries at the score to rounding may go either way)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = ok(computeVit(c));
        const cos = c.run.outputs.cos;
        if (!cos) return;
        const heads = cos.dims[1];
        for (let i = 0; i < c.n; i++) {
          let s = 0;
          for (let h = 0; h < heads; h++) s += cos.data[h * c.n + i];
          const score = (s / heads + 1) / 2;
          if (Math.abs(score - c.settings.score) > 1e-6) expect(m.cst![i]).toBe(score > c.settings.score ? 1 : 0);
        }
      }),
      RUNS,
    );
  });

  it('truth IoU: in [0, 1] and the per-pixel IoU of the upsampled mask against the annotation, at its resolution', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = ok(computeVit(c));
        if (!c.truth) {
          expect(m.truthIoU).toBeNull();
          return;
        }
        const t = c.truth;
        const iou = m.truthIoU!;
        expect(iou.objects).toBe(t.objects);
        for (const [mask, got] of [
          [m.dino, iou.dino],
          [m.cst, iou.cst],
        ] as const) {
          if (!mask) {
            expect(got).toBeNull();
            continue;
          }
          expect(got).toBeGreaterThanOrEqual(0);
          expect(got).toBeLessThanOrEqual(1);
          const pairs: [Maybe, Maybe][] = [];
          let i = 0;
          for (const [x, y] of centres(t.width, t.height)) {
            // Annotation pixel → the analysed image's pixels → model input.
            const [u, v] = toInputPx(c.run.placement, (x * c.run.width) / t.width, (y * c.run.height) / t.height);
            pairs.push([patchAt(mask, m.grid, m.patch, u, v), t.mask[i++] ? 1 : 0]);
          }
          inBounds(got!, iouBounds(pairs));
        }
      }),
      RUNS,
    );
  });

  it("reference IoU: in [0, 1] and the per-pixel IoU against the segmentation model's foreground, each through its own placement", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const m = ok(computeVit(c));
        if (!c.reference) {
          expect(m.referenceIoU).toBeNull();
          return;
        }
        const got = m.referenceIoU!;
        expect(got.id).toBe(c.reference.id);
        for (const [mask, value] of [
          [m.dino, got.dino],
          [m.cst, got.cst],
        ] as const) {
          if (!mask) {
            expect(value).toBeNull();
            continue;
          }
          const pairs: [Maybe, Maybe][] = [];
          for (const [x, y] of centres(c.run.width, c.run.height)) {
            const [u, v] = toInputPx(c.run.placement, x, y);
            pairs.push([patchAt(mask, m.grid, m.patch, u, v), foregroundAt(c.reference.map, x, y)]);
          }
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThanOrEqual(1);
          inBounds(value!, iouBounds(pairs));
        }
      }),
      RUNS,
    );
  });

  it('never throws on what it cannot read, and says why in words', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const noAttention = { ...c.contract, outputs: c.contract.outputs.filter((o) => o.role !== 'cls_attention') };
        expect(computeVit({ ...c, contract: noAttention })).toBe('its contract declares no cls_attention over patches');
        expect(computeVit({ ...c, run: { ...c.run, outputs: {} } })).toBe('the run has no attn output');
        const attn = c.run.outputs.attn;
        const wrong = { data: new Float32Array(attn.data.length / c.n), dims: [...attn.dims.slice(0, 3), 1] };
        if (c.n !== 1)
          expect(computeVit({ ...c, run: { ...c.run, outputs: { attn: wrong } } })).toMatch(/has 1 keys but its grid/);
      }),
      RUNS,
    );
  });

  it('all-zero attention and cosine: finite maps, no NaN, IoUs in [0, 1]', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const zeros = Object.fromEntries(
          Object.entries(c.run.outputs).map(([k, t]) => [k, { dims: t.dims, data: new Float32Array(t.data.length) }]),
        );
        const m = ok(computeVit({ ...c, rollout: null, run: { ...c.run, outputs: zeros } }));
        for (const v of [...m.mean, ...m.perHead.flatMap((r) => [...r])]) expect(v).toBe(0);
        expect(m.dino.every((v) => v === 0)).toBe(true);
        for (const v of [m.truthIoU?.dino, m.truthIoU?.cst, m.referenceIoU?.dino, m.referenceIoU?.cst])
          if (v != null) expect(v >= 0 && v <= 1).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('patchVsClassMapIoU (properties)', () => {
  // Images past 320 px are sampled, not read pixel by pixel: uniform masks still have an exact answer.
  const side = fc.oneof(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 4, max: 320 }),
    fc.integer({ min: 321, max: 900 }),
  );
  const bigArb = fc.record({
    // Thin sides against long ones too: the sampling step follows the long side.
    image: fc.tuple(side, side),
    grid: dims(4),
    patch: fc.integer({ min: 1, max: 16 }),
    resize: fc.constantFrom('stretch' as const, 'letterbox' as const),
    refInput: dims(64),
    refResize: fc.constantFrom('stretch' as const, 'letterbox' as const),
    maskOn: fc.boolean(),
    refClass: fc.integer({ min: 0, max: 2 }),
  });

  it('uniform masks, any image size: 1 when both cover the image or neither does, 0 when only one does', () => {
    fc.assert(
      fc.property(bigArb, (s) => {
        const [w, h] = s.image;
        const [gh, gw] = s.grid;
        const place = placement(w, h, { shape: [1, 3, gh * s.patch, gw * s.patch], layout: 'NCHW', resize: s.resize });
        const [rw, rh] = s.refInput;
        const ref: ClassMap = {
          classMap: new Uint8Array(rw * rh).fill(s.refClass),
          width: rw,
          height: rh,
          placement: placement(w, h, { shape: [1, 3, rh, rw], layout: 'NCHW', resize: s.refResize }),
        };
        const mask = new Uint8Array(gh * gw).fill(s.maskOn ? 1 : 0);
        const got = patchVsClassMapIoU(mask, s.grid, s.patch, place, ref, w, h);
        expect(got).toBe(s.maskOn === s.refClass > 0 ? 1 : 0);
      }),
      RUNS,
    );
  });

  it('against a class map that is the same mask at the same input: 1, at any image size and aspect', () => {
    const arb = bigArb.chain((s) => fc.record({ s: fc.constant(s), mask: bits(s.grid[0] * s.grid[1]) }));
    fc.assert(
      fc.property(arb, ({ s, mask }) => {
        const [w, h] = s.image;
        const [gh, gw] = s.grid;
        const [W, H] = [gw * s.patch, gh * s.patch];
        const place = placement(w, h, { shape: [1, 3, H, W], layout: 'NCHW', resize: s.resize });
        const classMap = Uint8Array.from({ length: W * H }, (_, i) => {
          const u = i % W;
          const v = (i - u) / W;
          return mask[Math.floor(v / s.patch) * gw + Math.floor(u / s.patch)] ? 2 : 0;
        });
        const ref: ClassMap = { classMap, width: W, height: H, placement: place };
        expect(patchVsClassMapIoU(mask, s.grid, s.patch, place, ref, w, h)).toBe(1);
      }),
      RUNS,
    );
  });

  it('a 1×640 image is still compared (it was sampled nowhere and scored 1)', () => {
    const place = placement(1, 640, { shape: [1, 3, 4, 4], layout: 'NCHW', resize: 'stretch' });
    const ref: ClassMap = {
      classMap: Uint8Array.of(1),
      width: 1,
      height: 1,
      placement: placement(1, 640, { shape: [1, 3, 1, 1], layout: 'NCHW', resize: 'stretch' }),
    };
    expect(patchVsClassMapIoU(new Uint8Array(1), [1, 1], 4, place, ref, 1, 640)).toBe(0);
  });
});
