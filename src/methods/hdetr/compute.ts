/** The H-DETR view model (pure): ground truth → the model's normalised input frame, cost matrix, assignment. */
import { type Box, toCxcywhNormalized } from '../../analysis/boxes';
import { count } from '../../analysis/finiteness';
import { boxToImage, boxToInput } from '../../analysis/geometry';
import type { GtObject } from '../../analysis/groundTruth';
import {
  type Assignment,
  assign,
  assignmentWork,
  assignRepeated,
  MAX_ASSIGNMENT_WORK,
  matchingCost,
} from '../../analysis/matching';
import type { Contract } from '../../contract';
import type { Run } from '../../state/runs';
import { type BlockName, queryBlock } from '../detr/contract';
import type { HdetrSettings } from './index';

export interface AssignmentModel {
  block: BlockName;
  queries: number;
  /** The block was trained with K copies (one-to-many blocks). */
  trainedK: number | null;
  /** Objects used (in image pixels) and those left out because the model has no such class. */
  objects: GtObject[];
  skipped: { count: number; classes: number[] };
  /** [query, object] pairs. */
  pairs: [number, number][];
  cost: Float64Array;
  /** Assigned queries' predicted boxes, in image pixels. */
  predicted: Map<number, Box>;
  assigned: number;
  /**
   * What the assignment left out or could not trust, in words: ground-truth classes the model lacks (or names
   * differently), queries whose scores or boxes are NaN or infinite.
   */
  notes: string[];
}

