import { describe, expect, it } from 'vitest';
import { placement, uniformPlacement } from '../analysis/geometry';
import { NO_CLASS } from '../analysis/segmentation';
import type { TaskResult } from '../app/task';
import type { ContractClass } from '../contract';
import {
  captionFontSize,
  captionLayout,
  classCountsOnImage,
  legendEntries,
  type MeasureText,
  MIN_CAPTION_PX,
  paneDetail,
  viewLayout,
  wrapText,
} from './paneImage';

/** A monospaced stand-in for the canvas: 0.6 em a character (0.65 bold). */
const measure: MeasureText = (text, size, bold) => text.length * size * (bold ? 0.65 : 0.6);

const classes: ContractClass[] = [
  { id: 0, name: 'background', color: '#000000' },
  { id: 1, name: 'scratch', color: '#ff0000' },
  { id: 2, name: 'dent', color: '#00ff00' },
  { id: 3, name: 'stain with a very long class name indeed', color: '#0000ff' },
];

describe('the caption type size', () => {
  it('is legible on a 160 px image and grows with the image, so a 4000 px one keeps the same share', () => {
    expect(captionFontSize(160)).toBe(MIN_CAPTION_PX);
    expect(captionFontSize(4000)).toBeGreaterThanOrEqual(80);
    expect(captionFontSize(4000) / 4000).toBeCloseTo(captionFontSize(2000) / 2000, 2);
    for (let w = 16; w < 9000; w *= 1.7) expect(captionFontSize(w * 1.7)).toBeGreaterThanOrEqual(captionFontSize(w));
  });
});

describe('wrapping caption text', () => {
  const width = (t: string) => t.length * 6;
  it('breaks at spaces, never wider than the line, keeping every word in order', () => {
    const text = 'seg-student-attnfd · AttnFD student distilled from the teacher at three sites';
    const lines = wrapText(text, 120, width);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(width(l)).toBeLessThanOrEqual(120);
    expect(lines.join(' ')).toBe(text);
  });
  it('breaks a word longer than a line between characters', () => {
    const lines = wrapText('a_file_name_far_too_long_for_a_small_image.png', 60, width);
    for (const l of lines) expect(width(l)).toBeLessThanOrEqual(60);
    expect(lines.join('')).toBe('a_file_name_far_too_long_for_a_small_image.png');
  });
  it('gives no line for empty text', () => expect(wrapText('  ', 60, width)).toEqual([]));
});

describe('the caption layout', () => {
  const legend = classes.slice(1).map((c) => ({ label: c.name, color: c.color }));
  it('keeps the title, detail and legend inside the band on a 160 px image', () => {
    const l = captionLayout(
      160,
      'seg-student-attnfd · AttnFD student',
      'mask (argmax at 64×64, 55 % opacity)',
      legend,
      measure,
    );
    expect(l.fontSize).toBe(MIN_CAPTION_PX);
    expect(l.lines[0]).toMatchObject({ bold: true });
    for (const t of l.lines) {
      expect(t.x + measure(t.text, l.fontSize, t.bold)).toBeLessThanOrEqual(160);
      expect(t.y + l.fontSize).toBeLessThanOrEqual(l.height);
    }
    expect(l.legend.map((e) => e.color)).toEqual(legend.map((e) => e.color));
    for (const e of l.legend) {
      expect(e.x).toBeGreaterThanOrEqual(0);
      expect(e.textX + measure(e.label, l.fontSize, false)).toBeLessThanOrEqual(160);
      expect(e.y + e.swatch).toBeLessThanOrEqual(l.height);
    }
    // The long class name does not fit a 160 px row: cut with an ellipsis.
    expect(l.legend[2].label.endsWith('…')).toBe(true);
  });
  it('flows legend entries into rows: a wide image puts them on one row, a narrow one on several', () => {
    const wide = captionLayout(2000, 'm · M', 'mask', legend, measure);
    const narrow = captionLayout(160, 'm · M', 'mask', legend, measure);
    expect(new Set(wide.legend.map((e) => e.y)).size).toBe(1);
    expect(new Set(narrow.legend.map((e) => e.y)).size).toBeGreaterThan(1);
    for (const e of wide.legend) expect(e.label.endsWith('…')).toBe(false);
  });
  it('is taller with a legend than without, and scales with the image', () => {
    const bare = captionLayout(640, 'm · M', 'no box', [], measure);
    const withLegend = captionLayout(640, 'm · M', 'no box', legend, measure);
    expect(withLegend.height).toBeGreaterThan(bare.height);
    const big = captionLayout(4000, 'm · M', 'no box', legend, measure);
    expect(big.height / big.fontSize).toBeCloseTo(withLegend.height / withLegend.fontSize, 0);
    // A few lines of the image's height at most: the picture stays mostly picture.
    expect(big.height).toBeLessThan(4000 / 4);
  });
});

