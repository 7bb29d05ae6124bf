/**
 * Properties of the H-DETR view model over random valid detector contracts (one-to-one block, optional
 * one-to-many block), runs with any logits and boxes (zero-size too), ground truth of 0–4 objects (classes the
 * model lacks too), on non-square images placed by stretch or letterbox. The assignment is checked against
 * brute force over every assignment of these tiny matrices, the costs against the formulas written out here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import type { GtObject } from '../../analysis/groundTruth';
import { linearAssignment, matchRepeated } from '../../analysis/matching';
import { type Contract, type ContractOutput, validateContract } from '../../contract';
import { plainInput, testContract } from '../../contract/testContracts';
import type { Run } from '../../state/runs';
import { type AssignmentModel, computeAssignment, fromModelCxcywh, toModelCxcywh } from './compute';
import type { HdetrSettings } from './index';

const RUNS = { numRuns: 100, seed: 314159 };
const CLASSES = [0, 1, 2, 3, 4];

const frameArb = fc.record({
  input: fc.tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 })),
  image: fc.tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 })),
  resize: fc.constantFrom('stretch' as const, 'letterbox' as const),
});
type Frame = typeof frameArb extends fc.Arbitrary<infer F> ? F : never;
const placed = ({ input: [W, H], image: [w, h], resize }: Frame) => ({
  placement: placement(w, h, { shape: [1, 3, H, W], layout: 'NCHW', resize }),
});

const coord = fc.double({ min: -50, max: 150, noNaN: true });
const extent = fc.double({ min: 0, max: 100, noNaN: true });
const boxArb = fc.tuple(coord, coord, extent, extent).map(([x0, y0, w, h]) => ({ x0, y0, x1: x0 + w, y1: y0 + h }));

function blockOutputs(prefix: string, block: 'one_to_one' | 'one_to_many', q: number, labels: number[], k?: number) {
  const extra = block === 'one_to_many' ? { k } : {};
  return [
    {
      name: `${prefix}.logits`,
      role: 'box_logits',
      shape: [1, q, labels.length],
      block,
      labels,
      activation: 'sigmoid',
      ...extra,
    },
    { name: `${prefix}.boxes`, role: 'boxes', shape: [1, q, 4], block, box_format: 'cxcywh_normalized', ...extra },
  ] as ContractOutput[];
}

interface Case {
  contract: Contract;
  run: Run;
  gt: GtObject[];
  settings: HdetrSettings;
}

const logitsArb = (n: number) =>
  fc.oneof(
    fc.constant(new Float32Array(n)),
    fc.float32Array({ minLength: n, maxLength: n, min: -8, max: 8, noNaN: true }),
    // Saturated sigmoids: p rounds to 0 or 1 and the focal cost's logs must stay finite.
    fc.float32Array({ minLength: n, maxLength: n, min: -100, max: 100, noNaN: true }),
  );
const boxesArb = (q: number) =>
  fc.array(
    fc.tuple(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
      fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    ),
    { minLength: q, maxLength: q },
  );

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    frame: frameArb,
    labels: fc.shuffledSubarray(CLASSES, { minLength: 1 }),
    o2o: fc.integer({ min: 1, max: 5 }),
    o2m: fc.option(fc.record({ q: fc.integer({ min: 1, max: 5 }), k: fc.integer({ min: 1, max: 6 }) }), { nil: null }),
    settings: fc.record({
      mode: fc.constantFrom('o2o' as const, 'o2m' as const),
      k: fc.integer({ min: 1, max: 3 }),
      weights: fc.record({
        cls: fc.double({ min: 0, max: 10, noNaN: true }),
        l1: fc.double({ min: 0, max: 10, noNaN: true }),
        giou: fc.double({ min: 0, max: 10, noNaN: true }),
      }),
    }),
  })
  .chain((s) => {
    const [W, H] = s.frame.input;
    const outputs = [
      ...blockOutputs('o2o', 'one_to_one', s.o2o, s.labels),
      ...(s.o2m ? blockOutputs('o2m', 'one_to_many', s.o2m.q, s.labels, s.o2m.k) : []),
    ];
    const contract: Contract = testContract({
      model: { id: 'det', name: 'det', task: 'detection', role: 'student', family: 'detr' },
      input: plainInput(H, W, s.frame.resize),
      classes: CLASSES.map((id) => ({ id, name: `c${id}`, color: '#00ff00' })),
      outputs,
    });
    const [w, h] = s.frame.image;
    const data = outputs.map((o) =>
      o.role === 'boxes'
        ? boxesArb(o.shape[1]).map((b) => Float32Array.from(b.flat()))
        : logitsArb(o.shape[1] * o.shape[2]),
    );
    const objectArb = fc.record({
      // Mostly the model's labels; else any id, 5 and 6 being classes no model predicts.
      classId: fc.oneof(
        { arbitrary: fc.constantFrom(...s.labels), weight: 3 },
        { arbitrary: fc.integer({ min: 0, max: 6 }), weight: 1 },
      ),
      x0: fc.double({ min: -10, max: w, noNaN: true }),
      y0: fc.double({ min: -10, max: h, noNaN: true }),
      w: fc.oneof(fc.constant(0), fc.double({ min: 0, max: w, noNaN: true })),
      h: fc.oneof(fc.constant(0), fc.double({ min: 0, max: h, noNaN: true })),
    });
    // No ground truth one time in five; fc.array alone mostly makes empty or one-long arrays.
    const gtArb = fc.oneof(
      { arbitrary: fc.constant([]), weight: 1 },
      { arbitrary: fc.array(objectArb, { minLength: 1, maxLength: 4 }), weight: 4 },
    );
    return fc.tuple(fc.tuple(...data), gtArb).map(
      ([tensors, gt]): Case => ({
        contract,
        settings: s.settings,
        gt: gt.map((g) => ({ classId: g.classId, x0: g.x0, y0: g.y0, x1: g.x0 + g.w, y1: g.y0 + g.h })),
        run: {
          modelId: 'det',
          imageId: 'img',
          outputs: Object.fromEntries(outputs.map((o, i) => [o.name, { data: tensors[i], dims: o.shape }])),
          milliseconds: 0,
          width: w,
          height: h,
          placement: placed(s.frame).placement,
          bytes: 0,
        },
      }),
    );
  });

const ok = (r: AssignmentModel | string): AssignmentModel => {
  if (typeof r === 'string') throw new Error(`expected an assignment, got '${r}'`);
  return r;
};

/** The block computeAssignment should use, and how many objects each query may take at most. */
function blockFor(c: Case) {
  const o2m = c.settings.mode === 'o2m' && c.contract.outputs.some((o) => o.name === 'o2m.logits');
  const prefix = o2m ? 'o2m' : 'o2o';
  const logits = c.contract.outputs.find((o) => o.name === `${prefix}.logits`)!;
  return {
    prefix,
    block: o2m ? 'one_to_many' : 'one_to_one',
    trainedK: logits.k ?? null,
    cap: c.settings.mode === 'o2m' ? c.settings.k : 1,
    labels: logits.labels!,
  };
}

