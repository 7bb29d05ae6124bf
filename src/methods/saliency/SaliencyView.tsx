import { useEffect, useMemo, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { inputFrameOnImage, inputSize, toImage } from '../../analysis/geometry';
import { useGalleryCoco } from '../../app/gallery';
import { ColourScale } from '../../components/charts/Heatmap';
import { useCurrentImage, useModelsInView, useRuns, useTaskResult } from '../../components/hooks';
import { imageBox, Photo } from '../../components/Photo';
import type { Contract } from '../../contract';
import type { LoadedModel } from '../../inference/models';
import { useGroundTruthStore } from '../../state/groundTruth';
import { count } from '../../state/linkCodec';
import type { Run } from '../../state/runs';
import { type ImageEntry, useStore } from '../../state/store';
import { drawSaliencyMap, drawSaliencyMarks, drawScoreCurves } from '../../viz/saliency';
import { useDetectors, useQueryAttention } from '../detr/hooks';
import { frameOf, passCount, pointingGame, saliencyPeak, type TruthRegion } from './compute';
import type { SaliencySettings } from './index';
import type { SaliencyJob } from './job';
import { cancelSaliency, entryKey, type SaliencyEntry, startSaliency, useSaliencyJobs } from './jobs';
import {
  answeredClass,
  batchFor,
  classesOf,
  cocoRegions,
  describeTarget,
  drawnRegions,
  occlusionOf,
  occlusionPositions,
  saliencyOutput,
  specOf,
  targetOf,
} from './targets';

const WAITING = 'waiting for its run on this image…';

/** One model's row in the comparison: its job (or why it has none), its result, and the class its map is about. */
interface Item {
  id: string;
  contract: Contract;
  model: LoadedModel | undefined;
  run: Run | undefined;
  job: SaliencyJob | null;
  problem: string | null;
  key: string | null;
  classId: number | null;
  /** How a detector's detection was chosen (the clicked one, or its match for the same object). */
  how?: string;
}

/** Gradient-free saliency, teacher and student side by side on the same masks. */
export default function SaliencyView() {
  const settings = useStore((s) => s.view.methods.saliency);
  const setMethod = useStore((s) => s.setMethod);
  const set = (patch: Partial<SaliencySettings>) => setMethod('saliency', patch);
  const image = useCurrentImage();
  const models = useModelsInView();
  const eligible = useMemo(() => models.filter((m) => saliencyOutput(m.contract)), [models]);
  const loaded = useStore(useShallow((s) => eligible.map((m) => s.slots[m.id]?.model)));
  const runs = useRuns(image);
  // models in view still opening: not yet known to have an output saliency reads, but Run waits for them
  const opening = useStore(
    useShallow((s) => s.view.models.filter((id) => ['loading', 'fetching', undefined].includes(s.slots[id]?.status))),
  );
  const qa = useQueryAttention(image);
  // jobs of these models still under way, on this image or one shown before (Cancel stops them all); only
  // their keys, so a progress tick re-renders the panel it is about, not the whole view
  const running = useSaliencyJobs(
    useShallow((s) =>
      Object.keys(s.entries).filter(
        (k) => s.entries[k].status === 'running' && eligible.some((m) => k.startsWith(`${m.id}@`)),
      ),
    ),
  );

  const classChoices = useMemo(() => {
    const seen = new Map<number, string>();
    for (const m of eligible)
      for (const id of classesOf(m.contract))
        if (!seen.has(id)) seen.set(id, m.contract.classes.find((c) => c.id === id)?.name ?? `class ${id}`);
    return [...seen];
  }, [eligible]);
  const auto = useMemo(() => {
    for (const m of eligible) {
      const run = runs[m.id];
      const answer = run ? answeredClass(m.contract, run) : null;
      if (answer !== null) return { classId: answer, from: m.id };
    }
    return null;
  }, [eligible, runs]);
  const classId = settings.classId >= 0 ? settings.classId : (auto?.classId ?? classChoices[0]?.[0] ?? 0);
  const sides = eligible.map((m) => {
    const s = inputSize(m.contract.input);
    return Math.min(s.width, s.height);
  });
  const spec = specOf(settings, sides);

  const items: Item[] = eligible.map((m, i) => {
    const run = runs[m.id];
    const model = loaded[i];
    const matched = qa?.items.find((q) => q.id === m.id);
    const base = { id: m.id, contract: m.contract, model, run, job: null, key: null };
    if (!run || !model || !image) return { ...base, problem: WAITING, classId: null };
    const target = targetOf(m.contract, run, {
      classId,
      measure: settings.measure,
      detection: matched ? { block: matched.block, query: matched.detection.query } : null,
    });
    const isDetector = saliencyOutput(m.contract)?.kind === 'detection';
    if (typeof target === 'string') {
      // a detector left out of the selection's matches has no detection of its own for that object
      const unmatched = isDetector && qa && !qa.problem && !matched;
      const problem =
        isDetector && qa?.problem ? qa.problem : unmatched ? 'none of its detections matches the selected one' : target;
      return { ...base, problem, classId: null };
    }
    const job: SaliencyJob = { spec, target, batch: batchFor(m.contract, model.batchable) };
    return {
      ...base,
      job,
      problem: null,
      key: entryKey(m.id, image.id, job),
      classId: isDetector ? (matched?.detection.classId ?? null) : classId,
      how: matched ? matched.how : undefined,
    };
  });
  if (!image) return null;
  const ready = items.filter((it) => it.job && it.model);
  // Run starts every model at once: not while one of them has yet to run on this image
  const waiting = [...opening, ...items.filter((it) => it.problem === WAITING).map((it) => it.id)];
  const passes = passCount(spec);
  const occlusion = occlusionOf(settings, sides);
  const hasClassTargets = eligible.some((m) => saliencyOutput(m.contract)?.kind !== 'detection');
  const hasSegmenters = eligible.some((m) => saliencyOutput(m.contract)?.kind === 'segment');

  return (
    <>
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label>
          method{' '}
          <select
            data-testid="saliency-method"
            className="bg-slate-800 p-1"
            value={settings.method}
            onChange={(e) => set({ method: e.target.value as SaliencySettings['method'] })}
          >
            <option value="rise">RISE (random masks)</option>
            <option value="occlusion">occlusion (sliding patch)</option>
          </select>
        </label>
        {settings.method === 'rise' ? (
          <>
            <NumberField
              label="masks N"
              testId="saliency-masks"
              value={settings.masks}
              min={1}
              max={20000}
              onChange={(masks) => set({ masks })}
            />
            <NumberField
              label="grid s"
              testId="saliency-cells"
              value={settings.cells}
              min={2}
              max={64}
              onChange={(cells) => set({ cells })}
            />
            <NumberField
              label="keep p"
              testId="saliency-keep"
              value={settings.keep}
              min={0.05}
              max={0.95}
              step={0.05}
              onChange={(keep) => set({ keep })}
            />
            <NumberField
              label="seed"
              testId="saliency-seed"
              value={settings.seed}
              min={0}
              max={999999}
              onChange={(seed) => set({ seed })}
            />
          </>
        ) : (
          <>
            <NumberField
              label="patch %"
              testId="saliency-patch"
              value={settings.patch}
              min={0}
              max={100}
              onChange={(patch) => set({ patch })}
              title="side of the occluding square, % of the image's side; 0: from the input size"
            />
            <NumberField
              label="stride %"
              testId="saliency-stride"
              value={settings.stride}
              min={0}
              max={100}
              onChange={(stride) => set({ stride })}
              title="step between patches, % of the image's side; 0: from the input size"
            />
            <span className="text-xs text-slate-400">
              {(occlusion.patch * 100).toFixed(1)} % / {(occlusion.stride * 100).toFixed(1)} %
              {occlusion.auto && ` (auto: stride 1/16 of the ${Math.min(...sides)}-px input)`} ·{' '}
              {occlusionPositions(occlusion)} positions
            </span>
          </>
        )}
        <label>
          fill{' '}
          <select
            data-testid="saliency-fill"
            className="bg-slate-800 p-1"
            value={settings.fill}
            onChange={(e) => set({ fill: e.target.value as SaliencySettings['fill'] })}
          >
            <option value="mean">image mean colour</option>
            <option value="blur">blurred image</option>
            <option value="zero">normalisation mean (tensor 0)</option>
          </select>
        </label>
        <NumberField
          label="deletion/insertion steps"
          testId="saliency-steps"
          value={settings.steps}
          min={0}
          max={100}
          onChange={(steps) => set({ steps })}
        />
      </div>
      <div className="mt-2 flex flex-wrap items-center gap-3 text-sm">
        {hasClassTargets && (
          <label>
            class{' '}
            <select
              data-testid="saliency-class"
              className="bg-slate-800 p-1"
              value={settings.classId}
              onChange={(e) => set({ classId: Number(e.target.value) })}
            >
              <option value={-1}>
                auto: {classChoices.find(([id]) => id === classId)?.[1] ?? classId}
                {auto ? ` (${auto.from}'s answer)` : ''}
              </option>
              {classChoices.map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        )}
        {hasSegmenters && (
          <label>
            segmenter score{' '}
            <select
              data-testid="saliency-measure"
              className="bg-slate-800 p-1"
              value={settings.measure}
              onChange={(e) => set({ measure: e.target.value as SaliencySettings['measure'] })}
            >
              <option value="probability">mean probability of the class</option>
              <option value="area">share of pixels labelled the class</option>
            </select>
          </label>
        )}
        <DetectionPicker image={image} />
        <label>
          <input
            type="checkbox"
            data-testid="saliency-outlines"
            checked={settings.outlines}
            onChange={(e) => set({ outlines: e.target.checked })}
          />{' '}
          ground-truth outlines
        </label>
        <button
          type="button"
          data-testid="saliency-run"
          className="rounded bg-sky-700 px-3 py-1 disabled:opacity-40"
          disabled={!ready.length || waiting.length > 0 || running.length > 0}
          title={waiting.length ? `waiting for ${waiting.join(', ')} to open and run on this image` : undefined}
          onClick={() =>
            startSaliency(
              ready.map((it) => ({ id: it.id, model: it.model!, job: it.job! })),
              image,
            )
          }
        >
          Run
        </button>
        <button
          type="button"
          data-testid="saliency-cancel"
          className="rounded bg-slate-800 px-3 py-1 disabled:opacity-40"
          disabled={!running.length}
          onClick={() => cancelSaliency(running)}
        >
          Cancel
        </button>
        <span className="text-xs text-slate-400" data-testid="saliency-passes">
          {count(passes)} passes per model (
          {settings.method === 'rise' ? count(settings.masks) : occlusionPositions(occlusion)}{' '}
          {settings.method === 'rise' ? 'masks' : 'patches'}, the image and its fill
          {settings.steps > 0 ? `, ${2 * (settings.steps - 1)} for the curves` : ''})
        </span>
      </div>
      <div className="mt-3 flex flex-wrap gap-6">
        {items.map((it) => (
          <SaliencyPanel key={it.id} item={it} image={image} />
        ))}
      </div>
      <p className="mt-2 text-xs text-slate-400">
        Masks are drawn over the image (fractions of its width and height) and sampled at each model's input, so every
        model sees the same masks for the same seed, whatever its input size or resize rule; the masked images are built
        and run in each model's worker (
        {settings.method === 'rise'
          ? 'RISE: Σ (score − mean score) · mask / (N·p), the mean score subtracted to remove a constant and its noise'
          : 'occlusion: the mean score drop of the patches covering a pixel'}
        ). Colours run from 0 to each map's own maximum (negative saliency, where masking raised the score, is clear).
        Deletion removes, insertion restores the most salient pixels first in {settings.steps} steps: AUC of the score
        over the fraction of pixels (0–1), low deletion and high insertion mean the map found what the score depends on.
        Pointing game: is the map's maximum inside a ground-truth region of the class (its mask, else its box)? Cancel
        drops the job's partial map; a model that finished keeps its map.
      </p>
    </>
  );
}

function NumberField(props: {
  label: string;
  testId: string;
  value: number;
  min: number;
  max: number;
  step?: number;
  title?: string;
  onChange: (value: number) => void;
}) {
  return (
    <label title={props.title}>
      {props.label}{' '}
      <input
        type="number"
        data-testid={props.testId}
        className="w-20 bg-slate-800 p-1"
        min={props.min}
        max={props.max}
        step={props.step ?? 1}
        value={props.value}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (e.target.value === '' || !Number.isFinite(v)) return;
          const stepped = props.step ? v : Math.round(v);
          props.onChange(Math.min(props.max, Math.max(props.min, stepped)));
        }}
      />
    </label>
  );
}

