import { useEffect, useRef, useState } from 'react';
import type { Box } from '../analysis/boxes';
import { boxFromDrag, cocoObjects, type GtSource } from '../analysis/groundTruth';
import type { ContractClass } from '../contract';
import { importCoco } from '../app/controller';
import { encoderAttention } from '../inference/views';
import { useGroundTruthStore } from '../state/groundTruth';
import { useStore, type ImageEntry } from '../state/store';
import { drawGroundTruth } from '../viz/detr';
import { useDetectors, useGroundTruth, usePseudoModel } from './useDetr';
import { usePhoto } from './usePhoto';

/**
 * The ground truth the DETR views (H-DETR matching, KS-DETR's fg mask) use, and where it comes from: boxes drawn
 * here (drag to draw, pick the class first; delete or clear), an imported COCO file, the gallery's, or the teacher.
 */
export function GroundTruthPanel() {
  const image = useStore((s) => s.images[s.current]);
  const slots = useStore((s) => s.slots);
  const models = useStore((s) => s.view.models);
  const detectors = useDetectors();
  const pseudoModel = usePseudoModel();
  const gt = useGroundTruth(image);
  const contract = (pseudoModel && slots[pseudoModel]?.model?.contract)
    || models.map((m) => slots[m]?.model?.contract).find((c) => c && encoderAttention(c));
  if (!image || !contract || !gt) return null;
  // Mounted only once there is something to draw on, so its canvas exists when the photo is painted.
  return <Editor key={image.name} image={image} gt={gt} classes={contract.classes} pseudoModel={pseudoModel} detectors={detectors.length} />;
}

function Editor({ image, gt, classes, pseudoModel, detectors }: {
  image: ImageEntry; gt: GtSource; classes: ContractClass[]; pseudoModel: string | undefined; detectors: number;
}) {
  const { drawn, imported, drawClass, addBox, removeBox, clear, setDrawClass } = useGroundTruthStore();
  const photo = useRef<HTMLCanvasElement>(null);
  const svg = useRef<SVGSVGElement>(null);
  const [start, setStart] = useState<[number, number] | null>(null);
  const [draft, setDraft] = useState<Box | null>(null);
  const mine = drawn[image.name] ?? [];
  usePhoto(photo, image);
  const W = image.bitmap.width;
  const H = image.bitmap.height;
  useEffect(() => {
    if (svg.current) drawGroundTruth(svg.current, gt.objects, classes, W, H, gt.kind === 'drawn', draft);
  }, [gt, classes, W, H, draft]);
  const point = (e: React.PointerEvent<SVGSVGElement>): [number, number] => {
    const r = e.currentTarget.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * W, ((e.clientY - r.top) / r.height) * H];
  };
  const inImported = imported ? cocoObjects(imported.coco, image.name) : null;
  const name = (id: number) => classes.find((c) => c.id === id)?.name ?? `class ${id}`;
  return (
    <section className="mt-6" data-testid="gt-panel">
      <h2 className="text-lg font-semibold">Ground truth for the detection views</h2>
      <p className="text-sm" data-testid="gt-source" data-kind={gt.kind}>Using: {gt.label} ({gt.objects.length} object{gt.objects.length === 1 ? '' : 's'})</p>
      <p className="text-xs text-slate-400">Order of precedence: boxes you draw on this image, then an imported COCO file (matched by file_name),
        then the gallery's COCO, then {pseudoModel ? `${pseudoModel}'s` : 'the teacher\'s'} detections as pseudo ground truth.
        H-DETR's matching and KS-DETR's foreground mask both use it.</p>
      <div className="mt-2 flex flex-wrap gap-4 text-xs">
        <div className="relative h-64 w-64 select-none" style={{ aspectRatio: `${W} / ${H}` }}>
          <canvas ref={photo} data-testid="gt-photo" className="absolute inset-0 h-full w-full" />
          <svg ref={svg} data-testid="gt-draw" className="absolute inset-0 h-full w-full cursor-crosshair touch-none" preserveAspectRatio="none"
            onPointerDown={(e) => {
              e.currentTarget.setPointerCapture(e.pointerId);
              setStart(point(e));
            }}
            onPointerMove={(e) => {
              if (start) setDraft(boxFromDrag(...start, ...point(e), W, H, 0));
            }}
            onPointerUp={(e) => {
              if (start) {
                const box = boxFromDrag(...start, ...point(e), W, H);
                if (box) addBox(image.name, { ...box, classId: drawClass });
              }
              setStart(null);
              setDraft(null);
            }} />
        </div>
        <div className="space-y-2">
          <label className="block">class of the next box{' '}
            <select data-testid="gt-class" className="bg-slate-800 p-1" value={drawClass} onChange={(e) => setDrawClass(Number(e.target.value))}>
              {classes.filter((c) => c.id > 0 || detectors === 0).map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          </label>
          <p className="text-slate-400">Drag on the image to draw a box.</p>
          <ul data-testid="gt-list">
            {mine.map((b, i) => (
              <li key={i} className="flex items-center gap-2 font-mono">
                #{i + 1} {name(b.classId)} ({b.x0.toFixed(0)}, {b.y0.toFixed(0)})–({b.x1.toFixed(0)}, {b.y1.toFixed(0)})
                <button data-testid={`gt-delete-${i}`} className="rounded bg-slate-800 px-1" aria-label={`delete box ${i + 1}`} onClick={() => removeBox(image.name, i)}>×</button>
              </li>
            ))}
          </ul>
          {mine.length > 0 && <button data-testid="gt-clear" className="rounded bg-slate-800 px-2 py-1" onClick={() => clear(image.name)}>clear drawn boxes</button>}
          <label className="block cursor-pointer rounded bg-slate-800 px-2 py-1">import COCO JSON…
            <input data-testid="coco-input" type="file" accept=".json,application/json" className="hidden"
              onChange={(e) => { const f = e.target.files?.[0]; if (f) void importCoco(f); e.target.value = ''; }} />
          </label>
          {imported && (
            <p data-testid="coco-imported">{imported.file}: {imported.coco.images.length} images,{' '}
              {inImported ? `${inImported.length} objects on ${image.name}` : `does not list ${image.name}`}{' '}
              <button className="underline" onClick={() => useGroundTruthStore.getState().setImported(null)}>forget</button></p>
          )}
        </div>
      </div>
    </section>
  );
}