/** Minimum total cost over every assignment: each query to one object or none, each object at most `cap` times. */
function bruteMin(cost: Float64Array, q: number, g: number, cap: number): number {
  const target = Math.min(q, g * cap);
  const used = new Array<number>(g).fill(0);
  let best = Infinity;
  const go = (i: number, count: number, sum: number) => {
    if (count + (q - i) < target) return;
    if (i === q) {
      best = Math.min(best, sum);
      return;
    }
    go(i + 1, count, sum);
    for (let j = 0; j < g; j++) {
      if (used[j] >= cap) continue;
      used[j]++;
      go(i + 1, count + 1, sum + cost[i * g + j]);
      used[j]--;
    }
  };
  go(0, 0, 0);
  return best;
}

/** H-DETR's matching cost written out: focal class cost, L1 on cxcywh, −GIoU (degenerate boxes: IoU 0, no hull term). */
function naiveCost(logit: number, box: number[], gt: number[], w: HdetrSettings['weights']): number {
  const p = 1 / (1 + Math.exp(-logit));
  const cls = 0.25 * (1 - p) ** 2 * -Math.log(p + 1e-8) - 0.75 * p ** 2 * -Math.log(1 - p + 1e-8);
  const l1 = box.reduce((s, v, i) => s + Math.abs(v - gt[i]), 0);
  const [a, b] = [box, gt].map(([cx, cy, bw, bh]) => [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2]);
  const inter =
    Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  const hull = (Math.max(a[2], b[2]) - Math.min(a[0], b[0])) * (Math.max(a[3], b[3]) - Math.min(a[1], b[1]));
  const iou = union > 0 ? inter / union : 0;
  const giou = hull > 0 ? iou - (hull - union) / hull : iou;
  return w.cls * cls + w.l1 * l1 - w.giou * giou;
}

