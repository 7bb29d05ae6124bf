import { describe, expect, it } from 'vitest';
import type { Contract, ContractOutput } from '../contract';
import { DEFAULT_VIEW, type ViewState } from '../state/viewState';
import { unknownModels, viewNotes } from './linkCheck';

const contract = (id: string, outputs: Partial<ContractOutput>[]): Contract =>
  ({
    format: 'attnlens-contract',
    version: '1.3',
    model: { id, name: id, task: 'detection', role: 'teacher', family: 'x' },
    input: {} as Contract['input'],
    classes: [],
    outputs: outputs as ContractOutput[],
  }) as Contract;

const vit = contract('vit-attn', [
  { name: 'cls_attention', role: 'cls_attention', shape: [1, 5, 4, 400], keys: 'patches', grid: [20, 20], patch: 8 },
]);
const detr = contract('detr-teacher', [
  { name: 'o2o.logits', role: 'box_logits', shape: [1, 40, 6], block: 'one_to_one', labels: [1, 2, 3, 4, 5, 6] },
  { name: 'o2o.boxes', role: 'boxes', shape: [1, 40, 4], block: 'one_to_one', box_format: 'cxcywh_normalized' },
  { name: 'enc', role: 'encoder_attention', shape: [1, 4, 400, 400], grid: [20, 20] },
]);
const view = (patch: Partial<ViewState>): ViewState => ({ ...DEFAULT_VIEW, ...patch });
const image = { width: 160, height: 160 };

describe('link values against what exists', () => {
  it('names a ViT layer the model does not have, and the one shown', () => {
    const v = view({
      models: ['vit-attn'],
      methods: { ...DEFAULT_VIEW.methods, vit: { ...DEFAULT_VIEW.methods.vit, layer: 99 } },
    });
    expect(viewNotes(v, [{ id: 'vit-attn', contract: vit }], image, true)).toEqual([
      'the link names layer 99 but vit-attn has 5 layers (0–4): showing layer 4',
    ]);
    const ok = view({
      models: ['vit-attn'],
      methods: { ...DEFAULT_VIEW.methods, vit: { ...DEFAULT_VIEW.methods.vit, layer: 4 } },
    });
    expect(viewNotes(ok, [{ id: 'vit-attn', contract: vit }], image, true)).toEqual([]);
  });
  it('names a selected query out of range, a block the model lacks, a model not in view', () => {
    const models = [{ id: 'detr-teacher', contract: detr }];
    const sel = (query: number, block: 'one_to_one' | 'one_to_many' = 'one_to_one', model = 'detr-teacher') =>
      viewNotes(view({ models: ['detr-teacher'], selection: { model, block, query } }), models, image, true);
    expect(sel(999)).toEqual([
      "the link selects query 999 of detr-teacher's one-to-one block, which has 40 queries (0–39): no query is selected",
    ]);
    expect(sel(39)).toEqual([]);
    expect(sel(3, 'one_to_many')).toEqual([
      "the link selects query 3 of detr-teacher's one-to-many block, but detr-teacher has no one-to-many block: no query is selected",
    ]);
    expect(sel(3, 'one_to_one', 'detr-x')).toEqual([
      'the link selects query 3 of detr-x, which is not in the view: no query is selected',
    ]);
  });
  it('names a KS point off the image, and an own image not open here (once the images are known)', () => {
    const v = view({
      models: ['detr-teacher'],
      methods: { ...DEFAULT_VIEW.methods, ks: { source: 'point', point: [5000, 10] } },
    });
    expect(viewNotes(v, [{ id: 'detr-teacher', contract: detr }], image, true)).toEqual([
      "the link's KS-DETR point (5000, 10) is outside the image (160×160): no location is picked",
    ]);
    const own = view({ image: { hash: '00000000deadbeef', name: 'gone.jpg' } });
    expect(viewNotes(own, [], undefined, false)).toEqual([]);
    expect(viewNotes(own, [], undefined, true)).toEqual([
      'the link shows your own image "gone.jpg" (id 00000000deadbeef), which is not open in this tab: images never leave the browser that opened them. Drop the same file here and the view opens on it',
    ]);
  });
  it('leaves out models the zoo does not have and names them; falls back when none is left', () => {
    const zoo = new Set(['seg-teacher', 'seg-student-attnfd']);
    const ids = ['seg-teacher', 'nope-0', 'nope-1', 'local-mine', 'local-open'];
    const r = unknownModels(
      ids,
      (id) => zoo.has(id),
      (id) => id === 'local-open',
      'local-',
      ['a', 'b'],
    );
    expect(r.keep).toEqual(['seg-teacher', 'local-open']);
    expect(r.notes).toEqual([
      'the link names 2 models the zoo does not have ("nope-0", "nope-1"): left out',
      'the link names "local-mine", a model file opened in another tab or before a reload: links cannot carry model files, so it is left out — drop the file here again',
    ]);
    const none = unknownModels(
      ['nope'],
      () => false,
      () => false,
      'local-',
      ['a', 'b'],
    );
    expect(none).toEqual({
      keep: ['a', 'b'],
      notes: [
        'the link names the model "nope", which the zoo does not have: left out',
        "none of the link's models can be opened: showing a and b instead",
      ],
    });
  });
});
