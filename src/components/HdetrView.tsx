import { select } from 'd3-selection';
import { useEffect, useMemo, useRef } from 'react';
import { linearAssignment, matchingCost, matchRepeated, type MatchWeights } from '../analysis/matching';
import { range } from '../analysis/attention';
import { toCxcywh } from '../analysis/groundTruth';
import { detectionAt } from '../analysis/queries';
import type { Contract } from '../contract';
import type { TensorPayload } from '../inference/protocol';
import { queryBlock } from '../inference/queries';
import { MAX_K, type QuerySelection } from '../state/viewState';
import { useStore, type ImageEntry } from '../state/store';
import { drawHeatmap } from '../viz/attention';
import { useDetectors, useGroundTruth } from './useDetr';
import { usePhoto } from './usePhoto';

type Gt = { classId: number; box: [number, number, number, number] }; // cxcywh normalised

/** H-DETR: one-to-one vs one-to-many assignment of objects to queries, the cost matrix, unassigned queries. */
export function HdetrView() {
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const results = useStore((s) => s.results);
  const { weights, k, hmode: mode, selection } = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const detectors = useDetectors();
  const source = useGroundTruth(image);
  const gt: { objects: Gt[]; source: string } | null = useMemo(() => {
    if (!image || !source || source.kind === 'none') return null;
    return { source: source.label, objects: source.objects.map((d) => ({ classId: d.classId, box: toCxcywh(d, image.bitmap.width, image.bitmap.height) })) };
  }, [image, source]);
  if (!detectors.length || !image || !gt) return null;
  return (
    <section className="mt-6" data-testid="hdetr-view">
      <h2 className="text-lg font-semibold">DETR queries: one-to-one vs one-to-many assignment</h2>
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <label><input type="radio" data-testid="mode-o2o" checked={mode === 'o2o'} onChange={() => setView({ hmode: 'o2o' })} /> one-to-one (Hungarian)</label>
        <label><input type="radio" data-testid="mode-o2m" checked={mode === 'o2m'} onChange={() => setView({ hmode: 'o2m' })} /> one-to-many (objects × K)</label>
        <label>K <input data-testid="k" type="range" min={1} max={MAX_K} value={k} onChange={(e) => setView({ k: Number(e.target.value) })} /> {k}</label>
        {(['cls', 'l1', 'giou'] as const).map((key) => (
          <label key={key}>w_{key} <input data-testid={`w-${key}`} type="number" step={0.5} min={0} value={weights[key]} className="w-14 bg-slate-800 p-1"
            onChange={(e) => {
              const v = Number(e.target.value);
              if (e.target.value !== '' && Number.isFinite(v) && v >= 0) setView({ weights: { ...weights, [key]: v } });
            }} /></label>
        ))}
      </div>
      <p className="text-xs text-slate-400">Objects: {gt.source} ({gt.objects.length}). Cost = w_cls·focal class cost + w_l1·‖b−b̂‖₁ + w_giou·(−GIoU), boxes (cx, cy, w, h) normalised.
        One-to-many uses the model's one-to-many query block when it exports one, else its one-to-one queries.
        Click a predicted box to see its query's cross-attention.</p>
      <div className="mt-2 flex flex-wrap gap-6">
        {detectors.map((id) => {
          const run = results[`${id}@${image.name}`];
          return run ? <AssignmentPanel key={id} id={id} contract={slots[id]!.model!.contract} outputs={run.outputs}
            image={image} gt={gt.objects} weights={weights} k={k} mode={mode}
            selected={selection?.model === id ? selection : null} onSelect={(s) => setView({ selection: s })} /> : null;
        })}
      </div>
    </section>
  );
}