const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * (1 + Math.abs(a) + Math.abs(b));

describe('toModelCxcywh / fromModelCxcywh (properties)', () => {
  it('image box → model cxcywh matches the stretch / letterbox formula written from the image size', () => {
    fc.assert(
      fc.property(frameArb, boxArb, (frame, b) => {
        const [W, H] = frame.input;
        const [w, h] = frame.image;
        const s = Math.min(W / w, H / h);
        const [sx, sy, ox, oy] =
          frame.resize === 'stretch' ? [W / w, H / h, 0, 0] : [s, s, (W - w * s) / 2, (H - h * s) / 2];
        const want = [
          (((b.x0 + b.x1) / 2) * sx + ox) / W,
          (((b.y0 + b.y1) / 2) * sy + oy) / H,
          ((b.x1 - b.x0) * sx) / W,
          ((b.y1 - b.y0) * sy) / H,
        ];
        toModelCxcywh(b, placed(frame)).forEach((v, i) => {
          expect(close(v, want[i])).toBe(true);
        });
      }),
      RUNS,
    );
  });

  it('the whole image: centred, and filling the input along at least one side (both when stretched)', () => {
    fc.assert(
      fc.property(frameArb, (frame) => {
        const [w, h] = frame.image;
        const [cx, cy, bw, bh] = toModelCxcywh({ x0: 0, y0: 0, x1: w, y1: h }, placed(frame));
        expect(close(cx, 0.5) && close(cy, 0.5)).toBe(true);
        expect(close(Math.max(bw, bh), 1)).toBe(true);
        if (frame.resize === 'stretch') expect(close(bw, 1) && close(bh, 1)).toBe(true);
        expect(Math.min(bw, bh)).toBeLessThanOrEqual(1 + 1e-12);
      }),
      RUNS,
    );
  });

  it('round trips: from ∘ to is the identity on image boxes, to ∘ from on model boxes', () => {
    const modelBox = fc.tuple(
      fc.double({ min: -1, max: 2, noNaN: true }),
      fc.double({ min: -1, max: 2, noNaN: true }),
      fc.double({ min: 0, max: 2, noNaN: true }),
      fc.double({ min: 0, max: 2, noNaN: true }),
    );
    fc.assert(
      fc.property(frameArb, boxArb, modelBox, (frame, b, m) => {
        const run = placed(frame);
        const back = fromModelCxcywh(toModelCxcywh(b, run), run);
        // Absolute tolerance in image pixels: the coordinates pass through input pixels and back.
        for (const k of ['x0', 'y0', 'x1', 'y1'] as const) expect(Math.abs(back[k] - b[k])).toBeLessThan(1e-9);
        const again = toModelCxcywh(fromModelCxcywh(m, run), run);
        again.forEach((v, i) => {
          expect(Math.abs(v - m[i])).toBeLessThan(1e-12);
        });
      }),
      RUNS,
    );
  });
});

