/**
 * Properties of the SAK view model over random valid student contracts (0–3 adapter paths, with or without a
 * router), teachers in or out of the view, runs present or not, teacher outputs as tokens [1, n, C] or maps
 * [1, C, h, w], matching or not. Cosines are checked against a per-location formula that reads the raw layouts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import { type Contract, type ContractOutput, validateContract } from '../../contract';
import { plainInput, testContract } from '../../contract/testContracts';
import type { TensorPayload } from '../../inference/protocol';
import type { Run } from '../../state/runs';
import type { ModelInView } from '../types';
import { channelMajor, computeSak, routerCollapse, type SakModel } from './compute';

const RUNS = { numRuns: 100, seed: 1618 };
const TEACHERS = ['t0', 't1', 't2'];
const STRIDE = 4;

const dims = (max: number) => fc.tuple(fc.integer({ min: 1, max }), fc.integer({ min: 1, max }));

function contractOf(
  id: string,
  role: 'teacher' | 'student',
  grid: [number, number],
  outputs: ContractOutput[],
): Contract {
  return testContract({
    model: { id, name: id, task: 'features', role, family: 'sak' },
    input: plainInput(grid[0] * STRIDE, grid[1] * STRIDE, 'letterbox'),
    classes: [{ id: 0, name: 'thing', color: '#abcdef' }],
    outputs: [{ name: 'logits', role: 'class_logits', shape: [1, 1], labels: [0] }, ...outputs],
  });
}

const values = (n: number) =>
  fc.oneof(
    fc.constant(new Float32Array(n)),
    fc.float32Array({ minLength: n, maxLength: n, min: -3, max: 3, noNaN: true }),
    fc.float32Array({ minLength: n, maxLength: n, noNaN: true, noDefaultInfinity: true }), // any finite float32
  );

interface TeacherPlan {
  id: string;
  inView: boolean;
  ran: boolean;
  hasOutput: boolean;
  layout: 'tokens' | 'map';
  /** Extra channels / locations: 0 for a match, else a mismatch. */
  dc: number;
  dn: number;
  /** The teacher's output is the student's path scaled by this (parallel), when set. */
  copy: number | null;
  /** The student's run lacks its path to this teacher. */
  lost: boolean;
}

interface Case {
  models: ModelInView[];
  runs: Record<string, Run>;
  grid: [number, number];
  adapters: { teacher: string; channels: number }[];
  plans: TeacherPlan[];
}

/** Mostly true: a cosine map needs the teacher in view, both runs and matching outputs. */
const often = fc.integer({ min: 0, max: 4 }).map((v) => v > 0);

const planArb = (id: string): fc.Arbitrary<TeacherPlan> =>
  fc.record({
    id: fc.constant(id),
    inView: often,
    ran: often,
    hasOutput: often,
    layout: fc.constantFrom('tokens' as const, 'map' as const),
    dc: fc.constantFrom(0, 0, 0, 0, 0, 1),
    dn: fc.constantFrom(0, 0, 0, 0, 0, 1),
    copy: fc.option(fc.double({ min: 0.01, max: 100, noNaN: true }), { nil: null }),
    lost: fc.integer({ min: 0, max: 4 }).map((v) => v === 0),
  });

