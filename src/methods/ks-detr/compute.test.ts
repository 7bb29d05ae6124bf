/**
 * Properties of the KS-DETR view model over random valid encoder-attention contracts (grids from 1×1), softmax
 * or all-zero attention, 0–4 boxes (inside, across or off the image, zero-size too) on non-square images placed
 * by stretch or letterbox, and each attention source with and without what it needs. Masks and cells are checked
 * against a mapping written from the image size and resize rule; where a box edge or a point falls on a cell edge
 * to within rounding, either answer is accepted.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Box } from '../../analysis/boxes';
import { placement } from '../../analysis/geometry';
import { type Contract, validateContract } from '../../contract';
import { plainInput } from '../../contract/testContracts';
import type { Run } from '../../state/runs';
import type { QueryAttention } from '../detr/hooks';
import { computeKs, foregroundOnGrid, type KsCard } from './compute';
import type { KsSettings } from './index';

const RUNS = { numRuns: 100, seed: 2718 };

const dims = (max: number) => fc.tuple(fc.integer({ min: 1, max }), fc.integer({ min: 1, max }));
const resizeArb = fc.constantFrom('stretch' as const, 'letterbox' as const);

/** Image → input by hand: scale and offset per axis from the image size and the resize rule. */
function frame(image: [number, number], input: [number, number], resize: 'stretch' | 'letterbox') {
  const [w, h] = image;
  const [W, H] = input;
  const s = Math.min(W / w, H / h);
  return resize === 'stretch'
    ? { sx: W / w, sy: H / h, ox: 0, oy: 0 }
    : { sx: s, sy: s, ox: (W - w * s) / 2, oy: (H - h * s) / 2 };
}

const near = (v: number, k: number) => Math.abs(v - k) < 1e-9 * Math.max(1, Math.abs(v));

/**
 * Cells along one axis that a span [lo, hi] (in cell units) covers: c with c < hi and c + 1 > lo — any overlap,
 * and a zero-size span inside a cell covers it. 'either' where lo or hi sits on that cell's edge.
 */
function spanCells(lo: number, hi: number, cells: number): (0 | 1 | 'either')[] {
  return Array.from({ length: cells }, (_, c) => {
    if (near(hi, c) || near(lo, c + 1)) return 'either';
    return c < hi && c + 1 > lo ? 1 : 0;
  });
}

/** The fg mask by hand: per box its spans in cell units, crossed; 1 wins over 'either', 'either' over 0. */
function referenceMask(
  boxes: Box[],
  image: [number, number],
  input: [number, number],
  resize: 'stretch' | 'letterbox',
  grid: [number, number],
): (0 | 1 | 'either')[] {
  const { sx, sy, ox, oy } = frame(image, input, resize);
  const [gh, gw] = grid;
  const cw = input[0] / gw;
  const ch = input[1] / gh;
  const out: (0 | 1 | 'either')[] = new Array(gh * gw).fill(0);
  for (const b of boxes) {
    const xs = spanCells((b.x0 * sx + ox) / cw, (b.x1 * sx + ox) / cw, gw);
    const ys = spanCells((b.y0 * sy + oy) / ch, (b.y1 * sy + oy) / ch, gh);
    for (let r = 0; r < gh; r++)
      for (let c = 0; c < gw; c++) {
        const v = xs[c] === 0 || ys[r] === 0 ? 0 : xs[c] === 1 && ys[r] === 1 ? 1 : 'either';
        const i = r * gw + c;
        if (v === 1 || (v === 'either' && out[i] === 0)) out[i] = v;
      }
  }
  return out;
}

/** Doubles over [lo, hi] spread evenly too: fc.double alone favours the ends and values next to 0, all edges here. */
const spread = (lo: number, hi: number) =>
  fc.oneof(
    { arbitrary: fc.noBias(fc.integer({ min: 0, max: 1e6 })).map((k) => lo + ((hi - lo) * k) / 1e6), weight: 9 },
    { arbitrary: fc.double({ min: lo, max: hi, noNaN: true }), weight: 1 },
  );

const boxesArb = (w: number, h: number) =>
  fc.array(
    fc
      .record({
        x0: spread(-10, w + 10),
        y0: spread(-10, h + 10),
        w: fc.oneof(fc.constant(0), spread(0, w)),
        h: fc.oneof(fc.constant(0), spread(0, h)),
      })
      .map((b) => ({ x0: b.x0, y0: b.y0, x1: b.x0 + b.w, y1: b.y0 + b.h })),
    { maxLength: 4 },
  );