describe('computeAssignment (properties)', () => {
  it('the generator makes contracts the validator accepts', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        expect(validateContract(c.contract)).toEqual([]);
      }),
      { numRuns: 30, seed: RUNS.seed },
    );
  });

  it('uses the block the mode asks for (one-to-one when the model has no one-to-many) and splits the ground truth by class', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = ok(computeAssignment(c.contract, c.run, c.gt, c.settings));
        const b = blockFor(c);
        expect(got.block).toBe(b.block);
        expect(got.trainedK).toBe(b.trainedK);
        expect(got.queries).toBe(c.run.outputs[`${b.prefix}.logits`].dims[1]);
        expect(got.objects).toEqual(c.gt.filter((g) => b.labels.includes(g.classId)));
        const left = c.gt.filter((g) => !b.labels.includes(g.classId));
        expect(got.skipped.count).toBe(left.length);
        expect([...got.skipped.classes].sort()).toEqual([...new Set(left.map((g) => g.classId))].sort());
      }),
      RUNS,
    );
  });

  it('pairs: distinct queries, each object at most once (K times one-to-many), as many pairs as can be made', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = ok(computeAssignment(c.contract, c.run, c.gt, c.settings));
        const { cap } = blockFor(c);
        const g = got.objects.length;
        const queries = got.pairs.map(([q]) => q);
        expect(new Set(queries).size).toBe(queries.length);
        for (const [q, j] of got.pairs) {
          expect(Number.isInteger(q) && q >= 0 && q < got.queries).toBe(true);
          expect(Number.isInteger(j) && j >= 0 && j < g).toBe(true);
        }
        for (let j = 0; j < g; j++) expect(got.pairs.filter(([, o]) => o === j).length).toBeLessThanOrEqual(cap);
        expect(got.pairs).toHaveLength(Math.min(got.queries, g * cap));
        expect(got.assigned).toBe(queries.length);
      }),
      RUNS,
    );
  });

  it('the assignment costs the brute-force minimum', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = ok(computeAssignment(c.contract, c.run, c.gt, c.settings));
        const g = got.objects.length;
        const total = got.pairs.reduce((s, [q, j]) => s + got.cost[q * g + j], 0);
        const best = bruteMin(got.cost, got.queries, g, blockFor(c).cap);
        expect(close(total, best)).toBe(true);
      }),
      RUNS,
    );
  });

  it('cost matrix: queries × objects, finite, each entry the written-out cost in the model frame', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = ok(computeAssignment(c.contract, c.run, c.gt, c.settings));
        const { prefix, labels } = blockFor(c);
        const logits = c.run.outputs[`${prefix}.logits`].data;
        const boxes = c.run.outputs[`${prefix}.boxes`].data;
        const g = got.objects.length;
        expect(got.cost).toHaveLength(got.queries * g);
        for (const v of got.cost) expect(Number.isFinite(v)).toBe(true);
        for (let q = 0; q < got.queries; q++)
          got.objects.forEach((o, j) => {
            const want = naiveCost(
              logits[q * labels.length + labels.indexOf(o.classId)],
              Array.from(boxes.subarray(q * 4, q * 4 + 4)),
              toModelCxcywh(o, c.run),
              c.settings.weights,
            );
            expect(close(got.cost[q * g + j], want, 1e-7)).toBe(true);
          });
      }),
      RUNS,
    );
  });

  it('predicted boxes: one per assigned query, its own box brought back to image pixels', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = ok(computeAssignment(c.contract, c.run, c.gt, c.settings));
        const boxes = c.run.outputs[`${blockFor(c).prefix}.boxes`].data;
        expect([...got.predicted.keys()].sort()).toEqual([...new Set(got.pairs.map(([q]) => q))].sort());
        for (const [q, b] of got.predicted) {
          const want = fromModelCxcywh(boxes.subarray(q * 4, q * 4 + 4), c.run);
          expect(b).toEqual(want);
          expect(b.x1 >= b.x0 && b.y1 >= b.y0).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('empty ground truth (or only classes the model lacks): no pairs, an empty matrix, never a throw', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom(5, 6), (c, missing) => {
        for (const gt of [[], c.gt.map((g) => ({ ...g, classId: missing }))]) {
          const got = ok(computeAssignment(c.contract, c.run, gt, c.settings));
          expect([got.pairs, got.cost.length, got.assigned, got.predicted.size]).toEqual([[], 0, 0, 0]);
          expect(got.skipped.count).toBe(gt.length);
        }
      }),
      RUNS,
    );
  });

  it('says why in words when the contract has no one-to-one block or the run lacks its outputs', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const noO2o = { ...c.contract, outputs: c.contract.outputs.filter((o) => o.block !== 'one_to_one') };
        // One-to-many alone still serves the o2m mode; the view lists only models with a one-to-one block.
        expect(computeAssignment(noO2o, c.run, c.gt, { ...c.settings, mode: 'o2o' })).toBe(
          'its contract declares no one-to-one query block',
        );
        const prefix = blockFor(c).prefix;
        const outputs = Object.fromEntries(Object.entries(c.run.outputs).filter(([k]) => k !== `${prefix}.boxes`));
        const lost = { ...c.run, outputs };
        expect(computeAssignment(c.contract, lost, c.gt, c.settings)).toBe('the run has no query outputs');
      }),
      RUNS,
    );
  });

  it('a run with zero queries: no pairs, never a throw', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const { prefix, labels } = blockFor(c);
        const empty = {
          ...c.run,
          outputs: {
            ...c.run.outputs,
            [`${prefix}.logits`]: { data: new Float32Array(0), dims: [1, 0, labels.length] },
            [`${prefix}.boxes`]: { data: new Float32Array(0), dims: [1, 0, 4] },
          },
        };
        const got = ok(computeAssignment(c.contract, empty, c.gt, c.settings));
        expect([got.queries, got.pairs, got.cost.length, got.assigned]).toEqual([0, [], 0, 0]);
      }),
      RUNS,
    );
  });
});