const caseArb: fc.Arbitrary<Case> = fc
  .record({
    grid: dims(3),
    adapters: fc
      .oneof(
        { arbitrary: fc.constant([]), weight: 1 },
        { arbitrary: fc.shuffledSubarray(TEACHERS, { minLength: 1 }), weight: 4 },
      )
      .chain((ts) =>
        fc.tuple(
          ...ts.map((teacher) =>
            fc.record({ teacher: fc.constant(teacher), channels: fc.integer({ min: 1, max: 4 }) }),
          ),
        ),
      ),
    router: fc.boolean(),
    studentInView: fc.integer({ min: 0, max: 9 }).map((v) => v > 0),
    studentRan: fc.integer({ min: 0, max: 9 }).map((v) => v > 0),
    routerRan: fc.boolean(),
    plans: fc.tuple(...TEACHERS.map(planArb)),
  })
  .chain((s) => {
    const [gh, gw] = s.grid;
    const n = gh * gw;
    const student: ContractOutput[] = s.adapters.map((a) => ({
      name: `sak.${a.teacher}`,
      role: 'adapter_features',
      shape: [1, a.channels, gh, gw],
      teacher: a.teacher,
      teacher_output: 'tokens',
      stride: STRIDE,
      upsample: 'bilinear_align_corners',
    }));
    const paths = ['stem', ...s.adapters.map((a) => a.teacher)];
    if (s.router) student.push({ name: 'router', role: 'router_weights', shape: [1, paths.length], paths });
    const teacherDims = s.plans.map((p) => {
      const c = (s.adapters.find((a) => a.teacher === p.id)?.channels ?? 2) + p.dc;
      return p.layout === 'tokens' ? [1, n + p.dn, c] : [1, c, gh + p.dn, gw];
    });
    return fc.record({
      s: fc.constant(s),
      student: fc.constant(student),
      adapterData: fc.tuple(...student.map((o) => values(o.shape.reduce((a, b) => a * b, 1)))),
      teacherData: fc.tuple(...teacherDims.map((d) => values(d.reduce((a, b) => a * b, 1)))),
      teacherDims: fc.constant(teacherDims),
    });
  })
  .map(({ s, student, adapterData, teacherData, teacherDims }): Case => {
    const run = (id: string, outputs: Record<string, TensorPayload>): Run => ({
      modelId: id,
      imageId: 'img',
      outputs,
      milliseconds: 0,
      width: 30,
      height: 20,
      placement: placement(30, 20, {
        shape: [1, 3, s.grid[0] * STRIDE, s.grid[1] * STRIDE],
        layout: 'NCHW',
        resize: 'letterbox',
      }),
      bytes: 0,
    });
    const studentContract = contractOf('student', 'student', s.grid, student);
    const models: ModelInView[] = [];
    const runs: Record<string, Run> = {};
    const outs: Record<string, TensorPayload> = {};
    student.forEach((o, i) => {
      if (o.role === 'router_weights' ? !s.routerRan : s.plans.find((p) => p.id === o.teacher)!.lost) return;
      outs[o.name] = { data: adapterData[i], dims: o.shape };
    });
    if (s.studentInView) models.push({ id: 'student', contract: studentContract });
    if (s.studentRan) runs.student = run('student', outs);
    s.plans.forEach((p, i) => {
      const tokens: ContractOutput = {
        name: 'tokens',
        role: 'token_features',
        shape: [1, s.grid[0] * s.grid[1], 8],
        grid: s.grid,
        patch: STRIDE,
        layout: 'batch,token,channel',
      };
      if (p.inView) models.push({ id: p.id, contract: contractOf(p.id, 'teacher', s.grid, [tokens]) });
      let data = teacherData[i];
      const mine = outs[`sak.${p.id}`];
      // A parallel copy: the student's channel-major path, scaled, laid out as the teacher's output.
      if (p.copy !== null && mine && p.dc === 0 && p.dn === 0) {
        const [c, n] = [mine.dims[1], mine.data.length / mine.dims[1]];
        const copy = new Float32Array(mine.data.length);
        for (let ch = 0; ch < c; ch++)
          for (let k = 0; k < n; k++)
            copy[p.layout === 'tokens' ? k * c + ch : ch * n + k] = Math.fround(mine.data[ch * n + k] * p.copy);
        if (copy.every(Number.isFinite)) data = copy; // a model never outputs ∞
      }
      if (p.ran) runs[p.id] = run(p.id, p.hasOutput ? { tokens: { data, dims: teacherDims[i] } } : {});
    });
    return { models, runs, grid: s.grid, adapters: s.adapters, plans: s.plans };
  });

const ok = (r: SakModel | string): SakModel => {
  if (typeof r === 'string') throw new Error(`expected a model, got '${r}'`);
  return r;
};