/** The first detector's detections, to pick the one D-RISE explains (the same selection a click on a pane makes). */
function DetectionPicker({ image }: { image: ImageEntry }) {
  const detectors = useDetectors();
  const first = detectors[0]?.id;
  const result = useTaskResult(first, image);
  const selection = useStore((s) => s.view.selection);
  const contract = detectors[0]?.contract;
  if (!first || result?.kind !== 'detection' || !contract) return null;
  const value = selection && selection.model === first && selection.block === 'one_to_one' ? selection.query : -1;
  return (
    <label>
      detection{' '}
      <select
        data-testid="saliency-detection"
        className="bg-slate-800 p-1"
        value={value}
        onChange={(e) => {
          const query = Number(e.target.value);
          useStore.getState().setView({ selection: query < 0 ? null : { model: first, block: 'one_to_one', query } });
        }}
      >
        <option value={-1}>
          {selection ? `clicked: ${selection.model} query ${selection.query}` : 'click one, or pick'}
        </option>
        {result.detections.map((d) => (
          <option key={d.query} value={d.query}>
            {first}: {contract.classes.find((c) => c.id === d.classId)?.name ?? d.classId} {(d.score * 100).toFixed(0)}{' '}
            % (query {d.query})
          </option>
        ))}
      </select>
    </label>
  );
}