describe('the matchers computeAssignment calls (properties)', () => {
  // Small integer costs make ties everywhere, and empty sides are allowed: the cases a float matrix rarely hits.
  const matrixArb = fc
    .record({
      rows: fc.integer({ min: 0, max: 5 }),
      cols: fc.integer({ min: 0, max: 4 }),
      k: fc.integer({ min: 1, max: 3 }),
    })
    .chain((s) =>
      fc.record({
        s: fc.constant(s),
        cost: fc.array(fc.integer({ min: -3, max: 3 }), { minLength: s.rows * s.cols, maxLength: s.rows * s.cols }),
      }),
    );

  it('one-to-one and repeated-K matching: valid pairs, min(rows, cols·K) of them, at the brute-force minimum cost', () => {
    fc.assert(
      fc.property(matrixArb, ({ s, cost }) => {
        const m = Float64Array.from(cost);
        for (const [cap, pairs] of [
          [1, linearAssignment(m, s.rows, s.cols)],
          [s.k, matchRepeated(m, s.rows, s.cols, s.k)],
        ] as const) {
          expect(pairs).toHaveLength(Math.min(s.rows, s.cols * cap));
          expect(new Set(pairs.map(([q]) => q)).size).toBe(pairs.length);
          for (let j = 0; j < s.cols; j++) expect(pairs.filter(([, c]) => c === j).length).toBeLessThanOrEqual(cap);
          const total = pairs.reduce((a, [q, j]) => a + m[q * s.cols + j], 0);
          expect(total).toBe(bruteMin(m, s.rows, s.cols, cap));
        }
      }),
      RUNS,
    );
  });
});
