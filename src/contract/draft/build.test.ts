/** Answers → contract: class names as typed or pasted (COCO categories at their ids), labels, problems in words. */
import { describe, expect, it } from 'vitest';
import {
  buildContract,
  checkDraft,
  classColor,
  defaultAnswers,
  inferDraft,
  labelsFor,
  parseClassNames,
  questionDefaults,
  sidecarName,
} from './index';

describe('class names', () => {
  it('one per line, blank lines and spaces dropped', () => {
    expect(parseClassNames(' background\r\nbolt\n\n  nut \n')).toEqual({
      ok: true,
      names: ['background', 'bolt', 'nut'],
    });
  });
  it("a COCO file's categories, placed at their ids, gaps filled and counted", () => {
    const coco = JSON.stringify({
      images: [],
      annotations: [],
      categories: [
        { id: 3, name: 'car', supercategory: 'vehicle' },
        { id: 1, name: 'person' },
      ],
    });
    expect(parseClassNames(coco)).toEqual({
      ok: true,
      names: ['unused 0', 'person', 'unused 2', 'car'],
      note: '2 COCO categories placed at their ids 0–3 (2 unused ids filled in)',
    });
  });
  it('a list of categories alone, or of names', () => {
    expect(parseClassNames('[{"id": 0, "name": "a"}, {"id": 1, "name": "b"}]')).toMatchObject({ names: ['a', 'b'] });
    expect(parseClassNames('["a", "b"]')).toEqual({ ok: true, names: ['a', 'b'] });
  });
  it('JSON that is not categories is refused in words', () => {
    expect(parseClassNames('{"images": []}')).toEqual({
      ok: false,
      problem: 'JSON without "categories": give one class name per line, or COCO categories',
    });
    expect(parseClassNames('[{"id": -1, "name": "x"}]')).toMatchObject({ ok: false });
    expect(parseClassNames('{broken')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^this is not JSON/),
    });
  });
});

describe('labels of class columns', () => {
  it('one class per column, or a first background class without one; anything else is not guessed', () => {
    expect(labelsFor(3, 3)).toEqual([0, 1, 2]);
    expect(labelsFor(3, 4)).toEqual([1, 2, 3]);
    expect(labelsFor(3, 5)).toBeNull();
    expect(labelsFor(3, 2)).toBeNull();
  });
});

describe('the contract built', () => {
  const draft = inferDraft(
    {
      inputs: [{ name: 'x', dtype: 'float16', dims: [1, 3, 32, 32] }],
      outputs: [{ name: 'logits', dtype: 'float32', dims: [1, 4] }],
      nodes: [],
    },
    'My Model.onnx.gz',
  );
  it('takes the input dtype from the graph, the id and name from the file, version 1.0 for 1.0 roles', () => {
    const { contract, errors } = checkDraft(draft, defaultAnswers(draft));
    expect(errors).toEqual([]);
    expect(contract).toMatchObject({
      version: '1.0',
      model: { id: 'my-model', name: 'My Model', task: 'classification', role: 'student', family: 'plain-onnx' },
      input: { dtype: 'float16', shape: [1, 3, 32, 32], mean: [0.485, 0.456, 0.406], scale: 255 },
      classes: [
        { id: 0, name: 'class 0', color: '#1f2430' },
        { id: 1, name: 'class 1', color: '#e6194b' },
        { id: 2, name: 'class 2', color: '#3cb44b' },
        { id: 3, name: 'class 3', color: '#ffe119' },
      ],
    });
  });
  it('names each problem: bad numbers, empty names, no output kept, a bad model id (the validator says)', () => {
    const a = defaultAnswers(draft);
    a.input.mean = '0.5, 0.5';
    a.input.scale = '0';
    a.classNames = ['a', ' ', 'c', 'd'];
    expect(buildContract(draft, a).problems).toEqual([
      'input scale: a number above 0 (255 turns 0–255 pixels into 0–1)',
      'input mean: three numbers, one per channel (e.g. 0.485, 0.456, 0.406)',
      'classes: class 1 has no name',
    ]);
    const b = defaultAnswers(draft);
    b.outputs.logits.role = 'ignore';
    expect(buildContract(draft, b).problems).toEqual(['no output is kept: give at least one output a role']);
    const c = defaultAnswers(draft);
    c.model.id = 'My Model';
    expect(checkDraft(draft, c).errors).toEqual([expect.stringMatching(/^schema: model\/id: must match pattern/)]);
  });
  it("a role picked by the user brings its questions' defaults", () => {
    expect(questionDefaults(draft, 'logits', 'router_weights')).toEqual({
      paths: 'stem, teacher1, teacher2, teacher3',
    });
    const a = defaultAnswers(draft);
    a.outputs.logits = { role: 'router_weights', values: questionDefaults(draft, 'logits', 'router_weights') };
    expect(checkDraft(draft, a).contract!.outputs).toEqual([
      { name: 'logits', role: 'router_weights', shape: [1, 4], paths: ['stem', 'teacher1', 'teacher2', 'teacher3'] },
    ]);
  });
  it('the sidecar is named after the model file, as the app matches sidecars', () => {
    expect(sidecarName('My Model.onnx.gz')).toBe('My Model.contract.json');
    expect(sidecarName('net.ONNX')).toBe('net.contract.json');
  });
  it('class colours stay distinct and well-formed past the palette', () => {
    const colours = Array.from({ length: 100 }, (_, i) => classColor(i));
    expect(colours.every((c) => /^#[0-9a-f]{6}$/.test(c))).toBe(true);
    expect(new Set(colours).size).toBe(100);
  });
});