/** Ground truth of a class on the image: boxes the user drew, else the imported COCO, else the gallery's. */
function useTruthRegions(
  image: ImageEntry,
  classId: number | null,
  contract: Contract,
): { regions: TruthRegion[]; label: string } | null {
  const drawn = useGroundTruthStore((s) => s.drawn[image.id]);
  const imported = useGroundTruthStore((s) => s.imported);
  const coco = useGalleryCoco();
  return useMemo(() => {
    if (classId === null) return null;
    if (drawn?.length) return { regions: drawnRegions(drawn, classId), label: 'the boxes you drew' };
    const fromImported = imported ? cocoRegions(imported.coco, image.name, classId, contract.classes, image) : null;
    if (fromImported) return { regions: fromImported, label: `imported ${imported!.file}` };
    const gallery = image.source === 'gallery' ? cocoRegions(coco, image.name, classId, contract.classes, image) : null;
    return gallery ? { regions: gallery, label: 'gallery COCO' } : null;
  }, [drawn, imported, coco, image, classId, contract]);
}

function SaliencyPanel({ item, image }: { item: Item; image: ImageEntry }) {
  const entry = useSaliencyJobs((s) => (item.key ? s.entries[item.key] : undefined));
  const opacity = useStore((s) => s.view.opacity);
  const outlines = useStore((s) => s.view.methods.saliency.outlines);
  const truth = useTruthRegions(image, item.classId, item.contract);
  const canvas = useRef<HTMLCanvasElement>(null);
  const marks = useRef<SVGSVGElement>(null);
  const curves = useRef<SVGSVGElement>(null);
  const done = entry?.status === 'done' ? entry : null;
  const run = item.run;
  const shown = useMemo(() => {
    if (!done || !run) return null;
    const { map } = done.outcome;
    const frame = frameOf(run.placement, run.width, run.height);
    const peak = saliencyPeak(map, frame);
    const point = peak ? toImage(run.placement, peak.u + 0.5, peak.v + 0.5) : null;
    return { hi: peak && peak.value > 0 ? peak.value : 0, point: point && { x: point[0], y: point[1] } };
  }, [done, run]);
  const pointing = shown?.point && truth ? pointingGame(shown.point, truth.regions, image) : null;
  useEffect(() => {
    if (canvas.current && done && shown)
      drawSaliencyMap(canvas.current, done.outcome.map, done.outcome.width, done.outcome.height, 0, shown.hi, opacity);
  }, [done, shown, opacity]);
  useEffect(() => {
    if (marks.current)
      drawSaliencyMarks(
        marks.current,
        image.width,
        image.height,
        shown?.point ?? null,
        outlines ? (truth?.regions ?? []) : [],
      );
  }, [image, shown, truth, outlines]);
  useEffect(() => {
    if (curves.current && done?.outcome.curves)
      drawScoreCurves(curves.current, done.outcome.curves.deletion, done.outcome.curves.insertion);
  }, [done]);
  const box = imageBox(image, 200);
  const auc = done?.outcome.curves;
  const className =
    item.classId === null
      ? null
      : (item.contract.classes.find((c) => c.id === item.classId)?.name ?? `class ${item.classId}`);
  return (
    <figure
      className="text-xs"
      style={{ width: Math.max(box.width, 220) }}
      data-testid="saliency-panel"
      data-model={item.id}
    >
      <figcaption className="mb-1">
        <span className="font-mono text-sm">{item.id}</span>
        {item.job && <span className="text-slate-400"> · {describeTarget(item.contract, item.job.target)}</span>}
        {item.how && <span className="text-slate-400"> · {item.how}</span>}
      </figcaption>
      <div className="relative overflow-hidden" style={box}>
        <Photo image={image} />
        {done && run && (
          <canvas
            ref={canvas}
            data-testid="saliency-map"
            data-hi={shown?.hi}
            data-peak-x={shown?.point ? shown.point.x / image.width : undefined}
            data-peak-y={shown?.point ? shown.point.y / image.height : undefined}
            className="absolute"
            style={inputFrameOnImage(run.placement, run.width, run.height)}
          />
        )}
        <svg ref={marks} className="pointer-events-none absolute inset-0 h-full w-full" preserveAspectRatio="none" />
      </div>
      {done && shown && <ColourScale lo={0} hi={shown.hi} />}
      <Status item={item} entry={entry} />
      {done && (
        <div className="mt-1 space-y-0.5" data-testid="saliency-numbers">
          <div>
            score {done.outcome.base.toFixed(3)} on the image, {done.outcome.filled.toFixed(3)} filled
          </div>
          {auc && (
            <div className="flex items-center gap-2">
              <span>
                deletion AUC <b data-testid="saliency-deletion">{auc.deletionAuc.toFixed(3)}</b> · insertion AUC{' '}
                <b data-testid="saliency-insertion">{auc.insertionAuc.toFixed(3)}</b>
              </span>
              <svg ref={curves} data-testid="saliency-curves" className="h-10 w-24" preserveAspectRatio="none">
                <title>deletion (red) and insertion (blue) scores over the fraction of pixels removed / restored</title>
              </svg>
            </div>
          )}
          <div data-testid="saliency-pointing">
            pointing game:{' '}
            {pointing === null
              ? truth
                ? `no ${className} in the ground truth (${truth.label})`
                : 'no ground truth for this image'
              : `${pointing ? 'hit' : 'miss'} (maximum ${pointing ? 'inside' : 'outside'} ${className}, ${truth!.label})`}
          </div>
          <div className="text-slate-500">
            {count(done.outcome.passes)} passes in {done.seconds.toFixed(1)} s (
            {(done.outcome.passes / done.seconds).toFixed(0)} passes/s
            {done.batched ? ', batched' : ', one image per run'})
          </div>
        </div>
      )}
    </figure>
  );
}

