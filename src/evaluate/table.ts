/** The Evaluate table (pure): one row an image, one column per comparison, sorted and filtered. */
import type { ResultsDocument, ResultsImage, SummaryEntry } from './results';

export interface Column {
  key: string;
  model: string;
  against: string;
  metric: string;
}

export interface TableRow {
  image: ResultsImage;
  /** Column key → value (null: nothing to compare; absent: not computed). */
  values: Record<string, number | null>;
  latency: Record<string, number | null>;
  errors: string[];
  /** Per model: ground-truth objects or pixels only the reference gets right on this image. */
  missed: Record<string, number>;
}

export const columnKey = (model: string, against: string) => `${model} vs ${against}`;
/** A detector's per-image COCO AP against ground truth (beside its box F1). */
const apColumnKey = (model: string, against: string) => `${model} AP vs ${against}`;

/** Columns in the summary's order (students against the reference first, then against ground truth). */
export function tableOf(doc: ResultsDocument): { columns: Column[]; rows: TableRow[] } {
  const columns: Column[] = [];
  const seen = new Set<string>();
  for (const r of doc.rows)
    for (const c of [r.vs_reference, r.vs_truth]) {
      if (!c) continue;
      const found = [{ key: columnKey(r.model, c.against), metric: c.metric }];
      if (c.ap !== undefined) found.push({ key: apColumnKey(r.model, c.against), metric: 'box_ap' });
      for (const { key, metric } of found) {
        if (seen.has(key)) continue;
        seen.add(key);
        columns.push({ key, model: r.model, against: c.against, metric });
      }
    }
  columns.sort((a, b) => Number(a.against !== doc.reference) - Number(b.against !== doc.reference));
  const byImage = new Map<string, TableRow>(
    doc.images.map((image) => [image.id, { image, values: {}, latency: {}, errors: [], missed: {} }]),
  );
  for (const r of doc.rows) {
    const row = byImage.get(r.image);
    if (!row) continue;
    row.latency[r.model] = r.latency_ms ?? null;
    if (r.error) row.errors.push(r.error);
    if (r.failures) row.missed[r.model] = r.failures.only_reference;
    for (const c of [r.vs_reference, r.vs_truth]) {
      if (!c) continue;
      row.values[columnKey(r.model, c.against)] = c.value;
      if (c.ap !== undefined) row.values[apColumnKey(r.model, c.against)] = c.ap;
    }
  }
  return { columns, rows: [...byImage.values()] };
}

/** The lowest agreement of any student with the reference on this image (the disagreement ranking), or null. */
export function worstAgreement(row: TableRow, columns: Column[], reference: string): number | null {
  let worst: number | null = null;
  for (const c of columns) {
    if (c.against !== reference) continue;
    const v = row.values[c.key];
    if (typeof v === 'number' && (worst === null || v < worst)) worst = v;
  }
  return worst;
}

export type SortKey = 'name' | 'worst' | string;
/** Sort key prefix of a model's "only the reference gets it" column. */
export const MISSED = 'missed:';

/** Sorted by a column (images without a number last, whatever the direction), then by name. */
export function sortRows(
  rows: TableRow[],
  key: SortKey,
  descending: boolean,
  columns: Column[],
  reference: string,
): TableRow[] {
  const value = (r: TableRow): number | string | null =>
    key === 'name'
      ? r.image.name
      : key === 'worst'
        ? worstAgreement(r, columns, reference)
        : key.startsWith(MISSED)
          ? (r.missed[key.slice(MISSED.length)] ?? null)
          : (r.values[key] ?? null);
  return [...rows].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null || vb === null) return va === vb ? a.image.name.localeCompare(b.image.name) : va === null ? 1 : -1;
    const order = typeof va === 'string' ? va.localeCompare(vb as string) : va - (vb as number);
    return (descending ? -order : order) || a.image.name.localeCompare(b.image.name);
  });
}

export const filterRows = (rows: TableRow[], text: string): TableRow[] => {
  const t = text.trim().toLowerCase();
  return t ? rows.filter((r) => r.image.name.toLowerCase().includes(t)) : rows;
};

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

/** "43.0 % [38.2, 47.9] over 16 images" — or why there is no number. */
export function summaryText(s: SummaryEntry): string {
  if (s.mean === null) return `no image had anything to compare (n = 0)`;
  const ci = s.ci ? ` [${(100 * s.ci[0]).toFixed(1)}, ${(100 * s.ci[1]).toFixed(1)}]` : '';
  return `${pct(s.mean)}${ci} over ${s.n} image${s.n === 1 ? '' : 's'}`;
}

export const METRIC_NAMES: Record<string, string> = {
  mask_miou: 'mask mIoU',
  box_f1: 'box F1 @ IoU 0.5',
  pixel_agreement: 'pixel agreement',
  box_ap: 'COCO box AP @ IoU .50:.95 (all images pooled: no interval)',
  box_ap50: 'COCO box AP @ IoU .50 (all images pooled: no interval)',
};

/** Mean latency per model over the rows that ran. */
export function meanLatency(doc: ResultsDocument): Record<string, number | null> {
  const sums = new Map<string, [number, number]>();
  for (const r of doc.rows) {
    if (typeof r.latency_ms !== 'number') continue;
    const [s, n] = sums.get(r.model) ?? [0, 0];
    sums.set(r.model, [s + r.latency_ms, n + 1]);
  }
  return Object.fromEntries(
    doc.models.map((m) => [m.id, sums.has(m.id) ? sums.get(m.id)![0] / sums.get(m.id)![1] : null]),
  );
}

/** Failures against ground truth summed over the set, per model (beside the reference). */
export function failureTotals(doc: ResultsDocument) {
  const totals = new Map<
    string,
    { unit: string; only_reference: number; only_model: number; neither: number; total: number }
  >();
  for (const r of doc.rows) {
    const f = r.failures;
    if (!f) continue;
    const t = totals.get(r.model) ?? { unit: f.unit, only_reference: 0, only_model: 0, neither: 0, total: 0 };
    t.only_reference += f.only_reference;
    t.only_model += f.only_model;
    t.neither += f.neither;
    t.total += f.total;
    totals.set(r.model, t);
  }
  return [...totals].map(([model, t]) => ({ model, ...t }));
}

/** Each method's numbers averaged over the images that have them: "model · what" → mean and count. */
export function methodMeans(doc: ResultsDocument): { model: string; what: string; mean: number; n: number }[] {
  const acc = new Map<string, { model: string; what: string; sum: number; n: number }>();
  const add = (model: string, what: string, v: number | null | undefined) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    const key = `${model}\u0000${what}`;
    const a = acc.get(key) ?? { model, what, sum: 0, n: 0 };
    a.sum += v;
    a.n++;
    acc.set(key, a);
  };
  for (const r of doc.rows) {
    for (const s of r.methods?.attnfd?.sites ?? []) add(r.model, `AttnFD distance at ${s.site}`, s.distance);
    for (const [path, w] of Object.entries(r.methods?.sak?.router ?? {}))
      add(r.model, `SAK router weight of ${path}`, w);
    add(r.model, 'KS-DETR foreground share', r.methods?.ks?.foreground_share);
    add(r.model, 'ViT pseudo-mask IoU', r.methods?.vit?.pseudo_mask_iou);
  }
  return [...acc.values()].map(({ model, what, sum, n }) => ({ model, what, mean: sum / n, n }));
}
