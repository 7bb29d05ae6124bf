import { describe, expect, it } from 'vitest';
import { placement } from '../analysis/geometry';
import type { AgreementRow } from '../app/agreement';
import type { TaskResult } from '../app/task';
import { plainInput, testContract } from '../contract/testContracts';
import { viewNumbers } from './viewNumbers';

const classes = [
  { id: 0, name: 'background', color: '#000' },
  { id: 1, name: 'scratch', color: '#f00' },
];
const seg = testContract({
  model: { id: 'seg', task: 'segmentation', role: 'teacher', family: 'unet', name: 'Seg teacher' },
  input: plainInput(4, 4, 'letterbox'),
  outputs: [{ name: 'seg_logits', role: 'segmentation_logits', shape: [1, 2, 4, 4] }],
  classes,
});
const det = testContract({
  model: { id: 'det', task: 'detection', role: 'student', family: 'detr', name: 'Det student' },
  input: plainInput(4, 4, 'stretch'),
  outputs: [],
  classes,
});

describe('the numbers of a view', () => {
  const segResult: TaskResult = {
    kind: 'segmentation',
    // A 4×2 image letterboxed into 4×4: rows 0 and 3 are padding and are not counted.
    classMap: Uint8Array.from([1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]),
    width: 4,
    height: 4,
    placement: placement(4, 2, seg.input),
  };
  const detResult: TaskResult = {
    kind: 'detection',
    detections: [{ x0: 0.123456, y0: 0, x1: 2, y1: 1.5, score: 0.876543, classId: 1, query: 7 }],
    threshold: 0.4,
    thresholdFrom: 'contract',
  };
  const row: AgreementRow = {
    model: 'det',
    against: 'seg',
    value: null,
    text: 'det and seg have different tasks (detection vs segmentation): no agreement number',
  };
  const doc = viewNumbers({
    appVersion: '0.1.0',
    created: '2025-03-04T11:00:00.000Z',
    image: { id: 'abc', name: 'x.png', width: 4, height: 2 },
    threshold: null,
    opacity: 0.55,
    models: [
      { id: 'seg', contract: seg, result: segResult },
      { id: 'det', contract: det, result: detResult },
    ],
    agreements: [row],
  });

  it('records the app version, the image and the settings', () => {
    expect(doc).toMatchObject({
      format: 'attnlens-view-numbers',
      app_version: '0.1.0',
      image: { name: 'x.png', width: 4, height: 2 },
      settings: { threshold: null, opacity: 0.55 },
    });
  });

  it('counts a segmenter’s class-map cells on the image per class (letterbox padding left out)', () => {
    expect(doc.models[0]).toMatchObject({
      id: 'seg',
      name: 'Seg teacher',
      role: 'teacher',
      task: 'segmentation',
      threshold: null,
      pixels: {
        grid: [4, 4],
        classes: [
          { class_id: 0, class: 'background', cells: 5 },
          { class_id: 1, class: 'scratch', cells: 3 },
        ],
      },
    });
  });

  it('lists a detector’s boxes with their threshold', () => {
    expect(doc.models[1]).toMatchObject({
      task: 'detection',
      threshold: { value: 0.4, from: 'contract' },
      detections: [{ query: 7, class_id: 1, class: 'scratch', score: 0.8765, box: [0.12, 0, 2, 1.5] }],
    });
  });

  it('keeps each agreement row’s value and text (and its metric when there is one)', () => {
    expect(doc.agreements).toEqual([{ model: 'det', against: 'seg', metric: null, value: null, text: row.text }]);
  });

  it('says when a model has not run', () => {
    const d = viewNumbers({
      appVersion: '0',
      created: '',
      image: { id: 'a', name: 'a', width: 1, height: 1 },
      threshold: null,
      opacity: 1,
      models: [{ id: 'seg', contract: seg, result: null }],
      agreements: [],
    });
    expect(d.models[0]).toMatchObject({ task: 'none', note: 'not run on this image' });
  });
});