/** Softmax of random logits per row of n, or all zeros. */
const attentionArb = (rows: number, n: number) =>
  fc.oneof(
    fc.constant(new Float32Array(rows * n)),
    fc.float32Array({ minLength: rows * n, maxLength: rows * n, min: -6, max: 6, noNaN: true }).map((logits) => {
      const out = new Float32Array(logits.length);
      for (let r = 0; r < rows; r++) {
        const e = Array.from(logits.subarray(r * n, (r + 1) * n), Math.exp);
        const s = e.reduce((a, b) => a + b, 0);
        e.forEach((v, i) => {
          out[r * n + i] = v / s;
        });
      }
      return out;
    }),
  );

function ksContract(grid: [number, number], stride: number, heads: number, resize: 'stretch' | 'letterbox'): Contract {
  const n = grid[0] * grid[1];
  return {
    format: 'attnlens-contract',
    version: '1.3',
    model: { id: 'ks', name: 'ks', task: 'detection', role: 'student', family: 'detr' },
    input: plainInput(grid[0] * stride, grid[1] * stride, resize),
    classes: [{ id: 0, name: 'thing', color: '#0000ff' }],
    outputs: [
      {
        name: 'enc',
        role: 'encoder_attention',
        shape: [1, heads, n, n],
        grid,
        stride,
        layout: 'batch,head,query,key',
        upsample: 'bilinear',
      },
    ],
  };
}

interface Case {
  contract: Contract;
  run: Run;
  boxes: Box[];
  settings: KsSettings;
  query: QueryAttention | undefined;
  image: [number, number];
  input: [number, number];
  resize: 'stretch' | 'letterbox';
  grid: [number, number];
  heads: number;
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    grid: dims(4),
    stride: fc.integer({ min: 1, max: 4 }),
    heads: fc.integer({ min: 1, max: 3 }),
    resize: resizeArb,
    image: dims(50),
  })
  .chain((s) => {
    const n = s.grid[0] * s.grid[1];
    const [w, h] = s.image;
    const queryArb = fc.option(
      fc
        .record({
          grid: dims(4),
          hasRow: fc.boolean(),
          hasCross: fc.boolean(),
        })
        .chain((q) =>
          fc.record({
            grid: fc.constant(q.grid),
            row: q.hasRow
              ? attentionArb(1, q.grid[0] * q.grid[1]).map((r) => r as Float32Array | null)
              : fc.constant(null),
            hasCross: fc.constant(q.hasCross),
          }),
        ),
      { nil: undefined },
    );
    return fc.record({
      s: fc.constant(s),
      attention: attentionArb(s.heads * n, n),
      boxes: boxesArb(w, h),
      source: fc.constantFrom('mean' as const, 'point' as const, 'query' as const),
      point: fc.option(fc.tuple(spread(-5, w + 5), spread(-5, h + 5)), { nil: null }),
      query: queryArb,
    });
  })
  .map(({ s, attention, boxes, source, point, query }): Case => {
    const contract = ksContract(s.grid, s.stride, s.heads, s.resize);
    const [w, h] = s.image;
    const run: Run = {
      modelId: 'ks',
      imageId: 'img',
      outputs: { enc: { data: attention, dims: contract.outputs[0].shape } },
      milliseconds: 0,
      width: w,
      height: h,
      placement: placement(w, h, contract.input),
      bytes: 0,
    };
    // Only the fields computeKs reads are meaningful; the rest make a well-typed selection.
    const qa: QueryAttention | undefined = query && {
      id: 'ks',
      contract,
      block: 'one_to_one',
      detection: { x0: 0, y0: 0, x1: 1, y1: 1, score: 1, classId: 0, query: 3 },
      rule: 'same-query',
      how: 'the query you clicked',
      cross: query.hasCross
        ? { name: 'cross', role: 'cross_attention', shape: [1, 5, query.grid[0] * query.grid[1]], grid: query.grid }
        : null,
      row: query.row,
    };
    return {
      contract,
      run,
      boxes,
      settings: { source, point },
      query: qa,
      image: s.image,
      input: [s.grid[1] * s.stride, s.grid[0] * s.stride],
      resize: s.resize,
      grid: s.grid,
      heads: s.heads,
    };
  });

const ok = (r: KsCard | string): KsCard => {
  if (typeof r === 'string') throw new Error(`expected a card, got '${r}'`);
  return r;
};

/** Naive share of a row's mass on the mask: Σ over masked cells / Σ over all; 0 for a row of zeros. */
function naiveShare(row: Float32Array, mask: Uint8Array): number {
  let on = 0;
  let all = 0;
  row.forEach((v, i) => {
    all += v;
    if (mask[i] === 1) on += v;
  });
  return all > 0 ? on / all : 0;
}

