/**
 * An Evaluate run: every model in view on every open image, one image at a time (its models in parallel),
 * turned into per-image rows as soon as the image is done. Runs are not kept beyond the run cache's budget,
 * so memory stays flat over a large set; between images the page gets the main thread back.
 */
import { uniformPlacement } from '../analysis/geometry';
import { computeAgreements, type ImageTruth } from '../app/agreement';
import { analyse, analyseMany } from '../app/controller';
import { loadGalleryCoco } from '../app/gallery';
import { detectionThreshold, interpret } from '../app/task';
import { useGroundTruthStore } from '../state/groundTruth';
import { runKey } from '../state/runs';
import { type ImageEntry, useStore } from '../state/store';
import { contractHash } from './canonical';
import { failuresOf } from './failures';
import { MeanMaps } from './meanMaps';
import { methodNumbers } from './methodNumbers';
import {
  ConfusionPool,
  RESULTS_VERSION,
  type ResultRow,
  type ResultsDocument,
  type ResultsImage,
  type ResultsModel,
  summarise,
  TRUTH,
} from './results';
import { DEFAULT_BOOTSTRAP } from './stats';
import { useEvaluateStore } from './store';
import { imageTruth } from './truth';

let stop: AbortController | null = null;

/** Images a model that takes batches runs in one call. */
const BATCH = 4;

/** Stop after the image in progress; the rows so far stay (and are summarised). */
export function cancelEvaluation(): void {
  stop?.abort();
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Ground truth of an image: the imported COCO file when it lists the image, else the gallery's for a sample. */
async function truthOf(image: ImageEntry): Promise<ImageTruth | null> {
  const imported = useGroundTruthStore.getState().imported?.coco ?? null;
  const fromImport = imageTruth(imported, image.name, image.width, image.height);
  const gallery = image.source === 'gallery' ? await loadGalleryCoco() : null;
  const t = fromImport ?? imageTruth(gallery, image.name, image.width, image.height);
  return t ? { label: TRUTH, objects: t.objects, classMap: t.mask.classMap } : null;
}

/** Rows of one image: each model's latency and its comparisons with the reference and the ground truth. */
async function rowsOf(
  image: ImageEntry,
  ids: string[],
  threshold: number | null,
  pool: ConfusionPool,
  maps: MeanMaps,
): Promise<ResultRow[]> {
  const { slots, runs } = useStore.getState();
  const truth = await truthOf(image);
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
    if (run) maps.add(m.id, m.contract, run);
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
  for (const a of agreements) if (a.confusion) pool.add(a.model, a.against, a.confusion.classes, a.confusion.counts);
  return ids.map((id) => {
    const run = runs[runKey(id, image.id)];
    const row: ResultRow = { image: image.id, model: id, latency_ms: run ? run.milliseconds : null };
    if (!run) row.error = slots[id]?.error ?? `${id} did not run on ${image.name}`;
    const vsRef = agreements.find((a) => a.model === id && a.against !== TRUTH)?.comparison;
    const vsTruth = agreements.find((a) => a.model === id && a.against === TRUTH)?.comparison;
    if (vsRef) row.vs_reference = vsRef;
    if (vsTruth) row.vs_truth = vsTruth;
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
  pool: ConfusionPool,
  maps: MeanMaps,
): ResultsDocument {
  const reference = (models.find((m) => m.role === 'teacher') ?? models[0])?.id ?? '';
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
    summary: summarise(rows, reference, DEFAULT_BOOTSTRAP),
    ...pool.tables(classNames()),
    maps: maps.maps(),
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
  const pool = new ConfusionPool();
  const maps = new MeanMaps();
  const done: ResultsImage[] = [];
  let truthSource: string | null = null;
  for (let at = 0; at < images.length; at++) {
    if (controller.signal.aborted) break;
    const image = images[at];
    // A model that takes batches runs the next BATCH images in one call (the others: image by image)
    if (at % BATCH === 0) await Promise.all(ids.map((id) => analyseMany(id, images.slice(at, at + BATCH))));
    // a run the cache has let go meanwhile (a large model's outputs) runs again; done ones are skipped
    await Promise.all(ids.map((id) => analyse(id, image)));
    const imageRows = await rowsOf(image, ids, view.threshold, pool, maps);
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
  const doc = documentOf(models, done, rows, truthSource, pool, maps);
  await nextTask();
  set({
    status: controller.signal.aborted ? 'cancelled' : 'done',
    doc,
    lastAt: performance.now(),
  });
  stop = null;
}
