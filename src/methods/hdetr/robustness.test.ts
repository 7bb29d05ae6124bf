/** The H-DETR view model on broken detectors: NaN/Inf queries, classes the ground truth names differently. */
import { describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import type { GtObject } from '../../analysis/groundTruth';
import type { Contract, ContractOutput } from '../../contract';
import { plainInput } from '../../contract/testContracts';
import type { Run } from '../../state/runs';
import { computeAssignment, idRanges } from './compute';

const Q = 6;
function detector(labels: number[], names: string[]): Contract {
  return {
    format: 'attnlens-contract',
    version: '1.3',
    model: { id: 'det', name: 'det', task: 'detection', role: 'student', family: 'detr' },
    input: plainInput(100, 100, 'stretch'),
    classes: names.map((name, id) => ({ id, name, color: '#00ff00' })),
    outputs: [
      {
        name: 'l',
        role: 'box_logits',
        shape: [1, Q, labels.length],
        block: 'one_to_one',
        labels,
        activation: 'sigmoid',
      },
      { name: 'b', role: 'boxes', shape: [1, Q, 4], block: 'one_to_one', box_format: 'cxcywh_normalized' },
    ] as ContractOutput[],
  };
}
function run(c: Contract, boxes: number[][], logits?: Float32Array): Run {
  const cols = c.outputs[0].shape[2];
  return {
    modelId: 'det',
    imageId: 'i',
    outputs: {
      l: { data: logits ?? new Float32Array(Q * cols), dims: [1, Q, cols] },
      b: { data: Float32Array.from(boxes.flat()), dims: [1, Q, 4] },
    },
    milliseconds: 0,
    width: 100,
    height: 100,
    placement: placement(100, 100, { shape: [1, 3, 100, 100], layout: 'NCHW', resize: 'stretch' }),
    bytes: 0,
  };
}
const settings = { mode: 'o2o' as const, k: 3, weights: { cls: 2, l1: 5, giou: 2 } };
const gt: GtObject[] = [
  { classId: 1, x0: 10, y0: 10, x1: 30, y1: 30 },
  { classId: 2, x0: 60, y0: 60, x1: 80, y1: 80 },
];
const good = [
  [0.2, 0.2, 0.2, 0.2],
  [0.7, 0.7, 0.2, 0.2],
  [0.5, 0.5, 0.1, 0.1],
  [0.1, 0.9, 0.1, 0.1],
  [0.9, 0.1, 0.1, 0.1],
  [0.4, 0.4, 0.3, 0.3],
];
const names = (id: number) => ({ 1: 'bolt', 2: 'nut', 7: 'foo' })[id];

describe('computeAssignment on broken detectors', () => {
  it('NaN and infinite boxes: the finite queries take the objects, the others are named, nothing loops', () => {
    const c = detector([1, 2], ['background', 'bolt', 'nut']);
    const boxes = good.map((b, q) => (q === 0 ? [NaN, NaN, NaN, NaN] : q === 1 ? [Infinity, 0.5, 0.1, 0.1] : b));
    const r = computeAssignment(c, run(c, boxes), gt, settings, names);
    if (typeof r === 'string') throw new Error(r);
    expect(r.pairs).toHaveLength(2);
    for (const [q] of r.pairs) expect([0, 1]).not.toContain(q);
    expect(r.notes).toEqual([
      'queries 0–1 of the one-to-one block have NaN or infinite scores or boxes: their costs are replaced by a penalty above every finite cost, so they are assigned only when no finite query is left',
    ]);
  });
  it('every query NaN: refused in words', () => {
    const c = detector([1, 2], ['background', 'bolt', 'nut']);
    const r = computeAssignment(
      c,
      run(
        c,
        good.map(() => [NaN, NaN, NaN, NaN]),
      ),
      gt,
      settings,
      names,
    );
    expect(r).toBe(
      'every query of its one-to-one block has NaN or infinite scores or boxes: there is no assignment to show',
    );
  });
  it('NaN scores in one query: named; a query with no finite box is assigned but has no box to draw', () => {
    const c = detector([1, 2], ['background', 'bolt', 'nut']);
    const logits = new Float32Array(Q * 2);
    logits.fill(NaN, 0, 2);
    const r = computeAssignment(c, run(c, good, logits), gt, settings, names);
    if (typeof r === 'string') throw new Error(r);
    expect(r.notes[0]).toMatch(/^query 0 of the one-to-one block has NaN or infinite scores or boxes: its costs/);
    expect(r.pairs.map(([q]) => q)).not.toContain(0);
  });
  it("classes the model lacks are named with the ground truth's names and left out; different names are said", () => {
    const c = detector([0, 1, 2], ['cat', 'dog', 'bird']);
    const objects: GtObject[] = [
      ...gt,
      { classId: 7, x0: 1, y0: 1, x1: 5, y1: 5 },
      { classId: 7, x0: 2, y0: 2, x1: 9, y1: 9 },
    ];
    const r = computeAssignment(c, run(c, good), objects, settings, names);
    if (typeof r === 'string') throw new Error(r);
    expect(r.objects).toHaveLength(2);
    expect(r.skipped).toEqual({ count: 2, classes: [7] });
    expect(r.notes).toEqual([
      "ground-truth class 7 'foo' is not among the model's classes 0–2: those objects are left out of the assignment",
      "ground-truth class 1 'bolt' is the model's class 1 'dog': matched by id, the names differ",
      "ground-truth class 2 'nut' is the model's class 2 'bird': matched by id, the names differ",
    ]);
    for (const v of r.cost) expect(Number.isFinite(v)).toBe(true);
  });
  it('a label past the logit columns is left out, not read as NaN', () => {
    const c = detector([1, 2], ['background', 'bolt', 'nut']);
    const bad = run(c, good, new Float32Array(Q)); // one column for two labels
    bad.outputs.l.dims = [1, Q, 1];
    const r = computeAssignment(c, bad, gt, settings, names);
    if (typeof r === 'string') throw new Error(r);
    expect(r.objects.map((o) => o.classId)).toEqual([1]);
    expect(r.notes[0]).toBe(
      "ground-truth class 2 'nut' is not among the model's classes 1: that object is left out of the assignment",
    );
  });
  it('an assignment too large for the page is refused in words', () => {
    const c = detector([1], ['background', 'bolt']);
    const many: GtObject[] = Array.from({ length: 100_000 }, () => ({ classId: 1, x0: 0, y0: 0, x1: 1, y1: 1 }));
    const big = run(c, good);
    big.outputs.l.dims = [1, 600, 1];
    big.outputs.l.data = new Float32Array(600);
    big.outputs.b.dims = [1, 600, 4];
    big.outputs.b.data = new Float32Array(2400).fill(0.5);
    expect(computeAssignment(c, big, many, settings, names)).toBe(
      '600 queries × 100,000 objects is too large an assignment to solve in the page',
    );
  });
  it('writes class ids as ranges', () => {
    expect(idRanges([0, 1, 2])).toBe('0–2');
    expect(idRanges([5, 1, 3, 4])).toBe('1, 3–5');
    expect(idRanges([])).toBe('');
  });
});
