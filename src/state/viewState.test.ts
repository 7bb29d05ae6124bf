import { describe, expect, it } from 'vitest';
import { DEFAULT_VIEW, decodeView, encodeView, type ViewState } from './viewState';

describe('view state ⇄ URL fragment', () => {
  it('round-trips', () => {
    const v: ViewState = { models: ['detr-teacher', 'detr-student-ks'], sample: 'factory-test-003.png', threshold: 0.35, opacity: 0.8,
      backend: 'wasm' as const, layer: 2, mass: 0.45, score: 0.6, vitMap: 'rollout', rolloutIdentity: false, hmode: 'o2m', k: 5, weights: { cls: 1, l1: 2.5, giou: 0 },
      selection: { model: 'detr-student-ks', block: 'one_to_many', query: 17 }, ksSource: 'point', point: [12.5, 140] };
    expect(decodeView(encodeView(v))).toEqual({ view: v, problems: [] });
  });
  it('round-trips a one-to-one selection and leaves defaults out of the link', () => {
    const v: ViewState = { ...DEFAULT_VIEW, selection: { model: 'detr-teacher', block: 'one_to_one', query: 0 }, ksSource: 'query' };
    const hash = encodeView(v);
    expect(hash).toContain('q=detr-teacher%3Ao2o%3A0');
    expect(hash).not.toMatch(/[#&](hm|k|w|pt)=/);
    expect(decodeView(hash)).toEqual({ view: v, problems: [] });
  });
  it('decodes bad H-DETR, selection and KS values to the defaults, naming each', () => {
    const bad = ['hm=o2x', 'k=0', 'k=7', 'k=2.5', 'w=1,2', 'w=1,-2,3', 'w=1,,3', 'w=a,b,c', 'w=1e9,1,1', 'q=detr-teacher:o2o', 'q=Bad:o2o:1',
      'q=detr-teacher:o2m:-1', 'q=detr-teacher:o2o:1.5', 'ks=rows', 'pt=1', 'pt=1,x', 'pt=-3,4'];
    for (const part of bad) {
      const { view, problems } = decodeView(`#${part}`);
      expect(view, part).toEqual(DEFAULT_VIEW);
      expect(problems, part).toHaveLength(1);
    }
    const { view, problems } = decodeView('#hm=o2m&k=9&w=3,4,5&q=%3Cscript%3E');
    expect(view).toMatchObject({ hmode: 'o2m', k: 3, weights: { cls: 3, l1: 4, giou: 5 }, selection: null });
    expect(problems.map((p) => p.split(' "')[0])).toEqual(["the link's K", "the link's selected query"]);
  });
  it('carries the ViT map choice and refuses unknown ones', () => {
    expect(encodeView(DEFAULT_VIEW)).not.toMatch(/[#&](vm|ri)=/);
    expect(decodeView('#vm=rollout&ri=0').view).toMatchObject({ vitMap: 'rollout', rolloutIdentity: false });
    for (const part of ['vm=rollup', 'ri=yes']) {
      const { view, problems } = decodeView(`#${part}`);
      expect(view, part).toEqual(DEFAULT_VIEW);
      expect(problems, part).toHaveLength(1);
    }
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
