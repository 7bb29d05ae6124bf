/**
 * The data-set results file (contract/attnlens-results.schema.json, docs/results.md), TypeScript half: types,
 * summaries over per-image rows, and reading a file back — the same rules as ml/attnlens_ml/results.py.
 * The schema is compiled at build time (no eval under the app's CSP).
 */
import schemaCheck from 'virtual:attnlens-results-validator';
import type { BoxPair } from '../analysis/boxes';
import type { Failures } from './failures';
import type { MeanMap } from './meanMaps';
import { type BootstrapSettings, bootstrapInterval, mean } from './stats';

export const RESULTS_VERSION = '1.1';
export const TRUTH = 'ground truth';

export type Metric = 'mask_miou' | 'box_f1' | 'pixel_agreement' | 'box_ap' | 'box_ap50';

export interface Comparison {
  against: string;
  metric: Metric;
  /** null: nothing to compare (neither side has a part or a box). */
  value: number | null;
  pixel_agreement?: number;
  precision?: number;
  recall?: number;
  matched?: number;
  predicted?: number;
  reference_count?: number;
  /** Boxes against ground truth: COCO AP (IoU .50:.95) and AP50 of this image alone, null without objects. */
  ap?: number | null;
  ap50?: number | null;
}

export interface ResultRow {
  image: string;
  model: string;
  latency_ms?: number | null;
  error?: string;
  vs_reference?: Comparison | null;
  vs_truth?: Comparison | null;
  failures?: Failures;
  methods?: {
    attnfd?: { sites?: { site: string; distance?: number | null; cosine?: number | null }[] };
    ks?: { foreground_share?: number | null };
    vit?: { pseudo_mask_iou?: number | null };
    sak?: { router?: Record<string, number> };
  };
}

export interface SummaryEntry {
  model: string;
  against: string;
  metric: Metric;
  n: number;
  mean: number | null;
  ci: [number, number] | null;
  share_of_reference?: number | null;
}

export interface ResultsModel {
  id: string;
  name?: string;
  role: 'teacher' | 'student';
  task: 'segmentation' | 'detection' | 'classification' | 'features';
  contract_sha256: string;
  bytes?: number;
  threshold?: number | null;
}

export interface ResultsImage {
  id: string;
  name: string;
  width: number;
  height: number;
  truth?: boolean;
}

export interface ResultsDocument {
  format: 'attnlens-results';
  version: string;
  created?: string;
  producer: { name: 'attnlens-app' | 'attnlens_ml.evaluate'; version?: string; runtime: string };
  settings: {
    iou: number;
    threshold?: number | null;
    bootstrap: BootstrapSettings;
    /** The app: the ViT pseudo-mask rule behind methods.vit (layer −1 = last). */
    vit?: { layer: number; mass: number };
  };
  models: ResultsModel[];
  reference: string;
  ground_truth?: { source: string; classes?: string[] } | null;
  images: ResultsImage[];
  skipped?: { name: string; reason: string }[];
  rows: ResultRow[];
  summary: SummaryEntry[];
  per_class?: {
    model: string;
    against: string;
    metric: 'iou' | 'f1';
    class_id: number;
    class?: string;
    value: number | null;
  }[];
  confusion?: ConfusionTable[];
  maps?: MeanMap[];
}

export interface ConfusionTable {
  model: string;
  against: string;
  /** 1.1: what is counted (absent in 1.0 files: pixels). */
  unit?: 'pixels' | 'boxes';
  classes: string[];
  /** 1.1: the class id of each row and column; null: no box (boxes only). */
  class_ids?: (number | null)[];
  matrix: number[][];
}

/**
 * Per (model, against, metric), in first-seen order: the mean over images with a number, its bootstrap
 * interval, and against ground truth the share of the reference model's mean.
 */
export function summarise(rows: readonly ResultRow[], reference: string, b: BootstrapSettings): SummaryEntry[] {
  const groups = new Map<string, { model: string; against: string; metric: Metric; values: number[] }>();
  for (const row of rows)
    for (const c of [row.vs_reference, row.vs_truth]) {
      if (!c) continue;
      const key = JSON.stringify([row.model, c.against, c.metric]);
      const g = groups.get(key) ?? { model: row.model, against: c.against, metric: c.metric, values: [] };
      groups.set(key, g);
      if (c.value !== null) g.values.push(c.value);
    }
  const means = new Map([...groups].map(([k, g]) => [k, mean(g.values)]));
  return [...groups].map(([key, g]) => {
    const entry: SummaryEntry = {
      model: g.model,
      against: g.against,
      metric: g.metric,
      n: g.values.length,
      mean: means.get(key)!,
      ci: bootstrapInterval(g.values, b),
    };
    if (g.against === TRUTH && g.model !== reference) {
      const ref = means.get(JSON.stringify([reference, g.against, g.metric]));
      entry.share_of_reference = ref && entry.mean !== null ? entry.mean / ref : null;
    }
    return entry;
  });
}

/** Schema problems of a results document, in words ('rows/3/model: must be string'); empty when valid. */
export function resultsProblems(doc: unknown): string[] {
  if (schemaCheck(doc)) return [];
  return (schemaCheck.errors ?? []).map((e) => `${e.instancePath.slice(1) || '(top)'}: ${e.message ?? 'invalid'}`);
}

export type ReadResults = { ok: true; doc: ResultsDocument; notes: string[] } | { ok: false; problem: string };