function AssignmentPanel({ id, contract, outputs, image, gt, weights, k, mode, selected, onSelect }: {
  id: string; contract: Contract; outputs: Record<string, TensorPayload>; image: ImageEntry; gt: Gt[]; weights: MatchWeights; k: number; mode: 'o2o' | 'o2m';
  selected: QuerySelection | null; onSelect: (s: QuerySelection) => void;
}) {
  const svg = useRef<SVGSVGElement>(null);
  const heat = useRef<HTMLCanvasElement>(null);
  const photo = useRef<HTMLCanvasElement>(null);
  const chosen = (mode === 'o2m' && queryBlock(contract, 'one_to_many')) || queryBlock(contract, 'one_to_one')!;
  const logits = outputs[chosen.logits.name];
  const boxes = outputs[chosen.boxes.name];
  const labels = chosen.logits.labels ?? [];
  const q = logits?.dims[1] ?? 0;
  const c = logits?.dims[2] ?? 0;
  const result = useMemo(() => {
    if (!logits || !boxes) return null;
    const cost = matchingCost(logits.data, boxes.data, q, c, gt.map((g) => labels.indexOf(g.classId)), gt.map((g) => g.box), weights);
    const pairs = mode === 'o2m' ? matchRepeated(cost, q, gt.length, k) : linearAssignment(cost, q, gt.length);
    return { cost, pairs };
  }, [logits, boxes, q, c, gt, labels, weights, mode, k]);
  const W = image.bitmap.width;
  const H = image.bitmap.height;
  usePhoto(photo, image);
  useEffect(() => {
    if (!result || !svg.current || !heat.current) return;
    const root = select(svg.current).attr('viewBox', `0 0 ${W} ${H}`);
    root.selectAll('*').remove();
    gt.forEach((g) => root.append('rect').attr('class', 'gt').attr('x', (g.box[0] - g.box[2] / 2) * W).attr('y', (g.box[1] - g.box[3] / 2) * H)
      .attr('width', g.box[2] * W).attr('height', g.box[3] * H).attr('fill', 'none').attr('stroke', '#fff').attr('stroke-dasharray', '2 2').attr('stroke-width', 0.8));
    const blockName = chosen.logits.block!;
    for (const [query, obj] of result.pairs) {
      const b = boxes.data.subarray(query * 4, query * 4 + 4);
      const colour = contract.classes[gt[obj].classId]?.color ?? '#38bdf8';
      const isSelected = selected?.block === blockName && selected.query === query;
      root.append('line').attr('class', 'link').attr('x1', gt[obj].box[0] * W).attr('y1', gt[obj].box[1] * H).attr('x2', b[0] * W).attr('y2', b[1] * H)
        .attr('stroke', colour).attr('stroke-width', 0.8);
      root.append('rect').attr('class', 'pred').attr('data-query', query).attr('data-selected', isSelected ? 'true' : null)
        .attr('x', (b[0] - b[2] / 2) * W).attr('y', (b[1] - b[3] / 2) * H).attr('width', b[2] * W).attr('height', b[3] * H)
        .attr('fill', 'none').attr('stroke', colour).attr('stroke-width', isSelected ? 1.8 : 0.6);
    }
    // cost matrix: rows = queries, cols = objects; assigned cells painted white
    const g = gt.length || 1;
    const [lo, hi] = range(Float32Array.from(result.cost));
    drawHeatmap(heat.current, Float32Array.from(result.cost), g, q, lo, hi);
    const ctx = heat.current.getContext('2d')!;
    ctx.fillStyle = '#fff';
    for (const [query, obj] of result.pairs) ctx.fillRect(obj, query, 1, 1);
  }, [result, gt, W, H, boxes, q, contract, selected, chosen.logits.block]);
  // A click picks the assigned query whose predicted box is under it (the smallest, if boxes nest).
  const onClick = (e: React.MouseEvent<SVGSVGElement>) => {
    if (!result) return;
    const r = e.currentTarget.getBoundingClientRect();
    const x = ((e.clientX - r.left) / r.width) * W;
    const y = ((e.clientY - r.top) / r.height) * H;
    const assigned = [...new Set(result.pairs.map(([query]) => query))].map((query) => {
      const [cx, cy, bw, bh] = boxes.data.subarray(query * 4, query * 4 + 4);
      return { query, score: 0, classId: 0, x0: (cx - bw / 2) * W, y0: (cy - bh / 2) * H, x1: (cx + bw / 2) * W, y1: (cy + bh / 2) * H };
    });
    const hit = detectionAt(assigned, x, y);
    if (hit) onSelect({ model: id, block: chosen.logits.block!, query: hit.query });
  };
  if (!result) return null;
  const assigned = new Set(result.pairs.map(([query]) => query)).size;
  return (
    <figure className="text-xs" data-testid={`hdetr-${id}`}>
      <div className="font-mono">{id} · {chosen.logits.block === 'one_to_many' ? `one-to-many block (${q} queries, trained with K=${chosen.logits.k})` : `one-to-one block (${q} queries)`}</div>
      <div className="flex gap-2">
        <div className="relative h-64 w-64">
          <canvas ref={photo} className="absolute inset-0 h-full w-full" />
          <svg ref={svg} className="absolute inset-0 h-full w-full cursor-pointer" preserveAspectRatio="none" data-testid="links" onClick={onClick} />
        </div>
        <canvas ref={heat} className="h-64 w-16" style={{ imageRendering: 'pixelated' }} title="cost matrix: queries (rows) × objects (columns); white = assigned" />
      </div>
      <figcaption data-testid="assignment">{result.pairs.length} links · {assigned} of {q} queries assigned · {q - assigned} unassigned</figcaption>
    </figure>
  );
}