/** Class ids as ranges: [0, 1, 2] → "0–2", [1, 3, 4, 5] → "1, 3–5". */
export function idRanges(ids: number[]): string {
  const s = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(j === i ? `${s[i]}` : `${s[i]}–${s[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

/** Query indices as ranges, at most 10 of them ("0–4, 9 and 3 more ranges"). */
function listed(xs: number[], max = 10): string {
  const parts = idRanges(xs).split(', ');
  return parts.length <= max
    ? parts.join(', ')
    : `${parts.slice(0, max).join(', ')} and ${parts.length - max} more ranges`;
}

/** Queries with a NaN or infinite score (in the used columns) or box coordinate. */
function brokenQueries(
  logits: ArrayLike<number>,
  boxes: ArrayLike<number>,
  queries: number,
  columns: number,
): number[] {
  const out: number[] = [];
  for (let q = 0; q < queries; q++) {
    let ok = true;
    for (let k = 0; k < columns && ok; k++) ok = Number.isFinite(logits[q * columns + k]);
    for (let k = 0; k < 4 && ok; k++) ok = Number.isFinite(boxes[q * 4 + k]);
    if (!ok) out.push(q);
  }
  return out;
}

/** Object corners in image pixels → (cx, cy, w, h) normalised to the model input, the frame its boxes use. */
export function toModelCxcywh(b: Box, run: Pick<Run, 'placement'>): [number, number, number, number] {
  const p = run.placement;
  const i = boxToInput(p, b);
  return [
    (i.x0 + i.x1) / 2 / p.inputWidth,
    (i.y0 + i.y1) / 2 / p.inputHeight,
    (i.x1 - i.x0) / p.inputWidth,
    (i.y1 - i.y0) / p.inputHeight,
  ];
}

/** A normalised (cx, cy, w, h) in the model input → corners in image pixels. */
export function fromModelCxcywh(b: ArrayLike<number>, run: Pick<Run, 'placement'>): Box {
  const p = run.placement;
  const [cx, cy, w, h] = [b[0] * p.inputWidth, b[1] * p.inputHeight, b[2] * p.inputWidth, b[3] * p.inputHeight];
  return boxToImage(p, { x0: cx - w / 2, y0: cy - h / 2, x1: cx + w / 2, y1: cy + h / 2 });
}

export function computeAssignment(
  contract: Contract,
  run: Run,
  gt: GtObject[],
  settings: HdetrSettings,
  /** The ground truth's own name for a class id (its COCO category), for the notes. */
  gtName: (classId: number) => string | undefined = () => undefined,
): AssignmentModel | string {
  const block = (settings.mode === 'o2m' && queryBlock(contract, 'one_to_many')) || queryBlock(contract, 'one_to_one');
  if (!block) return 'its contract declares no one-to-one query block';
  if (block.logits.activation === 'softmax')
    return "its query block scores with softmax, and this view's matching cost is H-DETR's focal (sigmoid) class cost";
  const logits = run.outputs[block.logits.name];
  const raw = run.outputs[block.boxes.name];
  if (!logits || !raw) return 'the run has no query outputs';
  const p = run.placement;
  const boxes = {
    data: toCxcywhNormalized(raw.data, block.boxes.box_format ?? 'cxcywh_normalized', p.inputWidth, p.inputHeight),
  };
  const labels = block.logits.labels ?? [];
  const q = logits.dims[1];
  const c = logits.dims[2];
  // A label past the logit columns has no score to cost: treated like a class the model lacks.
  const usable = (id: number) => {
    const i = labels.indexOf(id);
    return i >= 0 && i < c;
  };
  const known = gt.filter((g) => usable(g.classId));
  const unknown = gt.filter((g) => !usable(g.classId));
  const notes = classNotes(contract, labels.filter(usable), gt, unknown, gtName);
  const cap = settings.mode === 'o2m' ? settings.k : 1;
  if (assignmentWork(q, known.length * cap) > MAX_ASSIGNMENT_WORK)
    return `${count(q)} queries × ${count(known.length)} objects${cap > 1 ? ` × K=${cap}` : ''} is too large an assignment to solve in the page`;
  const broken = brokenQueries(logits.data, boxes.data, q, c);
  // Zero queries are none broken: that is an empty assignment, not a NaN one (0 === 0 said otherwise).
  if (known.length && q > 0 && broken.length === q)
    return `every query of its ${block.logits.block?.replace(/_/g, '-')} block has NaN or infinite scores or boxes: there is no assignment to show`;
  const cost = matchingCost(
    logits.data,
    boxes.data,
    q,
    c,
    known.map((g) => labels.indexOf(g.classId)),
    known.map((g) => toModelCxcywh(g, run)),
    settings.weights,
  );
  const solved: Assignment =
    settings.mode === 'o2m' ? assignRepeated(cost, q, known.length, settings.k) : assign(cost, q, known.length);
  const pairs = solved.pairs;
  if (broken.length)
    notes.push(
      `quer${broken.length === 1 ? 'y' : 'ies'} ${listed(broken)} of the ${block.logits.block?.replace(/_/g, '-')} block ${broken.length === 1 ? 'has' : 'have'} NaN or infinite scores or boxes: ${broken.length === 1 ? 'its costs are' : 'their costs are'} replaced by a penalty above every finite cost, so ${broken.length === 1 ? 'it is' : 'they are'} assigned only when no finite query is left${solved.penalisedPairs ? ` (${solved.penalisedPairs} of the links ${solved.penalisedPairs === 1 ? 'is' : 'are'})` : ''}`,
    );
  // A query whose box is not a number has no box to draw; it still counts as assigned.
  const predicted = new Map<number, Box>();
  const assignedQueries = new Set<number>();
  for (const [query] of pairs) {
    assignedQueries.add(query);
    const b = boxes.data.subarray(query * 4, query * 4 + 4);
    if (b.every(Number.isFinite)) predicted.set(query, fromModelCxcywh(b, run));
  }
  return {
    block: block.logits.block as BlockName,
    queries: q,
    trainedK: block.logits.k ?? null,
    objects: known,
    skipped: { count: unknown.length, classes: [...new Set(unknown.map((g) => g.classId))] },
    pairs,
    cost,
    predicted,
    assigned: assignedQueries.size,
    notes,
  };
}

/**
 * Ground-truth classes the model has no score for ("ground-truth class 7 'foo' is not among the model's classes
 * 0–2: those objects are left out of the assignment"), and classes it has under another name.
 */
function classNotes(
  contract: Contract,
  labels: number[],
  gt: GtObject[],
  unknown: GtObject[],
  gtName: (classId: number) => string | undefined,
): string[] {
  const notes: string[] = [];
  const named = (id: number) => {
    const n = gtName(id);
    return n ? `${id} '${n}'` : `${id}`;
  };
  const missing = [...new Set(unknown.map((g) => g.classId))].sort((a, b) => a - b);
  for (const id of missing) {
    const n = unknown.filter((g) => g.classId === id).length;
    notes.push(
      `ground-truth class ${named(id)} is not among the model's classes ${labels.length ? idRanges(labels) : '(none declared)'}: ${n === 1 ? 'that object is' : 'those objects are'} left out of the assignment`,
    );
  }
  const seen = [...new Set(gt.map((g) => g.classId))].filter((id) => !missing.includes(id)).sort((a, b) => a - b);
  for (const id of seen) {
    const theirs = gtName(id);
    const ours = contract.classes.find((k) => k.id === id)?.name;
    if (theirs && ours && theirs.toLowerCase() !== ours.toLowerCase())
      notes.push(
        `ground-truth class ${id} '${theirs}' is the model's class ${id} '${ours}': matched by id, the names differ`,
      );
  }
  return notes;
}
