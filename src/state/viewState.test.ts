import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW, decodeView, encodeView } from './viewState';

describe('view state ⇄ URL fragment', () => {
  it('round-trips', () => {
    const v = { models: ['detr-teacher', 'detr-student-ks'], sample: 'factory-test-003.png', threshold: 0.35, opacity: 0.8,
      backend: 'wasm' as const, layer: 2, mass: 0.45, score: 0.6 };
    expect(decodeView(encodeView(v))).toEqual({ view: v, problems: [] });
  });
  it('an empty fragment is the default view', () => {
    expect(decodeView('')).toEqual({ view: DEFAULT_VIEW, problems: [] });
  });
  it('keeps what is usable in a bad link and names what is not', () => {
    const { view, problems } = decodeView('#m=seg-teacher,<script>&t=7&o=0.2&b=cuda');
    expect(view.models).toEqual(DEFAULT_VIEW.models);
    expect(view.threshold).toBe(DEFAULT_VIEW.threshold);
    expect(view.opacity).toBe(0.2);
    expect(view.backend).toBe('auto');
    expect(problems).toHaveLength(3);
    expect(problems[1]).toMatch(/threshold "7" is not a number between 0 and 1/);
  });
});