/** A results file's text → the document, or what is wrong with it and what to do, in words. */
export function readResults(text: string, fileName: string): ReadResults {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `${fileName} is not JSON (${(e as Error).message})` };
  }
  const d = doc as Partial<ResultsDocument> | null;
  if (!d || typeof d !== 'object' || d.format !== 'attnlens-results')
    return {
      ok: false,
      problem: `${fileName} is JSON but not an AttnLens results file (no "format": "attnlens-results")`,
    };
  const major = typeof d.version === 'string' ? d.version.split('.')[0] : '';
  if (major !== '1')
    return {
      ok: false,
      problem: `${fileName} is a results file of version ${String(d.version)}; this AttnLens reads 1.x — update AttnLens`,
    };
  const problems = resultsProblems(doc);
  if (problems.length)
    return {
      ok: false,
      problem: `${fileName} breaks the results format: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
    };
  const notes: string[] = [];
  const [, minor] = d.version!.split('.').map(Number);
  if (minor > Number(RESULTS_VERSION.split('.')[1]))
    notes.push(`${fileName} is results version ${d.version}: what is newer than ${RESULTS_VERSION} is not shown`);
  return { ok: true, doc: doc as ResultsDocument, notes };
}

/** Pixel confusion summed over images per (model, against); matrices of different sizes grow to the larger. */
export class ConfusionPool {
  private pools = new Map<string, { model: string; against: string; classes: number; counts: Float64Array }>();

  add(model: string, against: string, classes: number, counts: Float64Array): void {
    const key = JSON.stringify([model, against]);
    const p = this.pools.get(key);
    if (!p) {
      this.pools.set(key, { model, against, classes, counts: counts.slice() });
      return;
    }
    const size = Math.max(p.classes, classes);
    if (size !== p.classes) {
      const grown = new Float64Array(size * size);
      for (let i = 0; i < p.classes; i++)
        for (let j = 0; j < p.classes; j++) grown[i * size + j] = p.counts[i * p.classes + j];
      p.counts = grown;
      p.classes = size;
    }
    for (let i = 0; i < classes; i++)
      for (let j = 0; j < classes; j++) p.counts[i * size + j] += counts[i * classes + j];
  }

  /** The document's `confusion` (class names by id, else 'class k') and `per_class` (pooled IoU per class). */
  tables(names: Map<number, string>): Required<Pick<ResultsDocument, 'confusion' | 'per_class'>> {
    const confusion: NonNullable<ResultsDocument['confusion']> = [];
    const perClass: NonNullable<ResultsDocument['per_class']> = [];
    for (const p of this.pools.values()) {
      const n = p.classes;
      const classNames = Array.from({ length: n }, (_, k) => names.get(k) ?? `class ${k}`);
      const matrix = Array.from({ length: n }, (_, i) => Array.from(p.counts.subarray(i * n, i * n + n)));
      const ids = Array.from({ length: n }, (_, k) => k);
      confusion.push({
        model: p.model,
        against: p.against,
        unit: 'pixels',
        classes: classNames,
        class_ids: ids,
        matrix,
      });
      for (let k = 0; k < n; k++) {
        let row = 0;
        let col = 0;
        for (let j = 0; j < n; j++) {
          row += matrix[k][j];
          col += matrix[j][k];
        }
        const inter = matrix[k][k];
        const union = row + col - inter;
        perClass.push({
          model: p.model,
          against: p.against,
          metric: 'iou',
          class_id: k,
          class: classNames[k],
          value: union > 0 ? inter / union : null,
        });
      }
    }
    return { confusion, per_class: perClass };
  }
}

/** The name of a box confusion's row or column. */
export const NO_BOX = 'no box';

/**
 * Box confusion (boxConfusion's pairs) summed over images per (model, against): a matrix over the class ids
 * either side gave, in id order, then a last row and column "no box"; per class the F1 of boxes of that class
 * (2·matched / (2·matched + missed + extra), the no-box cells and other classes counting as errors).
 */
export class BoxConfusionPool {
  private pools = new Map<string, { model: string; against: string; cells: Map<string, BoxPair> }>();

  add(model: string, against: string, pairs: readonly BoxPair[]): void {
    const key = JSON.stringify([model, against]);
    const p = this.pools.get(key) ?? { model, against, cells: new Map<string, BoxPair>() };
    this.pools.set(key, p);
    for (const c of pairs) {
      const k = `${c.reference}|${c.model}`;
      const cell = p.cells.get(k) ?? { reference: c.reference, model: c.model, count: 0 };
      cell.count += c.count;
      p.cells.set(k, cell);
    }
  }

  tables(names: Map<number, string>): Required<Pick<ResultsDocument, 'confusion' | 'per_class'>> {
    const confusion: ConfusionTable[] = [];
    const perClass: NonNullable<ResultsDocument['per_class']> = [];
    for (const p of this.pools.values()) {
      const cells = [...p.cells.values()];
      const classIds = [...new Set(cells.flatMap((c) => [c.reference, c.model]).filter((k) => k !== null))].sort(
        (a, b) => a - b,
      );
      const ids: (number | null)[] = [...classIds, null];
      const at = new Map(ids.map((k, i) => [k, i]));
      const matrix = ids.map(() => ids.map(() => 0));
      for (const c of cells) matrix[at.get(c.reference)!][at.get(c.model)!] += c.count;
      const classes = ids.map((k) => (k === null ? NO_BOX : (names.get(k) ?? `class ${k}`)));
      confusion.push({ model: p.model, against: p.against, unit: 'boxes', classes, class_ids: ids, matrix });
      classIds.forEach((k, i) => {
        const hit = matrix[i][i];
        const missed = matrix[i].reduce((a, b) => a + b, 0) - hit;
        const extra = matrix.reduce((a, row) => a + row[i], 0) - hit;
        const denominator = 2 * hit + missed + extra;
        perClass.push({
          model: p.model,
          against: p.against,
          metric: 'f1',
          class_id: k,
          class: classes[i],
          value: denominator > 0 ? (2 * hit) / denominator : null,
        });
      });
    }
    return { confusion, per_class: perClass };
  }
}
