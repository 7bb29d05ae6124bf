/**
 * An Evaluate run: every model in view on every open image, one image at a time (its models in parallel),
 * turned into per-image rows as soon as the image is done. Runs are not kept beyond the run cache's budget,
 * so memory stays flat over a large set; between images the page gets the main thread back.
 */
import { uniformPlacement } from '../analysis/geometry';
import { cocoImage } from '../analysis/groundTruth';
import { computeAgreements, type ImageTruth } from '../app/agreement';
import { analyse, analyseMany } from '../app/controller';
import { loadGalleryCoco } from '../app/gallery';
import { detectionThreshold, interpret, taskView } from '../app/task';
import type { Contract } from '../contract';
import { blockRanked, queryBlock } from '../methods/detr/contract';
import { sha256Hex } from '../share/viewDocument';
import { useGroundTruthStore } from '../state/groundTruth';
import { type Run, runKey } from '../state/runs';
import { type ImageEntry, useStore } from '../state/store';
import { contractHash } from './canonical';
import { type ApTruth, type BoxAp, BoxApAccumulator } from './cocoAp';
import { failuresOf } from './failures';
import { MeanMaps } from './meanMaps';
import { methodNumbers } from './methodNumbers';
import {
  BoxConfusionPool,
  ConfusionPool,
  RESULTS_VERSION,
  type ResultRow,
  type ResultsDocument,
  type ResultsImage,
  type ResultsModel,
  type SummaryEntry,
  summarise,
  TRUTH,
} from './results';
import { DEFAULT_BOOTSTRAP } from './stats';
import { useEvaluateStore } from './store';
import { cocoApTruth, cocoCategoryIds, imageTruth } from './truth';

let stop: AbortController | null = null;

/** Images a model that takes batches runs in one call. */
const BATCH = 4;

