/** Saliency maths against hand-made models whose answer is known. */
import { describe, expect, it } from 'vitest';
import { placement } from '../../analysis/geometry';
import {
  blurFill,
  computeSaliency,
  deletionInsertion,
  frameOf,
  fullFrame,
  meanFill,
  occlusionPatches,
  occlusionSaliency,
  type Picture,
  passCount,
  patchStarts,
  pointingGame,
  positiveMassShare,
  riseMasks,
  riseSaliency,
  type SaliencySpec,
  SaliencyStopped,
  type Scorer,
  saliencyOrder,
  saliencyPeak,
  trapezoidAuc,
} from './compute';
import { cosine, driseSimilarity, type Proposal, segmentScore, softmaxAt } from './scores';

const picture = (side: number, value: (x: number, y: number, c: number) => number): Picture => {
  const data = new Float32Array(3 * side * side);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) data[c * side * side + y * side + x] = value(x, y, c);
  return { width: side, height: side, channels: 3, data };
};

/** The "model" that only looks at one quadrant: its score is the mean brightness of the top-left quarter. */
const topLeftBrightness =
  (side: number): Scorer =>
  async (batch) =>
    batch.map((d) => {
      const half = side / 2;
      let sum = 0;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < half; y++) for (let x = 0; x < half; x++) sum += d[c * side * side + y * side + x];
      return sum / (3 * half * half);
    });

/** The top-left quarter of a side×side picture, grown by `grow` pixels. */
const quadrant = (side: number, grow = 0) => {
  const q = new Uint8Array(side * side);
  for (let y = 0; y < side / 2 + grow; y++) for (let x = 0; x < side / 2 + grow; x++) q[y * side + x] = 1;
  return q;
};

const SIDE = 64;
const white = picture(SIDE, () => 1);
const black: Picture = { ...white, data: new Float32Array(white.data.length) };

