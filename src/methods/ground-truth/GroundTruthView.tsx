import { useEffect, useRef, useState } from 'react';
import type { Box } from '../../analysis/boxes';
import { boxFromDrag, cocoObjects } from '../../analysis/groundTruth';
import { importCoco } from '../../app/controller';
import { useCurrentImage, useModelsInView } from '../../components/hooks';
import { imageBox, Photo } from '../../components/Photo';
import { useGroundTruthStore } from '../../state/groundTruth';
import { drawGroundTruth } from '../../viz/detr';
import { encoderAttention } from '../detr/contract';
import { useDetectors, useGroundTruth, usePseudoModel } from '../detr/hooks';

/**
 * The ground truth the DETR views (H-DETR matching, KS-DETR's fg mask) use, and where it comes from: boxes drawn
 * here (drag to draw, pick the class first; delete or clear), an imported COCO file, the gallery's, or the teacher.
 */
export default function GroundTruthView() {
  const image = useCurrentImage();
  const models = useModelsInView();
  const detectors = useDetectors();
  const pseudoModel = usePseudoModel();
  const gt = useGroundTruth(image);
  const { drawn, imported, drawClass, addBox, removeBox, clear, setDrawClass } = useGroundTruthStore();
  const svg = useRef<SVGSVGElement>(null);
  const [start, setStart] = useState<[number, number] | null>(null);
  const [draft, setDraft] = useState<Box | null>(null);
  const contract = (detectors.find((d) => d.id === pseudoModel) ?? models.find((m) => encoderAttention(m.contract)))
    ?.contract;
  const classes = contract?.classes ?? [];
  const W = image?.width ?? 1;
  const H = image?.height ?? 1;
  useEffect(() => {
    if (svg.current && gt) drawGroundTruth(svg.current, gt.objects, classes, W, H, gt.kind === 'drawn', draft);
  }, [gt, classes, W, H, draft]);
  if (!image || !gt || !contract) return null;
  const mine = drawn[image.id] ?? [];
  const point = (e: React.PointerEvent<SVGSVGElement>): [number, number] => {
    const r = e.currentTarget.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * W, ((e.clientY - r.top) / r.height) * H];
  };
  const inImported = imported ? cocoObjects(imported.coco, image.name) : null;
  const name = (id: number) => classes.find((c) => c.id === id)?.name ?? `class ${id}`;
  return (
    <div data-testid="gt-panel">
      <p className="text-sm" data-testid="gt-source" data-kind={gt.kind}>
        Using: {gt.label} ({gt.objects.length} object{gt.objects.length === 1 ? '' : 's'})
        {gt.kind === 'none' && ' — draw boxes on the image, or import a COCO file'}
        {gt.kind === 'pseudo' &&
          gt.objects.length === 0 &&
          ` — ${pseudoModel} finds nothing above its threshold here; draw boxes or lower the threshold`}
      </p>
      <p className="text-xs text-slate-400">
        Order of precedence: boxes you draw on this image, then an imported COCO file (matched by file_name), then the
        gallery's COCO, then {pseudoModel ? `${pseudoModel}'s` : "the teacher's"} detections as pseudo ground truth.
        H-DETR's matching and KS-DETR's foreground mask both use it.
      </p>
      <div className="mt-2 flex flex-wrap gap-4 text-xs">
        <div className="relative select-none overflow-hidden" style={imageBox(image, 256)}>
          <Photo image={image} testId="gt-photo" />
          <svg
            ref={svg}
            data-testid="gt-draw"
            className="absolute inset-0 h-full w-full cursor-crosshair touch-none"
            preserveAspectRatio="none"
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
                if (box) addBox(image.id, { ...box, classId: drawClass });
              }
              setStart(null);
              setDraft(null);
            }}
          />
        </div>
        <div className="space-y-2">
          <label className="block">
            class of the next box{' '}
            <select
              data-testid="gt-class"
              className="bg-slate-800 p-1"
              value={drawClass}
              onChange={(e) => setDrawClass(Number(e.target.value))}
            >
              {classes
                .filter((c) => c.id > 0 || detectors.length === 0)
                .map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
            </select>
          </label>
          <p className="text-slate-400">Drag on the image to draw a box.</p>
          <ul data-testid="gt-list">
            {mine.map((b, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows hold no state; the index is the box number shown
              <li key={i} className="flex items-center gap-2 font-mono">
                #{i + 1} {name(b.classId)} ({b.x0.toFixed(0)}, {b.y0.toFixed(0)})–({b.x1.toFixed(0)}, {b.y1.toFixed(0)})
                <button
                  type="button"
                  data-testid={`gt-delete-${i}`}
                  className="rounded bg-slate-800 px-1"
                  aria-label={`delete box ${i + 1}`}
                  onClick={() => removeBox(image.id, i)}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
          {mine.length > 0 && (
            <button
              type="button"
              data-testid="gt-clear"
              className="rounded bg-slate-800 px-2 py-1"
              onClick={() => clear(image.id)}
            >
              clear drawn boxes
            </button>
          )}
          <label className="block cursor-pointer rounded bg-slate-800 px-2 py-1">
            import COCO JSON…
            <input
              data-testid="coco-input"
              type="file"
              accept=".json,application/json"
              className="hidden"
              onChange={(e) => {
                const f = e.target.files?.[0];
                if (f) void importCoco(f);
                e.target.value = '';
              }}
            />
          </label>
          {imported && (
            <p data-testid="coco-imported">
              {imported.file}: {imported.coco.images.length} images,{' '}
              {inImported ? `${inImported.length} objects on ${image.name}` : `does not list ${image.name}`}{' '}
              <button
                type="button"
                className="underline"
                onClick={() => useGroundTruthStore.getState().setImported(null)}
              >
                forget
              </button>
            </p>
          )}
        </div>
      </div>
    </div>
  );
}