/** Stop after the image in progress; the rows so far stay (and are summarised). */
export function cancelEvaluation(): void {
  stop?.abort();
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** What a run pools over the set while it goes (the per-image rows aside). */
interface SetPools {
  pixels: ConfusionPool;
  boxes: BoxConfusionPool;
  /** Per detector: COCO box AP over the images with ground truth. */
  ap: Map<string, BoxApAccumulator>;
  maps: MeanMaps;
}

interface Truth {
  truth: ImageTruth;
  /** The COCO boxes as AP reads them, and the file's category ids. */
  apTruth: ApTruth[];
  categories: number[];
  /** The image's id in the COCO file: AP pools images in its order (as pycocotools). */
  cocoId: number;
}

/** Ground truth of an image: the imported COCO file when it lists the image, else the gallery's for a sample. */
async function truthOf(image: ImageEntry): Promise<Truth | null> {
  const imported = useGroundTruthStore.getState().imported?.coco ?? null;
  const gallery = image.source === 'gallery' ? await loadGalleryCoco() : null;
  for (const coco of [imported, gallery]) {
    const t = coco && imageTruth(coco, image.name, image.width, image.height);
    if (coco && t)
      return {
        truth: { label: TRUTH, objects: t.objects, classMap: t.mask.classMap },
        apTruth: cocoApTruth(coco, image.name) ?? [],
        categories: cocoCategoryIds(coco),
        cocoId: cocoImage(coco, image.name)!.id,
      };
  }
  return null;
}

/** Rows of one image: each model's latency and its comparisons with the reference and the ground truth. */
async function rowsOf(
  image: ImageEntry,
  ids: string[],
  threshold: number | null,
  pools: SetPools,
): Promise<ResultRow[]> {
  const { slots, runs } = useStore.getState();
  const found = await truthOf(image);
  const truth = found?.truth ?? null;
  // Each step below is a few to tens of milliseconds on a big model: a task of its own keeps every main-thread
  // task short (the page stays responsive while a data set runs; measured in npm run bench).
  await nextTask();
  const models = ids.flatMap((id) => {
    const contract = slots[id]?.model?.contract;
    const run = runs[runKey(id, image.id)];
    return contract ? [{ id, contract, result: run ? interpret(contract, run, threshold) : null }] : [];
  });
  await nextTask();
  const agreements = computeAgreements(models, image.width, image.height, truth);
  await nextTask();
  for (const m of models) {
    const run = runs[runKey(m.id, image.id)];
    if (run) pools.maps.add(m.id, m.contract, run);
  }
  const imageRuns = Object.fromEntries(
    ids.flatMap((id) => (runs[runKey(id, image.id)] ? [[id, runs[runKey(id, image.id)]]] : [])),
  );
  await nextTask();
  const numbers = methodNumbers(
    models.map((m) => ({ id: m.id, contract: m.contract })),
    imageRuns,
    truth ? { ...truth, width: image.width, height: image.height } : null,
    useStore.getState().view.methods.vit,
  );
  await nextTask();
  const reference = models.find((m) => m.contract.model.role === 'teacher' && m.result) ?? models.find((m) => m.result);
  for (const a of agreements) {
    if (a.confusion) pools.pixels.add(a.model, a.against, a.confusion.classes, a.confusion.counts);
    if (a.boxPairs) pools.boxes.add(a.model, a.against, a.boxPairs);
  }
  const ownAp = found ? apOfImage(models, imageRuns, found, pools.ap) : {};
  return ids.map((id) => {
    const run = runs[runKey(id, image.id)];
    const row: ResultRow = { image: image.id, model: id, latency_ms: run ? run.milliseconds : null };
    if (!run) row.error = slots[id]?.error ?? `${id} did not run on ${image.name}`;
    const vsRef = agreements.find((a) => a.model === id && a.against !== TRUTH)?.comparison;
    const vsTruth = agreements.find((a) => a.model === id && a.against === TRUTH)?.comparison;
    if (vsRef) row.vs_reference = vsRef;
    if (vsTruth) row.vs_truth = ownAp[id] ? { ...vsTruth, ...ownAp[id] } : vsTruth;
    if (numbers[id]) row.methods = numbers[id];
    const own = models.find((m) => m.id === id);
    if (truth && reference && own && own !== reference) {
      const f = failuresOf(
        truth,
        reference.result,
        own.result,
        image.width,
        image.height,
        uniformPlacement(image.width, image.height),
      );
      if (f) row.failures = f;
    }
    return row;
  });
}

/** Detections COCO AP keeps an image (pycocotools' maxDets, as the model cards and the Python run). */
const AP_DETECTIONS = 100;

/** Each detector's COCO AP on this image alone (its top detections at any score), added to its set's AP. */
function apOfImage(
  models: { id: string; contract: Contract }[],
  imageRuns: Record<string, Run>,
  found: Truth,
  pooled: Map<string, BoxApAccumulator>,
): Record<string, BoxAp> {
  const out: Record<string, BoxAp> = {};
  for (const m of models) {
    const block = queryBlock(m.contract, 'one_to_one');
    const run = imageRuns[m.id];
    if (!block || !run || taskView(m.contract).kind !== 'detection') continue;
    const ranked = blockRanked(block, run, AP_DETECTIONS);
    const acc = pooled.get(m.id) ?? new BoxApAccumulator(found.categories);
    pooled.set(m.id, acc);
    out[m.id] = acc.addImage(
      found.apTruth,
      ranked.map((d) => ({ bbox: [d.x0, d.y0, d.x1 - d.x0, d.y1 - d.y0], score: d.score, category: d.classId })),
      found.cocoId,
    );
  }
  return out;
}

/** The set's COCO AP and AP50 per detector: pooled over images, so a single number without an interval. */
function apSummary(pooled: Map<string, BoxApAccumulator>, reference: string): SummaryEntry[] {
  const results = new Map([...pooled].map(([model, acc]) => [model, acc.result()]));
  const ref = results.get(reference);
  return [...pooled].flatMap(([model, acc]) =>
    (['ap', 'ap50'] as const).map((k) => {
      const mean = results.get(model)![k];
      const entry: SummaryEntry = {
        model,
        against: TRUTH,
        metric: k === 'ap' ? 'box_ap' : 'box_ap50',
        n: acc.images,
        mean,
        ci: null,
      };
      if (model !== reference) entry.share_of_reference = ref?.[k] && mean !== null ? mean / ref[k] : null;
      return entry;
    }),
  );
}

async function modelEntries(ids: string[]): Promise<ResultsModel[]> {
  const { slots, view } = useStore.getState();
  const out: ResultsModel[] = [];
  for (const id of ids) {
    const m = slots[id]?.model;
    if (!m) continue;
    const task = m.contract.model.task;
    out.push({
      id,
      name: m.contract.model.name,
      role: m.contract.model.role,
      task,
      contract_sha256: await contractHash(m.contract),
      bytes: m.bytes,
      threshold: task === 'detection' ? detectionThreshold(m.contract, view.threshold).value : null,
    });
  }
  return out;
}

function documentOf(
  models: ResultsModel[],
  images: ResultsImage[],
  rows: ResultRow[],
  truthSource: string | null,
  pools: SetPools,
): ResultsDocument {
  const reference = (models.find((m) => m.role === 'teacher') ?? models[0])?.id ?? '';
  const pixels = pools.pixels.tables(classNames());
  const boxes = pools.boxes.tables(classNames());
  return {
    format: 'attnlens-results',
    version: RESULTS_VERSION,
    created: new Date().toISOString(),
    producer: { name: 'attnlens-app', version: __APP_VERSION__, runtime: runtimeText() },
    settings: {
      iou: 0.5,
      threshold: useStore.getState().view.threshold,
      bootstrap: DEFAULT_BOOTSTRAP,
      // the ViT pseudo-mask's rule, as the ViT view is set (the mean CLS attention of this layer, this mass)
      vit: { layer: useStore.getState().view.methods.vit.layer, mass: useStore.getState().view.methods.vit.mass },
    },
    models,
    reference,
    ground_truth: truthSource ? { source: truthSource } : null,
    images,
    rows,
    summary: [...summarise(rows, reference, DEFAULT_BOOTSTRAP), ...apSummary(pools.ap, reference)],
    confusion: [...pixels.confusion, ...boxes.confusion],
    per_class: [...pixels.per_class, ...boxes.per_class],
    maps: pools.maps.maps(),
  };
}

/** Class names by id: the models' contracts, then the imported COCO file's categories. */
function classNames(): Map<number, string> {
  const { slots, view } = useStore.getState();
  const names = new Map<number, string>();
  for (const id of view.models) for (const c of slots[id]?.model?.contract.classes ?? []) names.set(c.id, c.name);
  for (const c of useGroundTruthStore.getState().imported?.coco.categories ?? []) names.set(c.id, c.name);
  return names;
}

function runtimeText(): string {
  const { slots, view } = useStore.getState();
  const backends = [...new Set(view.models.map((id) => slots[id]?.model?.backend).filter(Boolean))];
  return `onnxruntime-web ${__ORT_VERSION__} (${backends.join(', ') || 'not loaded'})`;
}

/** Evaluate the open images with the models in view; progress and the document go to the Evaluate store. */
export async function runEvaluation(): Promise<void> {
  const set = useEvaluateStore.setState;
  if (useEvaluateStore.getState().status === 'running') return;
  const { images, view } = useStore.getState();
  const ids = [...view.models];
  const controller = new AbortController();
  stop = controller;
  const t0 = performance.now();
  set({
    status: 'running',
    done: 0,
    total: images.length,
    startedAt: t0,
    lastAt: t0,
    doc: null,
    source: null,
    notes: [],
  });
  const rows: ResultRow[] = [];
  const pools: SetPools = {
    pixels: new ConfusionPool(),
    boxes: new BoxConfusionPool(),
    ap: new Map(),
    maps: new MeanMaps(),
  };
  const done: ResultsImage[] = [];
  let truthSource: string | null = null;
  for (let at = 0; at < images.length; at++) {
    if (controller.signal.aborted) break;
    const image = images[at];
    // A model that takes batches runs the next BATCH images in one call (the others: image by image)
    if (at % BATCH === 0) await Promise.all(ids.map((id) => analyseMany(id, images.slice(at, at + BATCH))));
    // a run the cache has let go meanwhile (a large model's outputs) runs again; done ones are skipped
    await Promise.all(ids.map((id) => analyse(id, image)));
    const imageRows = await rowsOf(image, ids, view.threshold, pools);
    const truth = imageRows.some((r) => r.vs_truth);
    if (truth)
      truthSource ??= useGroundTruthStore.getState().imported?.file ?? (image.source === 'gallery' ? 'gallery' : null);
    rows.push(...imageRows);
    done.push({ id: image.id, name: image.name, width: image.width, height: image.height, truth });
    set({ done: done.length, lastAt: performance.now() });
    await nextTask(); // the page stays responsive between images
  }
  const models = await modelEntries(ids);
  await nextTask();
  const doc = documentOf(models, done, rows, truthSource, pools);
  await nextTask();
  const docHash = await sha256Hex(JSON.stringify(doc)); // the exported file's, which a link names
  set({
    status: controller.signal.aborted ? 'cancelled' : 'done',
    doc,
    docHash,
    lastAt: performance.now(),
  });
  stop = null;
}