function Status({ item, entry }: { item: Item; entry: SaliencyEntry | undefined }) {
  if (item.problem)
    return (
      <p className="mt-1 text-amber-300" data-testid="saliency-status">
        {item.problem}
      </p>
    );
  if (!entry)
    return (
      <p className="mt-1 text-slate-400" data-testid="saliency-status">
        not run for these settings: press Run
      </p>
    );
  if (entry.status === 'running') {
    const seconds = (performance.now() - entry.startedAt) / 1000;
    return (
      <div className="mt-1" data-testid="saliency-progress" data-done={entry.done} data-total={entry.total}>
        <progress className="w-full" max={entry.total || 1} value={entry.done} />
        <div className="text-slate-400">
          {count(entry.done)} / {entry.total ? count(entry.total) : '…'} passes
          {seconds > 0 && entry.done > 0 ? ` · ${(entry.done / seconds).toFixed(0)} passes/s` : ''}
          {entry.batched ? ' · batched' : ''}
        </div>
      </div>
    );
  }
  if (entry.status === 'cancelled')
    return (
      <p className="mt-1 text-slate-400" data-testid="saliency-status">
        cancelled after {count(entry.done)} of {count(entry.total)} passes: its partial map was dropped
      </p>
    );
  if (entry.status === 'failed')
    return (
      <p className="mt-1 text-amber-300" data-testid="saliency-status">
        {entry.message}
      </p>
    );
  return null;
}
