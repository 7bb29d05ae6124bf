import { describe, expect, it } from 'vitest';
import type { ResultsDocument } from './results';
import { filterRows, meanLatency, sortRows, summaryText, tableOf, worstAgreement } from './table';

const doc = {
  reference: 't',
  models: [
    { id: 't', role: 'teacher', task: 'detection', contract_sha256: '0'.repeat(64) },
    { id: 'a', role: 'student', task: 'detection', contract_sha256: '1'.repeat(64) },
    { id: 'b', role: 'student', task: 'detection', contract_sha256: '2'.repeat(64) },
  ],
  images: ['x.png', 'y.png', 'z.png', 'w.png'].map((name, i) => ({ id: `${i}`.repeat(16), name, width: 4, height: 4 })),
  rows: [
    // x: a 0.9, b 0.2 (worst 0.2); y: a 0.5, b nothing; z: a and b nothing; w: b 0.4, a failed
    ...[
      ['0', 'a', 0.9],
      ['0', 'b', 0.2],
      ['1', 'a', 0.5],
      ['1', 'b', null],
      ['2', 'a', null],
      ['2', 'b', null],
      ['3', 'b', 0.4],
    ].map(([i, model, value]) => ({
      image: String(i).repeat(16),
      model: model as string,
      latency_ms: 10,
      vs_reference: { against: 't', metric: 'box_f1' as const, value: value as number | null },
    })),
    { image: '3'.repeat(16), model: 'a', latency_ms: null, error: 'a did not run on w.png' },
    {
      image: '0'.repeat(16),
      model: 't',
      latency_ms: 30,
      vs_truth: { against: 'ground truth', metric: 'box_f1' as const, value: 0.7 },
    },
  ],
} as unknown as ResultsDocument;

describe('the Evaluate table', () => {
  const { columns, rows } = tableOf(doc);
  it('one column per comparison, reference columns first; one row per image', () => {
    expect(columns.map((c) => c.key)).toEqual(['a vs t', 'b vs t', 't vs ground truth']);
    expect(rows.map((r) => r.image.name)).toEqual(['x.png', 'y.png', 'z.png', 'w.png']);
    expect(rows[3].errors).toEqual(['a did not run on w.png']);
    expect(rows[3].values['a vs t']).toBeUndefined();
    expect(rows[2].values['a vs t']).toBeNull();
  });
  it('worst agreement: the lowest number of any student against the reference', () => {
    expect(rows.map((r) => worstAgreement(r, columns, 't'))).toEqual([0.2, 0.5, null, 0.4]);
  });
  it('sorts with images without a number last in either direction', () => {
    const names = (key: string, desc: boolean) => sortRows(rows, key, desc, columns, 't').map((r) => r.image.name);
    expect(names('worst', false)).toEqual(['x.png', 'w.png', 'y.png', 'z.png']);
    expect(names('worst', true)).toEqual(['y.png', 'w.png', 'x.png', 'z.png']);
    expect(names('a vs t', false)).toEqual(['y.png', 'x.png', 'w.png', 'z.png']);
    expect(names('name', true)).toEqual(['z.png', 'y.png', 'x.png', 'w.png']);
  });
  it('filters by name, case-insensitive', () => {
    expect(filterRows(rows, ' X.P ').map((r) => r.image.name)).toEqual(['x.png']);
    expect(filterRows(rows, '')).toHaveLength(4);
  });
  it('summary text and mean latency', () => {
    expect(summaryText({ model: 'a', against: 't', metric: 'box_f1', n: 3, mean: 0.43, ci: [0.382, 0.479] })).toBe(
      '43.0 % [38.2, 47.9] over 3 images',
    );
    expect(summaryText({ model: 'a', against: 't', metric: 'box_f1', n: 0, mean: null, ci: null })).toBe(
      'no image had anything to compare (n = 0)',
    );
    expect(meanLatency(doc)).toEqual({ t: 30, a: 10, b: 10 });
  });
});
