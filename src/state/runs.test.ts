import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evictions } from './runs';

describe('run cache eviction', () => {
  it('drops the oldest unpinned runs until the rest fit', () => {
    const runs = { a: { bytes: 40 }, b: { bytes: 40 }, c: { bytes: 40 } };
    expect(evictions(runs, 100, () => false)).toEqual(['a']);
    expect(evictions(runs, 100, (k) => k === 'a')).toEqual(['b']);
    expect(evictions(runs, 120, () => false)).toEqual([]);
    expect(evictions(runs, 10, (k) => k !== 'c')).toEqual(['c']);
  });
  it('never evicts a pinned run, and what stays fits unless pinned runs alone exceed the budget', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ bytes: fc.nat(1000), pin: fc.boolean() }), { maxLength: 30 }),
        fc.nat(5000),
        (list, budget) => {
          const runs = Object.fromEntries(list.map((r, i) => [`k${i}`, r]));
          const out = new Set(evictions(runs, budget, (k) => runs[k].pin));
          const kept = Object.entries(runs).filter(([k]) => !out.has(k));
          const keptBytes = kept.reduce((a, [, r]) => a + r.bytes, 0);
          const pinnedBytes = list.filter((r) => r.pin).reduce((a, r) => a + r.bytes, 0);
          expect([...out].every((k) => !runs[k].pin)).toBe(true);
          expect(
            keptBytes <= budget || keptBytes === pinnedBytes || kept.every(([, r]) => r.pin || r.bytes === 0),
          ).toBe(true);
        },
      ),
    );
  });
});
