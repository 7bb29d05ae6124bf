import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadContract } from '../contract';
import { contractHash } from './canonical';
import {
  BoxConfusionPool,
  NO_BOX,
  type ResultsDocument,
  readResults,
  resultsProblems,
  summarise,
  TRUTH,
} from './results';
import { bootstrapInterval, mulberry32 } from './stats';

// Written by `python -m attnlens_ml.evaluate` (detr-teacher, detr-student-hybrid over the gallery's COCO file).
const PYTHON = readFileSync(join(__dirname, '../../tests/fixtures/results/gallery-detr.json'), 'utf8');

describe('statistics, the same as the Python half', () => {
  it('mulberry32 draws the canonical sequence', () => {
    const r = mulberry32(1);
    expect([r(), r(), r()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
    const q = mulberry32(4294967295);
    expect([q(), q()]).toEqual([0.8964226141106337, 0.189478256739676]);
  });
  it('bootstrap intervals equal ml/attnlens_ml/results.py bootstrap_interval to the bit', () => {
    const data = [0.12, 0.5, 0.33, 0.91, 0.05, 0.77, 0.6];
    // printed by the Python: bootstrap_interval(data, 1000, 1, 0.95) and (data, 257, 42, 0.8)
    expect(bootstrapInterval(data, { resamples: 1000, seed: 1, level: 0.95 })).toEqual([
      0.23714285714285716, 0.6985714285714286,
    ]);
    expect(bootstrapInterval(data, { resamples: 257, seed: 42, level: 0.8 })).toEqual([0.3228571428571429, 0.62]);
    expect(bootstrapInterval([], { resamples: 10, seed: 1, level: 0.95 })).toBeNull();
  });
  it("the summaries of the Python run's rows are the Python summaries", () => {
    const doc = JSON.parse(PYTHON) as ResultsDocument;
    const ours = summarise(doc.rows, doc.reference, doc.settings.bootstrap);
    const theirs = doc.summary.filter((s) => !s.metric.startsWith('box_ap')); // AP is pycocotools', set-level
    expect(ours).toEqual(theirs);
    expect(ours.find((s) => s.model === 'detr-student-hybrid' && s.against === TRUTH)?.share_of_reference).toBeCloseTo(
      theirs.find((s) => s.model === 'detr-student-hybrid' && s.against === TRUTH)!.share_of_reference!,
      15,
    );
  });
  it('an image where neither side has anything is not counted', () => {
    const s = summarise(
      [
        { image: 'a', model: 's', vs_reference: { against: 't', metric: 'box_f1', value: null } },
        { image: 'b', model: 's', vs_reference: { against: 't', metric: 'box_f1', value: 0.5 } },
      ],
      't',
      { resamples: 20, seed: 1, level: 0.95 },
    );
    expect(s).toEqual([{ model: 's', against: 't', metric: 'box_f1', n: 1, mean: 0.5, ci: [0.5, 0.5] }]);
  });
});

describe('reading a results file', () => {
  it('reads the Python file, valid against the precompiled schema', () => {
    const r = readResults(PYTHON, 'gallery-detr.json');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.doc.images).toHaveLength(16);
    expect(resultsProblems(JSON.parse(PYTHON))).toEqual([]);
  });
  it('reads a 1.0 file (before box confusion and per-image AP)', () => {
    const old = readFileSync(join(__dirname, '../../tests/fixtures/results/gallery-detr-1.0.json'), 'utf8');
    const r = readResults(old, 'old.json');
    expect(r).toMatchObject({ ok: true, notes: [] });
    if (r.ok) expect(r.doc.version).toBe('1.0');
  });
  it('names what is wrong, and the fix', () => {
    expect(readResults('{', 'x.json')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^x.json is not JSON/),
    });
    expect(readResults('{"images": []}', 'coco.json')).toEqual({
      ok: false,
      problem: 'coco.json is JSON but not an AttnLens results file (no "format": "attnlens-results")',
    });
    const v2 = { ...JSON.parse(PYTHON), version: '2.0' };
    expect(readResults(JSON.stringify(v2), 'r.json')).toEqual({
      ok: false,
      problem: 'r.json is a results file of version 2.0; this AttnLens reads 1.x — update AttnLens',
    });
    const broken = JSON.parse(PYTHON);
    broken.rows[2].latency_ms = -5;
    delete broken.reference;
    const r = readResults(JSON.stringify(broken), 'r.json');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(/^r.json breaks the results format: .*reference.*rows\/2\/latency_ms/);
  });
  it('a newer 1.x is read, with a note; its new fields are kept', () => {
    const newer = { ...JSON.parse(PYTHON), version: '1.4', calibration: { ece: 0.1 } };
    const r = readResults(JSON.stringify(newer), 'r.json');
    expect(r).toMatchObject({
      ok: true,
      notes: ['r.json is results version 1.4: what is newer than 1.1 is not shown'],
    });
  });
});