/** Cosine at each location of the student's [C, n] map against the teacher's raw tensor, in float64. */
function naiveCosines(mine: TensorPayload, teacher: TensorPayload): number[] {
  const c = mine.dims[1];
  const n = mine.data.length / c;
  const t = (ch: number, k: number) =>
    teacher.dims.length === 3 ? teacher.data[k * c + ch] : teacher.data[ch * n + k];
  return Array.from({ length: n }, (_, k) => {
    let dot = 0;
    let a = 0;
    let b = 0;
    for (let ch = 0; ch < c; ch++) {
      dot += mine.data[ch * n + k] * t(ch, k);
      a += mine.data[ch * n + k] ** 2;
      b += t(ch, k) ** 2;
    }
    return a > 0 && b > 0 ? dot / Math.sqrt(a * b) : 0;
  });
}

describe('channelMajor (properties)', () => {
  it('tokens [1, n, C] → [C, n] transposed, maps [1, C, h, w] as they are; channels from the layout', () => {
    const arb = fc
      .record({ n: fc.integer({ min: 1, max: 6 }), c: fc.integer({ min: 1, max: 5 }), tokens: fc.boolean() })
      .chain((s) => fc.record({ s: fc.constant(s), data: values(s.n * s.c) }));
    fc.assert(
      fc.property(arb, ({ s, data }) => {
        const t = { data, dims: s.tokens ? [1, s.n, s.c] : [1, s.c, s.n, 1] };
        const got = channelMajor(t);
        expect(got.channels).toBe(s.c);
        expect(got.data).toHaveLength(data.length);
        for (let ch = 0; ch < s.c; ch++)
          for (let k = 0; k < s.n; k++)
            expect(Object.is(got.data[ch * s.n + k], s.tokens ? data[k * s.c + ch] : data[ch * s.n + k])).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('computeSak (properties)', () => {
  it('the generator makes contracts the validator accepts', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        for (const m of c.models) expect(validateContract(m.contract)).toEqual([]);
      }),
      { numRuns: 30, seed: RUNS.seed },
    );
  });

  it('says why in words without a student in view or its run, never throws', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = computeSak(c.models, c.runs);
        const student = c.models.find((m) => m.id === 'student' && c.adapters.length);
        if (!student) expect(got).toBe('no SAK student in view');
        else if (!c.runs.student) expect(got).toBe('waiting for student to run');
        else expect(ok(got).student).toBe('student');
        expect(computeSak([], c.runs)).toBe('no SAK student in view');
      }),
      RUNS,
    );
  });

  it('one card per adapter path, in order, missing for the reason the view and runs give', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = computeSak(c.models, c.runs);
        if (typeof got === 'string') return;
        expect(got.teachers.map((t) => [t.teacher, t.output])).toEqual(c.adapters.map((a) => [a.teacher, 'tokens']));
        got.teachers.forEach((card, i) => {
          const p = c.plans.find((q) => q.id === c.adapters[i].teacher)!;
          const mine = c.runs.student.outputs[`sak.${p.id}`];
          const t = c.runs[p.id]?.outputs.tokens;
          if (!p.inView) expect(card).toMatchObject({ missing: `${p.id} is not in the view: add it to compare` });
          else if (!c.runs[p.id]) expect(card).toMatchObject({ missing: `waiting for ${p.id} to run` });
          else if (!t) expect(card).toMatchObject({ missing: `${p.id}'s run has no tokens output` });
          else if (!mine) expect(card).toMatchObject({ missing: `student's run has no sak.${p.id} output` });
          else if (p.dc || p.dn) expect('missing' in card && card.missing).toMatch(/does not match the adapter path/);
          else expect('cosine' in card).toBe(true);
        });
      }),
      RUNS,
    );
  });

  it('cosine map: h×w, every value in [-1, 1] and the naive per-location cosine; mean their average', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = computeSak(c.models, c.runs);
        if (typeof got === 'string') return;
        for (const card of got.teachers) {
          if (!('cosine' in card)) continue;
          const mine = c.runs.student.outputs[`sak.${card.teacher}`];
          const want = naiveCosines(mine, c.runs[card.teacher].outputs.tokens);
          expect(card.grid).toEqual(c.grid);
          expect(card.cosine).toHaveLength(c.grid[0] * c.grid[1]);
          card.cosine.forEach((v, k) => {
            expect(v).toBeGreaterThanOrEqual(-1);
            expect(v).toBeLessThanOrEqual(1);
            expect(v).toBeCloseTo(want[k], 6);
          });
          expect(Number.isFinite(card.mean)).toBe(true);
          expect(card.mean).toBeCloseTo(card.cosine.reduce((a, b) => a + b, 0) / card.cosine.length, 9);
        }
      }),
      RUNS,
    );
  });

  it('a teacher output that is a positive multiple of the path: cosine 1 wherever the path is not zero', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = computeSak(c.models, c.runs);
        if (typeof got === 'string') return;
        for (const card of got.teachers) {
          const p = c.plans.find((q) => q.id === card.teacher)!;
          if (!('cosine' in card) || p.copy === null) continue;
          const t = c.runs[card.teacher].outputs.tokens.data;
          const mine = c.runs.student.outputs[`sak.${card.teacher}`];
          const n = card.cosine.length;
          const ch = mine.dims[1];
          card.cosine.forEach((v, k) => {
            // Judged where the teacher holds the copy (an overflowing one was not made) and float32 kept the multiple.
            const a = Array.from({ length: ch }, (_, i) => mine.data[i * n + k]);
            const b = Array.from({ length: ch }, (_, i) => (p.layout === 'tokens' ? t[k * ch + i] : t[i * n + k]));
            const clean = a.every(
              (x, i) => b[i] === Math.fround(x * p.copy!) && Math.abs(x) < 1e15 && (x === 0 || Math.abs(x) > 1e-15),
            );
            if (clean && a.some((x) => x !== 0)) expect(v).toBeCloseTo(1, 5);
          });
        }
      }),
      RUNS,
    );
  });

  it('router: its paths with their weights in order, null without a router output in the run', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const got = computeSak(c.models, c.runs);
        if (typeof got === 'string') return;
        const w = c.runs.student.outputs.router;
        if (!w) {
          expect(got.router).toBeNull();
          return;
        }
        expect(got.router).toEqual(
          ['stem', ...c.adapters.map((a) => a.teacher)].map((path, i) => ({ path, weight: w.data[i] })),
        );
      }),
      RUNS,
    );
  });

  it('router collapse: one path at ≥ 95 % of the weight (the first zoo student: 0.9993 to seg-teacher), else null', () => {
    const r = (...w: number[]) => w.map((weight, i) => ({ path: ['stem', 'seg-teacher', 'vit-attn'][i], weight }));
    const near = (path: string, share: number) => ({ path, share: expect.closeTo(share, 12) });
    expect(routerCollapse(r(0.0004, 0.9993, 0.0002))).toEqual(near('seg-teacher', 0.9993 / 0.9999));
    expect(routerCollapse(r(0.05, 0.95, 0))).toEqual(near('seg-teacher', 0.95));
    expect(routerCollapse(r(0.2, 0.5, 0.3))).toBeNull();
    expect(routerCollapse(r(0.06, 0.94, 0))).toBeNull();
    // unnormalised weights are shares of their sum; zero or NaN weights say nothing
    expect(routerCollapse(r(0, 0, 4))).toEqual({ path: 'vit-attn', share: 1 });
    expect(routerCollapse(r(0, 0, 0))).toBeNull();
    expect(routerCollapse(r(Number.NaN, 1, 0))).toBeNull();
  });

  it('all-zero features: every cosine 0 and mean 0, no NaN', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const zero = (r: Run): Run => ({
          ...r,
          outputs: Object.fromEntries(
            Object.entries(r.outputs).map(([k, t]) => [k, { dims: t.dims, data: new Float32Array(t.data.length) }]),
          ),
        });
        const runs = Object.fromEntries(Object.entries(c.runs).map(([id, r]) => [id, zero(r)]));
        const got = computeSak(c.models, runs);
        if (typeof got === 'string') return;
        for (const card of got.teachers) {
          if (!('cosine' in card)) continue;
          expect(card.cosine.every((v) => v === 0)).toBe(true);
          expect(card.mean).toBe(0);
        }
      }),
      RUNS,
    );
  });
});