describe('RISE masks', () => {
  const frame = fullFrame(32, 32);
  const opts = { masks: 40, cells: 4, keep: 0.5, seed: 7 };
  it('are the same for the same seed, and differ for another', () => {
    const a = [...riseMasks(frame, opts)];
    const b = [...riseMasks(frame, opts)];
    const c = [...riseMasks(frame, { ...opts, seed: 8 })];
    expect(a).toHaveLength(40);
    expect(a.every((m, i) => m.every((v, j) => v === b[i][j]))).toBe(true);
    expect(a.some((m, i) => m.some((v, j) => v !== c[i][j]))).toBe(true);
  });

  it('lie in [0, 1] and keep about p of the image on average', () => {
    const masks = [...riseMasks(frame, { ...opts, masks: 400, keep: 0.3 })];
    let [sum, lo, hi] = [0, Infinity, -Infinity];
    for (const m of masks)
      for (const v of m) {
        [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
        sum += v;
      }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(sum / (400 * 32 * 32)).toBeCloseTo(0.3, 1);
  });

  it('are the same over the image whatever the input frame: letterbox padding is never masked', () => {
    // a 32×16 image letterboxed into a 32×32 input sits at rows 8..23 with the image's own pixel centres
    const boxed = frameOf(placement(32, 16, { shape: [1, 3, 32, 32], layout: 'NCHW', resize: 'letterbox' }), 32, 16);
    const plain = fullFrame(32, 16);
    const a = [...riseMasks(boxed, opts)];
    const b = [...riseMasks(plain, opts)];
    let [padding, worst] = [0, 0];
    for (let i = 0; i < a.length; i++)
      for (let v = 0; v < 32; v++)
        for (let u = 0; u < 32; u++) {
          const m = a[i][v * 32 + u];
          if (v < 8 || v >= 24) padding += m === 1 ? 0 : 1;
          else worst = Math.max(worst, Math.abs(m - b[i][(v - 8) * 32 + u]));
        }
    expect(padding).toBe(0);
    expect(worst).toBeLessThan(1e-6);
  });
});

describe('occlusion patches', () => {
  it('cover the image from edge to edge', () => {
    expect(patchStarts(0.25, 0.25)).toEqual([0, 0.25, 0.5, 0.75]);
    const s = patchStarts(0.3, 0.25);
    expect(s.slice(0, 3)).toEqual([0, 0.25, 0.5]);
    expect(s[3]).toBeCloseTo(0.7); // flush with the far edge
    expect(patchStarts(1, 0.5)).toEqual([0]);
    expect(occlusionPatches({ patch: 0.5, stride: 0.5 })).toHaveLength(4);
  });

  it('count the passes a job takes', () => {
    const rise: SaliencySpec = {
      method: { kind: 'rise', rise: { masks: 500, cells: 8, keep: 0.5, seed: 1 } },
      fill: 'mean',
      steps: 16,
    };
    expect(passCount(rise)).toBe(2 + 500 + 30);
    expect(passCount({ ...rise, steps: 0 })).toBe(502);
    const occ: SaliencySpec = {
      method: { kind: 'occlusion', occlusion: { patch: 0.25, stride: 0.125 } },
      fill: 'mean',
      steps: 4,
    };
    expect(passCount(occ)).toBe(2 + 7 * 7 + 6);
  });
});

describe('a model that only looks at the top-left quadrant', () => {
  const frame = fullFrame(SIDE, SIDE);
  const score = topLeftBrightness(SIDE);
  const q = quadrant(SIDE);

  it('RISE puts over 90 % of the saliency mass in that quadrant (at its resolution, a cell), its peak there', async () => {
    const { map } = await riseSaliency(white, black, frame, { masks: 1000, cells: 8, keep: 0.5, seed: 1 }, score, {
      batch: 16,
    });
    // RISE's expected map is the quadrant blurred by the masks' cells (8 px here): some mass spills one cell out
    expect(positiveMassShare(map, quadrant(SIDE, SIDE / 8))).toBeGreaterThan(0.9);
    expect(positiveMassShare(map, q)).toBeGreaterThan(0.8);
    const peak = saliencyPeak(map, frame)!;
    expect(peak.u).toBeLessThan(SIDE / 2);
    expect(peak.v).toBeLessThan(SIDE / 2);
  });

  it('occlusion puts over 90 % of the saliency mass in that quadrant', async () => {
    const map = await occlusionSaliency(white, black, frame, { patch: 0.125, stride: 0.0625 }, 1, score, {
      batch: 8,
    });
    expect(positiveMassShare(map, q)).toBeGreaterThan(0.9);
    // a patch wholly outside the quadrant changes nothing
    expect(map[(SIDE - 1) * SIDE + SIDE - 1]).toBe(0);
  });

  it('deletion AUC is below insertion AUC, and a map pointing elsewhere reverses them', async () => {
    const { map } = await riseSaliency(white, black, frame, { masks: 300, cells: 8, keep: 0.5, seed: 2 }, score);
    const good = await deletionInsertion(white, black, frame, map, 8, { base: 1, filled: 0 }, score);
    expect(good.deletion[0]).toBe(1);
    expect(good.deletion[8]).toBe(0);
    expect(good.insertion[0]).toBe(0);
    expect(good.deletionAuc).toBeLessThan(good.insertionAuc);
    expect(good.deletionAuc).toBeLessThan(0.2);
    expect(good.insertionAuc).toBeGreaterThan(0.8);
    const wrong = Float32Array.from(q, (v) => 1 - v); // everything but the quadrant
    const bad = await deletionInsertion(white, black, frame, wrong, 8, { base: 1, filled: 0 }, score);
    expect(bad.deletionAuc).toBeGreaterThan(bad.insertionAuc);
  });

  it('gives the same map whatever the batch size, and reports every pass', async () => {
    const spec: SaliencySpec = {
      method: { kind: 'rise', rise: { masks: 50, cells: 4, keep: 0.5, seed: 3 } },
      fill: 'zero',
      steps: 4,
    };
    const seen: number[] = [];
    const one = await computeSaliency(white, frame, spec, score, { batch: 1, onProgress: (d) => seen.push(d) });
    const seven = await computeSaliency(white, frame, spec, score, { batch: 7 });
    expect([...seven.map]).toEqual([...one.map]);
    expect(one.passes).toBe(passCount(spec));
    expect(seen[seen.length - 1]).toBe(passCount(spec));
    expect(seen.every((d, i) => i === 0 || d > seen[i - 1])).toBe(true);
    expect(one.base).toBe(1);
    expect(one.filled).toBe(0);
    expect(one.curves!.deletionAuc).toBeLessThan(one.curves!.insertionAuc);
  });

  it('stops between batches when asked, with SaliencyStopped', async () => {
    let calls = 0;
    const counting: Scorer = async (b) => {
      calls++;
      return score(b);
    };
    const spec: SaliencySpec = {
      method: { kind: 'rise', rise: { masks: 500, cells: 4, keep: 0.5, seed: 1 } },
      fill: 'zero',
      steps: 0,
    };
    await expect(
      computeSaliency(white, frame, spec, counting, { batch: 10, stopped: () => calls >= 5 }),
    ).rejects.toThrow(SaliencyStopped);
    expect(calls).toBe(5);
  });
});

describe('fills', () => {
  it('mean: the image mean colour per channel; blur: a constant stays constant', () => {
    const p = picture(8, (x, _y, c) => (c === 0 ? (x < 4 ? 0 : 1) : c));
    const m = meanFill(p, fullFrame(8, 8));
    expect(m.data[0]).toBeCloseTo(0.5);
    expect(m.data[64]).toBeCloseTo(1);
    expect(m.data[128 + 5]).toBeCloseTo(2);
    const b = blurFill(
      picture(8, () => 3),
      2,
    );
    expect(b.data.every((v) => Math.abs(v - 3) < 1e-5)).toBe(true);
    const edge = blurFill(p, 1);
    expect(edge.data[3]).toBeGreaterThan(0); // the step is smoothed
    expect(edge.data[4]).toBeLessThan(1);
  });
});

describe('reading a map', () => {
  it('trapezoid AUC over [0, 1]', () => {
    expect(trapezoidAuc([1, 1, 1])).toBe(1);
    expect(trapezoidAuc([0, 1])).toBe(0.5);
    expect(trapezoidAuc([1, 0, 0, 0, 0])).toBeCloseTo(0.125);
  });

  it('orders image pixels by saliency, NaN last, padding never', () => {
    const frame = frameOf({ inputWidth: 4, inputHeight: 1, offsetX: 1, offsetY: 0, scaleX: 1, scaleY: 1 }, 2, 1);
    expect([...saliencyOrder(Float32Array.from([9, Number.NaN, 0.5, 9]), frame)]).toEqual([2, 1]);
  });

  it('pointing game: inside a box, inside a mask, within a tolerance; null without ground truth', () => {
    const box = { x0: 10, y0: 10, x1: 20, y1: 20 };
    const image = { width: 30, height: 30 };
    expect(pointingGame({ x: 15, y: 15 }, [box], image)).toBe(true);
    expect(pointingGame({ x: 25, y: 15 }, [box], image)).toBe(false);
    expect(pointingGame({ x: 22, y: 15 }, [box], image, 3)).toBe(true);
    expect(pointingGame({ x: 5, y: 5 }, [], image)).toBeNull();
    const mask = new Uint8Array(30 * 30);
    mask[12 * 30 + 12] = 1; // one pixel of the box is the object
    const withMask = { ...box, mask: { data: mask, width: 30, height: 30 } };
    expect(pointingGame({ x: 12.5, y: 12.5 }, [withMask], image)).toBe(true);
    expect(pointingGame({ x: 15, y: 15 }, [withMask], image)).toBe(false);
    expect(pointingGame({ x: 14.4, y: 12.5 }, [withMask], image, 2)).toBe(true);
    // a mask annotated at twice the analysed resolution (the image was scaled down)
    const fine = new Uint8Array(60 * 60);
    fine[25 * 60 + 24] = 1;
    const half = { x0: 10, y0: 10, x1: 20, y1: 20, mask: { data: fine, width: 60, height: 60 } };
    expect(pointingGame({ x: 12.2, y: 12.7 }, [half], image)).toBe(true);
    expect(pointingGame({ x: 12.7, y: 12.7 }, [half], image)).toBe(false);
  });
});

describe('scores', () => {
  it('softmax and segmentation measures', () => {
    expect(softmaxAt([0, 0], 1)).toBeCloseTo(0.5);
    expect(softmaxAt([1000, 0], 0)).toBeCloseTo(1);
    // 2 classes over 2 pixels: pixel 0 is class 1 (logit 2 vs 0), pixel 1 is class 0
    const logits = Float32Array.from([0, 1, 2, 0]);
    expect(segmentScore(logits, 2, 1, 2, 1, 'area')).toBe(0.5);
    const p = (1 / (1 + Math.exp(-2)) + 1 / (1 + Math.exp(1))) / 2;
    expect(segmentScore(logits, 2, 1, 2, 1, 'probability')).toBeCloseTo(p, 6);
    expect(segmentScore(logits, 2, 1, 2, 1, 'area', Uint8Array.from([1, 0]))).toBe(1);
  });

  it('D-RISE similarity: IoU × cosine of the class-probability vectors, best proposal', () => {
    const target = { box: { x0: 0, y0: 0, x1: 10, y1: 10 }, probs: [1, 0] };
    const half: Proposal = { box: { x0: 0, y0: 0, x1: 10, y1: 5 }, probs: Float32Array.from([1, 0]) };
    const skew: Proposal = { box: { x0: 0, y0: 0, x1: 10, y1: 10 }, probs: Float32Array.from([1, 1]) };
    expect(driseSimilarity(target, [half])).toBeCloseTo(0.5);
    expect(driseSimilarity(target, [skew])).toBeCloseTo(Math.SQRT1_2);
    expect(driseSimilarity(target, [half, skew])).toBeCloseTo(Math.SQRT1_2);
    expect(driseSimilarity(target, [])).toBe(0);
    expect(cosine([1, 0], [0, 1])).toBe(0);
  });

  it('D-RISE on a toy detector puts the saliency on the detected object', async () => {
    // black image, a white 16×12 object; the detector boxes the bright pixels (its class from their share)
    const side = 48;
    const object = { x0: 8, y0: 20, x1: 24, y1: 32 };
    const inObject = (x: number, y: number) => x >= object.x0 && x < object.x1 && y >= object.y0 && y < object.y1;
    const image = picture(side, (x, y) => (inObject(x, y) ? 1 : 0));
    const detect = (d: Float32Array): Proposal[] => {
      let [x0, y0, x1, y1, n] = [side, side, 0, 0, 0];
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++)
          if (d[y * side + x] > 0.5) {
            [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
            n++;
          }
      const share = n / 192;
      const decoy: Proposal = { box: { x0: 30, y0: 0, x1: 46, y1: 12 }, probs: Float32Array.from([0.2, 0.8]) };
      return n ? [{ box: { x0, y0, x1, y1 }, probs: Float32Array.from([share, 1 - share]) }, decoy] : [decoy];
    };
    const target = { box: object, probs: [1, 0] };
    const score: Scorer = async (batch) => batch.map((d) => driseSimilarity(target, detect(d)));
    expect((await score([image.data]))[0]).toBeCloseTo(1);
    const frame = fullFrame(side, side);
    const zero = { ...image, data: new Float32Array(image.data.length) };
    const { map } = await riseSaliency(image, zero, frame, { masks: 1500, cells: 8, keep: 0.5, seed: 5 }, score);
    const peak = saliencyPeak(map, frame)!;
    expect(inObject(peak.u, peak.v)).toBe(true);
    // the object grown by one mask cell (6 px) holds over 90 % of the positive mass, the object itself most
    const near = new Uint8Array(side * side);
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++)
        near[y * side + x] = x >= object.x0 - 6 && x < object.x1 + 6 && y >= object.y0 - 6 && y < object.y1 + 6 ? 1 : 0;
    expect(positiveMassShare(map, near)).toBeGreaterThan(0.9);
    const inside = new Uint8Array(side * side).map((_, i) => (inObject(i % side, Math.floor(i / side)) ? 1 : 0));
    expect(positiveMassShare(map, inside)).toBeGreaterThan(0.5);
  });
});