describe('a model is named by its contract hash', () => {
  it('the same hash as the Python for every zoo contract in the Python file, and for two more', async () => {
    const doc = JSON.parse(PYTHON) as ResultsDocument;
    // printed by ml/attnlens_ml/results.py contract_hash
    const python: Record<string, string> = {
      ...Object.fromEntries(doc.models.map((m) => [m.id, m.contract_sha256])),
      'seg-teacher': 'a9c7bd6d79d3531be8975fd42236d7649c46cafd85b8620d9af3ae618ceda1a2',
      'vit-attn': '4e8009c6c96d30189d17d22c6f8a25a7b41fcafc08ac63ed52913192efe161ad',
    };
    for (const [id, hash] of Object.entries(python)) {
      const r = loadContract(new Uint8Array(readFileSync(join(__dirname, `../../public/models/${id}.onnx`))));
      if (!r.ok) throw new Error(r.problem);
      expect(await contractHash(r.contract), id).toBe(hash);
    }
  });
});

describe('box confusion over a set', () => {
  it('by hand: matched whatever the class, missed and extra boxes in the no-box row and column, F1 per class', () => {
    const pool = new BoxConfusionPool();
    // image 1: a bolt called a bolt, a nut called a bolt, an extra nut, a missed washer; image 2: one more bolt
    pool.add('s', 't', [
      { reference: 1, model: 1, count: 1 },
      { reference: 2, model: 1, count: 1 },
      { reference: null, model: 2, count: 1 },
      { reference: 3, model: null, count: 1 },
    ]);
    pool.add('s', 't', [{ reference: 1, model: 1, count: 1 }]);
    const { confusion, per_class } = pool.tables(new Map([[1, 'bolt']]));
    expect(confusion).toEqual([
      {
        model: 's',
        against: 't',
        unit: 'boxes',
        classes: ['bolt', 'class 2', 'class 3', NO_BOX],
        class_ids: [1, 2, 3, null],
        matrix: [
          [2, 0, 0, 0],
          [1, 0, 0, 0],
          [0, 0, 0, 1],
          [0, 1, 0, 0],
        ],
      },
    ]);
    // bolt: 2 hits, 0 missed, 1 extra (the nut called a bolt) → 4/5; nut and washer: no hit → 0
    expect(per_class.map((c) => [c.class_id, c.metric, c.value])).toEqual([
      [1, 'f1', 4 / 5],
      [2, 'f1', 0],
      [3, 'f1', 0],
    ]);
  });
  it("pools the Python run's box matrices back into the Python's tables and per-class F1", () => {
    const doc = JSON.parse(PYTHON) as ResultsDocument;
    const boxes = doc.confusion!.filter((t) => t.unit === 'boxes');
    expect(boxes).toHaveLength(3);
    const pool = new BoxConfusionPool();
    for (const t of boxes)
      pool.add(
        t.model,
        t.against,
        t.matrix.flatMap((row, i) =>
          row.map((count, j) => ({ reference: t.class_ids![i], model: t.class_ids![j], count })),
        ),
      );
    const names = new Map(boxes.flatMap((t) => t.class_ids!.map((k, i) => [k, t.classes[i]] as [number, string])));
    const ours = pool.tables(names);
    // cells that are zero everywhere drop out of a pool; every class the Python lists has a box somewhere
    expect(ours.confusion).toEqual(boxes);
    expect(ours.per_class).toEqual(doc.per_class!.filter((c) => c.metric === 'f1'));
  });
});