const segmentation = (classMap: number[], width: number, height: number, p = uniformPlacement(width, height)) =>
  ({ kind: 'segmentation', classMap: Uint8Array.from(classMap), width, height, placement: p }) as TaskResult & {
    kind: 'segmentation';
  };

describe('classes on the image', () => {
  it('counts every cell of a map laid over the whole image', () => {
    const r = segmentation([0, 1, 1, 2], 2, 2);
    expect([...classCountsOnImage(r, 2, 2)]).toEqual([
      [0, 1],
      [1, 2],
      [2, 1],
    ]);
  });
  it('leaves out letterbox padding: a 4×2 image in a 4×4 input has one padding row above and below', () => {
    const p = placement(4, 2, { shape: [1, 3, 4, 4], layout: 'NCHW', resize: 'letterbox' });
    // rows 0 and 3 are padding (class 3 there must not count), rows 1–2 are the image
    const r = segmentation([3, 3, 3, 3, 1, 1, 0, 0, 0, 2, 2, 0, 3, 3, 3, 3], 4, 4, p);
    const counts = classCountsOnImage(r, 4, 2);
    expect(counts.get(3)).toBeUndefined();
    expect(counts.get(1)).toBe(2);
    expect(counts.get(2)).toBe(2);
    expect(counts.get(0)).toBe(4);
    expect(legendEntries(r, classes, 4, 2).map((e) => e.label)).toEqual(['scratch', 'dent']);
  });
  it('lists a mask’s classes without the background; ids without a colour and cells without a class in magenta', () => {
    const r = segmentation([2, 0, NO_CLASS, 9], 2, 2);
    expect(legendEntries(r, classes, 2, 2)).toEqual([
      { label: 'dent', color: '#00ff00' },
      { label: 'class 9', color: 'rgb(255,0,255)' },
      { label: 'no class (NaN logits)', color: 'rgb(255,0,255)' },
    ]);
  });
  it('lists a detector’s classes once each, in class order', () => {
    const box = { x0: 0, y0: 0, x1: 1, y1: 1, score: 0.9, query: 0 };
    const r: TaskResult = {
      kind: 'detection',
      detections: [
        { ...box, classId: 2 },
        { ...box, classId: 1, query: 1 },
        { ...box, classId: 2, query: 2 },
      ],
      threshold: 0.5,
      thresholdFrom: 'contract',
    };
    expect(legendEntries(r, classes, 10, 10)).toEqual([
      { label: 'scratch', color: '#ff0000' },
      { label: 'dent', color: '#00ff00' },
    ]);
    expect(paneDetail(r, 0.5)).toBe('3 boxes with score ≥ 0.50 (recommended)');
  });
  it('says what a pane without an overlay shows', () => {
    expect(legendEntries({ kind: 'none', reason: 'x' }, classes, 2, 2)).toEqual([]);
    expect(paneDetail({ kind: 'none', reason: 'a classifier' }, 0.5)).toBe('nothing to overlay: a classifier');
    expect(paneDetail(segmentation([0], 1, 1), 0.55)).toBe('mask (argmax at 1×1, 55 % opacity)');
  });
});

describe('the view layout', () => {
  it('puts panes side by side with a gap and the notes under the tallest, within the width', () => {
    const l = viewLayout(
      [
        { width: 160, height: 220 },
        { width: 160, height: 240 },
      ],
      ['mask mIoU of seg-student-attnfd against seg-teacher: 81.2 % (pixel agreement 97.0 %)'],
      160,
      measure,
    );
    expect(l.panes[0]).toEqual({ x: 0, y: 0 });
    expect(l.panes[1].x).toBeGreaterThan(160);
    expect(l.width).toBe(l.panes[1].x + 160);
    expect(l.lines.length).toBeGreaterThan(1);
    for (const t of l.lines) {
      expect(t.y).toBeGreaterThanOrEqual(240);
      expect(t.x + measure(t.text, l.fontSize, false)).toBeLessThanOrEqual(l.width);
    }
    expect(l.height).toBeGreaterThan(l.lines.at(-1)!.y + l.fontSize);
  });
  it('is just the panes without notes', () => {
    const l = viewLayout([{ width: 100, height: 120 }], [], 100, measure);
    expect(l).toMatchObject({ width: 100, height: 120, lines: [] });
  });
});
