import { describe, expect, it } from 'vitest';
import type { Contract } from '../contract';
import { computeAgreements } from './agreement';
import type { TaskResult } from './task';

const placement = { inputWidth: 2, inputHeight: 2, offsetX: 0, offsetY: 0, scaleX: 1, scaleY: 1 };
const contract = (id: string, role: 'teacher' | 'student') =>
  ({ model: { id, role }, classes: [{ id: 0 }, { id: 1 }] }) as unknown as Contract;
const seg = (map: number[]): TaskResult => ({
  kind: 'segmentation',
  classMap: Uint8Array.from(map),
  width: 2,
  height: 2,
  placement,
});
const det = (n: number): TaskResult => ({
  kind: 'detection',
  threshold: 0.3,
  thresholdFrom: 'contract',
  detections: Array.from({ length: n }, (_, i) => ({
    x0: 10 * i,
    y0: 0,
    x1: 10 * i + 5,
    y1: 5,
    score: 0.9,
    classId: 1,
    query: i,
  })),
});

describe('agreement under the panes', () => {
  it('compares every student with the teacher, whatever the order', () => {
    const rows = computeAgreements(
      [
        { id: 's1', contract: contract('s1', 'student'), result: seg([0, 1, 1, 0]) },
        { id: 't', contract: contract('t', 'teacher'), result: seg([0, 1, 0, 0]) },
        { id: 's2', contract: contract('s2', 'student'), result: seg([0, 1, 0, 0]) },
      ],
      2,
      2,
      null,
    );
    expect(rows.map((r) => [r.model, r.against])).toEqual([
      ['s1', 't'],
      ['s2', 't'],
    ]);
    expect(rows[1].value).toBe(1); // hand-computed: identical maps
    expect(rows[0].value).toBeCloseTo((2 / 3 + 1 / 2) / 2); // background 2/3, class 1 1/2
  });
  it('never reports 100 % when there is nothing to compare', () => {
    const masks = computeAgreements(
      [
        { id: 't', contract: contract('t', 'teacher'), result: seg([0, 0, 0, 0]) },
        { id: 's', contract: contract('s', 'student'), result: seg([0, 0, 0, 0]) },
      ],
      2,
      2,
      null,
    );
    expect(masks[0].value).toBeNull();
    expect(masks[0].text).toMatch(/nothing to compare/);
    const boxes = computeAgreements(
      [
        { id: 't', contract: contract('t', 'teacher'), result: det(0) },
        { id: 's', contract: contract('s', 'student'), result: det(0) },
      ],
      100,
      100,
      { label: 'ground truth', objects: [] },
    );
    expect(boxes.every((r) => r.value === null)).toBe(true);
    const missed = computeAgreements(
      [
        { id: 't', contract: contract('t', 'teacher'), result: det(2) },
        { id: 's', contract: contract('s', 'student'), result: det(0) },
      ],
      100,
      100,
      null,
    );
    expect(missed[0].value).toBe(0);
    expect(missed[0].text).toMatch(/0 of 0 boxes matched, 2 in t/);
  });
});
