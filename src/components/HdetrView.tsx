import { select } from 'd3-selection';
import { useEffect, useMemo, useRef, useState } from 'react';
import { DEFAULT_WEIGHTS, linearAssignment, matchingCost, matchRepeated, type MatchWeights } from '../analysis/matching';
import { range } from '../analysis/attention';
import { galleryObjects, loadGalleryCoco, type GalleryCoco } from '../app/controller';
import type { Contract } from '../contract';
import type { TensorPayload } from '../inference/protocol';
import { useStore, type ImageEntry } from '../state/store';
import { drawHeatmap } from '../viz/attention';
import { usePaneResult } from './Pane';
import { usePhoto } from './usePhoto';

type Gt = { classId: number; box: [number, number, number, number] }; // cxcywh normalised

function block(c: Contract, name: 'one_to_one' | 'one_to_many') {
  const logits = c.outputs.find((o) => o.role === 'box_logits' && o.block === name);
  const boxes = c.outputs.find((o) => o.role === 'boxes' && o.block === name && o.box_format === 'cxcywh_normalized');
  return logits && boxes ? { logits, boxes } : null;
}

/** H-DETR: one-to-one vs one-to-many assignment of objects to queries, the cost matrix, unassigned queries. */
export function HdetrView() {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const results = useStore((s) => s.results);
  const [coco, setCoco] = useState<GalleryCoco | null>(null);
  const [weights, setWeights] = useState<MatchWeights>(DEFAULT_WEIGHTS);
  const [k, setK] = useState(3);
  const [mode, setMode] = useState<'o2o' | 'o2m'>('o2o');
  useEffect(() => void loadGalleryCoco().then(setCoco), []);
  const detectors = models.filter((m) => slots[m]?.model && block(slots[m]!.model!.contract, 'one_to_one'));
  const pseudo = usePaneResult(detectors[0] ?? '', image);
  const gt: { objects: Gt[]; source: string } | null = useMemo(() => {
    if (!image) return null;
    const W = image.bitmap.width;
    const H = image.bitmap.height;
    const toGt = (d: { classId: number; x0: number; y0: number; x1: number; y1: number }): Gt =>
      ({ classId: d.classId, box: [(d.x0 + d.x1) / 2 / W, (d.y0 + d.y1) / 2 / H, (d.x1 - d.x0) / W, (d.y1 - d.y0) / H] });
    const truth = galleryObjects(coco, image);
    if (truth) return { source: 'ground truth (gallery COCO)', objects: truth.map(toGt) };
    if (pseudo?.kind === 'detection') return { source: `${detectors[0]}'s detections as pseudo ground truth`, objects: pseudo.detections.map(toGt) };
    return null;
  }, [image, coco, pseudo, detectors]);
  if (!detectors.length || !image || !gt) return null;
  return (
    <section className="mt-6" data-testid="hdetr-view">
      <h2 className="text-lg font-semibold">DETR queries: one-to-one vs one-to-many assignment</h2>
      <div className="flex flex-wrap items-center gap-4 text-sm">
        <label><input type="radio" checked={mode === 'o2o'} onChange={() => setMode('o2o')} /> one-to-one (Hungarian)</label>
        <label><input type="radio" data-testid="mode-o2m" checked={mode === 'o2m'} onChange={() => setMode('o2m')} /> one-to-many (objects × K)</label>
        <label>K <input data-testid="k" type="range" min={1} max={6} value={k} onChange={(e) => setK(Number(e.target.value))} /> {k}</label>
        {(['cls', 'l1', 'giou'] as const).map((key) => (
          <label key={key}>w_{key} <input type="number" step={0.5} min={0} value={weights[key]} className="w-14 bg-slate-800 p-1"
            onChange={(e) => setWeights({ ...weights, [key]: Number(e.target.value) })} /></label>
        ))}
      </div>
      <p className="text-xs text-slate-400">Objects: {gt.source} ({gt.objects.length}). Cost = w_cls·focal class cost + w_l1·‖b−b̂‖₁ + w_giou·(−GIoU), boxes (cx, cy, w, h) normalised.
        One-to-many uses the model's one-to-many query block when it exports one, else its one-to-one queries.</p>
      <div className="mt-2 flex flex-wrap gap-6">
        {detectors.map((id) => {
          const run = results[`${id}@${image.name}`];
          return run ? <AssignmentPanel key={id} id={id} contract={slots[id]!.model!.contract} outputs={run.outputs}
            image={image} gt={gt.objects} weights={weights} k={k} mode={mode} /> : null;
        })}
      </div>
    </section>
  );
}

function AssignmentPanel({ id, contract, outputs, image, gt, weights, k, mode }: {
  id: string; contract: Contract; outputs: Record<string, TensorPayload>; image: ImageEntry; gt: Gt[]; weights: MatchWeights; k: number; mode: 'o2o' | 'o2m';
}) {
  const svg = useRef<SVGSVGElement>(null);
  const heat = useRef<HTMLCanvasElement>(null);
  const photo = useRef<HTMLCanvasElement>(null);
  const chosen = (mode === 'o2m' && block(contract, 'one_to_many')) || block(contract, 'one_to_one')!;
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
    for (const [query, obj] of result.pairs) {
      const b = boxes.data.subarray(query * 4, query * 4 + 4);
      const colour = contract.classes[gt[obj].classId]?.color ?? '#38bdf8';
      root.append('line').attr('class', 'link').attr('x1', gt[obj].box[0] * W).attr('y1', gt[obj].box[1] * H).attr('x2', b[0] * W).attr('y2', b[1] * H)
        .attr('stroke', colour).attr('stroke-width', 0.8);
      root.append('rect').attr('x', (b[0] - b[2] / 2) * W).attr('y', (b[1] - b[3] / 2) * H).attr('width', b[2] * W).attr('height', b[3] * H)
        .attr('fill', 'none').attr('stroke', colour).attr('stroke-width', 0.6);
    }
    // cost matrix: rows = queries, cols = objects; assigned cells painted white
    const g = gt.length || 1;
    const [lo, hi] = range(Float32Array.from(result.cost));
    drawHeatmap(heat.current, Float32Array.from(result.cost), g, q, lo, hi);
    const ctx = heat.current.getContext('2d')!;
    ctx.fillStyle = '#fff';
    for (const [query, obj] of result.pairs) ctx.fillRect(obj, query, 1, 1);
  }, [result, gt, W, H, boxes, q, contract]);
  if (!result) return null;
  const assigned = new Set(result.pairs.map(([query]) => query)).size;
  return (
    <figure className="text-xs" data-testid={`hdetr-${id}`}>
      <div className="font-mono">{id} · {chosen.logits.block === 'one_to_many' ? `one-to-many block (${q} queries, trained with K=${chosen.logits.k})` : `one-to-one block (${q} queries)`}</div>
      <div className="flex gap-2">
        <div className="relative h-64 w-64">
          <canvas ref={photo} className="absolute inset-0 h-full w-full" />
          <svg ref={svg} className="absolute inset-0 h-full w-full" preserveAspectRatio="none" data-testid="links" />
        </div>
        <canvas ref={heat} className="h-64 w-16" style={{ imageRendering: 'pixelated' }} title="cost matrix: queries (rows) × objects (columns); white = assigned" />
      </div>
      <figcaption data-testid="assignment">{result.pairs.length} links · {assigned} of {q} queries assigned · {q - assigned} unassigned</figcaption>
    </figure>
  );
}