/** The cell under an image point by hand, or null off the image; 'either' on an edge to within rounding. */
function cellAt(c: Case, [x, y]: [number, number]): number | null | 'either' {
  const [w, h] = c.image;
  if (near(x, 0) || near(x, w) || near(y, 0) || near(y, h)) return 'either';
  if (x < 0 || x >= w || y < 0 || y >= h) return null;
  const { sx, sy, ox, oy } = frame(c.image, c.input, c.resize);
  const col = ((x * sx + ox) / c.input[0]) * c.grid[1];
  const row = ((y * sy + oy) / c.input[1]) * c.grid[0];
  if (near(col, Math.round(col)) || near(row, Math.round(row))) return 'either';
  return Math.floor(row) * c.grid[1] + Math.floor(col);
}

describe('foregroundOnGrid (properties)', () => {
  const arb = fc
    .record({ image: dims(60), input: dims(48), resize: resizeArb, grid: dims(5) })
    .chain((f) => fc.record({ f: fc.constant(f), boxes: boxesArb(...f.image) }));

  it("the cells any box overlaps, through the run's placement; 0/1 of the grid's length", () => {
    fc.assert(
      fc.property(arb, ({ f, boxes }) => {
        const [W, H] = f.input;
        const run = { placement: placement(...f.image, { shape: [1, 3, H, W], layout: 'NCHW', resize: f.resize }) };
        const got = foregroundOnGrid(boxes, run, f.grid);
        const want = referenceMask(boxes, f.image, f.input, f.resize, f.grid);
        expect(got).toHaveLength(f.grid[0] * f.grid[1]);
        got.forEach((v, i) => {
          expect(v === 0 || v === 1).toBe(true);
          if (want[i] !== 'either') expect(v).toBe(want[i]);
        });
      }),
      RUNS,
    );
  });

  it('no boxes: an empty mask; the whole image stretched: every cell', () => {
    fc.assert(
      fc.property(arb, ({ f }) => {
        const [W, H] = f.input;
        const [w, h] = f.image;
        const shape = [1, 3, H, W];
        const none = foregroundOnGrid(
          [],
          { placement: placement(w, h, { shape, layout: 'NCHW', resize: f.resize }) },
          f.grid,
        );
        expect(none.every((v) => v === 0)).toBe(true);
        const all = foregroundOnGrid(
          [{ x0: 0, y0: 0, x1: w, y1: h }],
          { placement: placement(w, h, { shape, layout: 'NCHW', resize: 'stretch' }) },
          f.grid,
        );
        expect(all.every((v) => v === 1)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('computeKs (properties)', () => {
  it('the generator makes contracts the validator accepts', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(validateContract(c.contract)).toEqual([]);
      }),
      { numRuns: 30, seed: RUNS.seed },
    );
  });

  it('the source it shows, or the encoder mean with the reason in words', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const card = ok(computeKs(c.contract, c.run, c.boxes, c.settings, c.query));
        const { source, point } = c.settings;
        let missing: string | RegExp | null = null;
        if (source === 'point' && !point) missing = 'click a cell on a map to pick a location';
        else if (source === 'point' && cellAt(c, point!) === null) missing = 'the clicked point is off the image';
        else if (source === 'query' && !c.query)
          missing = 'click a detection (in a pane or the H-DETR view) to pick a query';
        else if (source === 'query' && (!c.query!.row || !c.query!.cross?.grid))
          missing = 'ks exports no cross_attention for its query';
        if (source === 'point' && point && cellAt(c, point) === 'either') return; // on an edge: either answer
        expect(card.missing).toBe(missing);
        expect(card.shares === null).toBe(missing !== null);
        if (missing) expect(card.rows.what).toMatch(/^encoder self-attention, mean over all query tokens/);
      }),
      RUNS,
    );
  });

  it('encoder mean: per head the mean over queries of what each key receives (sums to 1 for softmax rows), head mean', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const card = ok(computeKs(c.contract, c.run, c.boxes, { source: 'mean', point: null }, undefined));
        const n = c.grid[0] * c.grid[1];
        const a = c.run.outputs.enc.data;
        const zero = a.every((v) => v === 0);
        expect(card.rows.grid).toEqual(c.grid);
        expect(card.rows.cell).toBeNull();
        expect(card.rows.perHead).toHaveLength(c.heads);
        card.rows.perHead.forEach((row, h) => {
          expect(row).toHaveLength(n);
          for (let k = 0; k < n; k++) {
            let s = 0;
            for (let q = 0; q < n; q++) s += a[h * n * n + q * n + k];
            expect(row[k]).toBeCloseTo(s / n, 6);
          }
          expect(row.reduce((x, y) => x + y, 0)).toBeCloseTo(zero ? 0 : 1, 5);
        });
        card.rows.mean.forEach((v, k) => {
          expect(v).toBeCloseTo(card.rows.perHead.reduce((s, r) => s + r[k], 0) / c.heads, 6);
        });
      }),
      RUNS,
    );
  });

  it("a point on the image: its cell's rows, per head, outlined", () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const point = c.settings.point;
        if (!point) return;
        const cell = cellAt(c, point);
        const card = ok(computeKs(c.contract, c.run, c.boxes, { source: 'point', point }, undefined));
        if (cell === null || cell === 'either') return;
        const n = c.grid[0] * c.grid[1];
        expect(card.rows.cell).toBe(cell);
        card.rows.perHead.forEach((row, h) => {
          expect(Array.from(row)).toEqual(
            Array.from(c.run.outputs.enc.data.subarray(h * n * n + cell * n, h * n * n + (cell + 1) * n)),
          );
        });
      }),
      RUNS,
    );
  });

  it('a query with cross-attention: its row on its own grid, and the mask on that grid', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const q = c.query;
        if (!q?.row || !q.cross?.grid) return;
        const card = ok(computeKs(c.contract, c.run, c.boxes, { source: 'query', point: null }, q));
        expect(card.rows.mean).toBe(q.row);
        expect(card.rows.grid).toEqual(q.cross.grid);
        expect(card.rows.perHead).toEqual([]);
        expect(card.mask).toHaveLength(q.cross.grid[0] * q.cross.grid[1]);
        expect(card.shares!.perHead).toEqual([]);
      }),
      RUNS,
    );
  });

  it('mask, area and shares: the fg mask on the shown grid, area its covered fraction, shares the naive ones in [0, 1]', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const card = ok(computeKs(c.contract, c.run, c.boxes, c.settings, c.query));
        expect(card.mask).toEqual(foregroundOnGrid(c.boxes, c.run, card.rows.grid));
        expect(card.mask).toHaveLength(card.rows.grid[0] * card.rows.grid[1]);
        const covered = card.mask.filter((v) => v === 1).length;
        expect(card.area).toBeCloseTo(covered / card.mask.length, 12);
        expect(card.area >= 0 && card.area <= 1).toBe(true);
        if (!card.shares) return;
        expect(card.shares.perHead).toHaveLength(card.rows.perHead.length);
        const all = [
          [card.shares.mean, card.rows.mean],
          ...card.shares.perHead.map((s, h) => [s, card.rows.perHead[h]] as const),
        ] as const;
        for (const [share, row] of all) {
          expect(Number.isNaN(share)).toBe(false);
          expect(share).toBeGreaterThanOrEqual(0);
          expect(share).toBeLessThanOrEqual(1 + 1e-12);
          expect(share).toBeCloseTo(naiveShare(row, card.mask), 9);
        }
      }),
      RUNS,
    );
  });

  it('no boxes: zero area and zero shares; boxes covering the image stretched: every cell, shares 1 (or 0 for zero attention)', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const settings: KsSettings = { source: 'mean', point: null };
        const none = ok(computeKs(c.contract, c.run, [], settings, undefined));
        expect(none.area).toBe(0);
        expect([none.shares!.mean, ...none.shares!.perHead].every((s) => s === 0)).toBe(true);
        if (c.resize !== 'stretch') return;
        const [w, h] = c.image;
        const full = ok(computeKs(c.contract, c.run, [{ x0: 0, y0: 0, x1: w, y1: h }], settings, undefined));
        expect(full.area).toBe(1);
        const zero = c.run.outputs.enc.data.every((v) => v === 0);
        for (const s of [full.shares!.mean, ...full.shares!.perHead]) expect(s).toBeCloseTo(zero ? 0 : 1, 9);
      }),
      RUNS,
    );
  });

  it('says why in words when there is no encoder attention, never throws', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const noEnc = { ...c.contract, outputs: [] };
        expect(computeKs(noEnc, c.run, c.boxes, c.settings, c.query)).toBe('no encoder attention in this run');
        const noOutput = { ...c.run, outputs: {} };
        expect(computeKs(c.contract, noOutput, c.boxes, c.settings, c.query)).toBe('no encoder attention in this run');
      }),
      RUNS,
    );
  });
});
