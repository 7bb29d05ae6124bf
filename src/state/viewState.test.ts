import { describe, expect, it } from 'vitest';
import { METHODS } from '../methods/registry';
import { DEFAULT_VIEW, decodeView, encodeView, type ViewState } from './viewState';

const withMethods = (patch: Partial<ViewState['methods']>): ViewState['methods'] => ({
  ...DEFAULT_VIEW.methods,
  ...patch,
});

describe('view state ⇄ URL fragment', () => {
  it('round-trips', () => {
    const v: ViewState = {
      models: ['detr-teacher', 'detr-student-ks'],
      image: { sample: 'factory-test-003.png' },
      threshold: 0.35,
      opacity: 0.8,
      backend: 'wasm',
      selection: { model: 'detr-student-ks', block: 'one_to_many', query: 17 },
      methods: {
        vit: { layer: 2, mass: 0.45, score: 0.6, map: 'rollout', identity: false },
        hdetr: { mode: 'o2m', k: 5, weights: { cls: 1, l1: 2.5, giou: 0 } },
        ks: { source: 'point', point: [12.5, 140] },
        saliency: {
          method: 'occlusion',
          masks: 200,
          cells: 6,
          keep: 0.4,
          seed: 7,
          patch: 25,
          stride: 10,
          fill: 'blur',
          steps: 8,
          classId: 3,
          measure: 'area',
          outlines: false,
        },
      },
    };
    expect(decodeView(encodeView(v))).toEqual({ view: v, problems: [], extras: {}, payload: null });
  });
  it('carries a user image by content hash and name, and an unset threshold as absent', () => {
    const v: ViewState = { ...DEFAULT_VIEW, image: { hash: '0123456789abcdef', name: 'line 3 (copy).jpg' } };
    const hash = encodeView(v);
    expect(hash).toContain('img=0123456789abcdef');
    expect(hash).not.toMatch(/[#&](s|t)=/);
    expect(decodeView(hash)).toEqual({ view: v, problems: [], extras: {}, payload: null });
    expect(decodeView('#img=../../etc').problems[0]).toMatch(/image "\.\.\/\.\.\/etc" is not an image id/);
  });
  it('round-trips a one-to-one selection and leaves defaults out of the link', () => {
    const v: ViewState = {
      ...DEFAULT_VIEW,
      selection: { model: 'detr-teacher', block: 'one_to_one', query: 0 },
      methods: withMethods({ ks: { source: 'query', point: null } }),
    };
    const hash = encodeView(v);
    expect(hash).toContain('q=detr-teacher%3Ao2o%3A0');
    expect(hash).not.toMatch(/[#&](hm|k|w|pt|l|ma|sc|vm|ri)=/);
    expect(decodeView(hash)).toEqual({ view: v, problems: [], extras: {}, payload: null });
  });
  it('decodes bad H-DETR, selection and KS values to the defaults, naming each', () => {
    const bad = [
      'hm=o2x',
      'k=0',
      'k=7',
      'k=2.5',
      'w=1,2',
      'w=1,-2,3',
      'w=1,,3',
      'w=a,b,c',
      'w=1e9,1,1',
      'q=detr-teacher:o2o',
      'q=Bad:o2o:1',
      'q=detr-teacher:o2m:-1',
      'q=detr-teacher:o2o:1.5',
      'ks=rows',
      'pt=1',
      'pt=1,x',
      'pt=-3,4',
      'vm=rollup',
      'ri=yes',
      'l=x',
      'ma=2',
    ];
    for (const part of bad) {
      const { view, problems } = decodeView(`#${part}`);
      expect(view, part).toEqual(DEFAULT_VIEW);
      expect(problems, part).toHaveLength(1);
    }
    const { view, problems } = decodeView('#hm=o2m&k=9&w=3,4,5&q=%3Cscript%3E');
    expect(view.methods.hdetr).toEqual({ mode: 'o2m', k: 3, weights: { cls: 3, l1: 4, giou: 5 } });
    expect(view.selection).toBeNull();
    expect(problems.map((p) => p.split(' "')[0])).toEqual(["the link's selected query", "the link's K"]);
  });
  it('an empty fragment is the default view', () => {
    expect(decodeView('')).toEqual({ view: DEFAULT_VIEW, problems: [], extras: {}, payload: null });
  });
  it('keeps what is usable in a bad link and names what is not', () => {
    const { view, problems } = decodeView('#m=seg-teacher,<script>&t=7&o=0.2&b=cuda');
    expect(view.models).toEqual(['seg-teacher']); // the usable ids stay, the bad one is named
    expect(problems[0]).toBe(`the link's model list has an entry that is not a model id ("<script>"): left out`);
    expect(view.threshold).toBe(DEFAULT_VIEW.threshold);
    expect(view.opacity).toBe(0.2);
    expect(view.backend).toBe('auto');
    expect(problems).toHaveLength(3);
    expect(problems[1]).toMatch(/threshold "7" is not a number between 0 and 1/);
  });
  it('decodes over a base view (a link pasted into an open tab changes only what it names)', () => {
    const base: ViewState = {
      ...DEFAULT_VIEW,
      opacity: 0.3,
      methods: withMethods({ hdetr: { mode: 'o2m', k: 2, weights: DEFAULT_VIEW.methods.hdetr.weights } }),
    };
    const { view } = decodeView('#k=4', base);
    expect(view.opacity).toBe(0.3);
    expect(view.methods.hdetr).toMatchObject({ mode: 'o2m', k: 4 });
  });
  it('method link keys are unique and never collide with the core keys', () => {
    const keys = METHODS.flatMap((m) => m.link?.params.map((p) => p.key) ?? []);
    expect(new Set(keys).size).toBe(keys.length);
    for (const core of ['m', 's', 'img', 'in', 't', 'o', 'b', 'q']) expect(keys).not.toContain(core);
  });
});
