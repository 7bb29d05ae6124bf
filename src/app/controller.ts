/** Glue between the store and inference: open images and models, run what the view names on the current image. */
import { useEffect } from 'react';
import { nonFiniteOutputs } from '../analysis/finiteness';
import { parseCoco } from '../analysis/groundTruth';
import { detailOf, explainReadFailure } from '../inference/errors';
import {
  describeImage,
  fetchModelBytes,
  loadModel,
  ModelError,
  type ModelSource,
  registerModelSource,
  releaseModel,
  runModel,
} from '../inference/models';
import { pageOutputs, workerOutputs } from '../methods/registry';
import { useGroundTruthStore } from '../state/groundTruth';
import { quote } from '../state/linkCodec';
import { useLinkNotes } from '../state/linkNotes';
import { payloadBytes, runKey } from '../state/runs';
import { findImage, type ImageEntry, useStore } from '../state/store';
import { DEFAULT_VIEW, decodeView } from '../state/viewState';
import { downscaleNote, planFiles, readDropped, undecodableMessage } from './files';
import { unknownModels } from './linkCheck';
import { taskOutputs } from './task';

const base = import.meta.env.BASE_URL;
const inflight = new Map<string, Promise<void>>();

/** An image file → an entry keyed by its pixels (decoded, hashed and thumbnailed in the worker). */
async function entryOf(blob: Blob, name: string, source: ImageEntry['source']): Promise<ImageEntry> {
  const facts = await describeImage(blob);
  return {
    id: facts.id,
    name,
    blob,
    url: URL.createObjectURL(blob),
    thumb: URL.createObjectURL(facts.thumb),
    width: facts.width,
    height: facts.height,
    original: facts.original,
    source,
  };
}

let galleryLoaded = false;

export async function loadGallery(): Promise<void> {
  if (galleryLoaded) return;
  galleryLoaded = true;
  const { setZoo, addImages, notify } = useStore.getState();
  try {
    const zooRes = await fetch(`${base}models/index.json`);
    if (!zooRes.ok) throw new Error(`models/index.json answered HTTP ${zooRes.status}`);
    setZoo(await zooRes.json());
    checkLinkModels();
    const gallery = (await (await fetch(`${base}samples/index.json`)).json()) as { images: string[] };
    const entries: ImageEntry[] = [];
    for (const name of gallery.images)
      entries.push(await entryOf(await (await fetch(`${base}samples/${name}`)).blob(), name, 'gallery'));
    addImages(entries);
    checkImageLink();
  } catch (e) {
    notify(
      `The bundled zoo or gallery did not load (${(e as Error).message}). Run the app with npm start from the repository.`,
    );
  }
}

/** The view names an image that is not open: say so (a user's image cannot travel in a link) and show another. */
export function checkImageLink(): void {
  const { view, images, showImage } = useStore.getState();
  if (findImage(images, view.image)) return;
  const link = view.image;
  // A user's image the link names stays the view's image (the link notice says why nothing shows, until the
  // same file is dropped); a gallery name that does not exist is replaced, and the notice names both.
  if (link && 'sample' in link && images.some((i) => i.source === 'gallery'))
    useLinkNotes
      .getState()
      .add(
        `the link names the gallery image ${quote(link.sample)}, which the gallery does not have: showing ${images[0].name} instead`,
      );
  if (!(link && 'hash' in link) && images[0]) showImage(images[0]);
}

/**
 * Once the zoo is known: models the view names that cannot be opened (not in the zoo, not a model file open
 * in this tab) leave the view, and the link notice names them.
 */
export function checkLinkModels(): void {
  const { zoo, view, setView, slots } = useStore.getState();
  if (!zoo) return;
  const known = new Set([...zoo.models, ...(zoo.variants ?? [])].map((m) => m.id));
  const { keep, notes } = unknownModels(
    view.models,
    (id) => known.has(id),
    (id) => id.startsWith(LOCAL_PREFIX) && (localModels.has(id) || slots[id]?.status === 'loading'),
    LOCAL_PREFIX,
    DEFAULT_VIEW.models,
  );
  for (const n of notes) useLinkNotes.getState().add(n);
  if (keep.join(',') !== view.models.join(',')) setView({ models: keep });
}

/** A pasted or edited link in an open tab: apply it over the current view, naming what in it is unusable. */
export function followHash(): void {
  const { view, setView } = useStore.getState();
  const decoded = decodeView(location.hash, view);
  useLinkNotes.getState().follow(decoded.problems);
  setView(decoded.view);
  checkLinkModels();
  checkImageLink();
}

/** Models the user dropped or named by URL: kept in this tab only, so a link cannot reopen them. */
export const LOCAL_PREFIX = 'local-';

const localId = (name: string) =>
  LOCAL_PREFIX +
  name
    .toLowerCase()
    .replace(/\.onnx$/, '')
    .replace(/[^a-z0-9._-]+/g, '-');

/** Bytes of models the user supplied, kept so a backend switch (or coming back into view) can reload them. */
const localModels = new Map<string, { bytes: ArrayBuffer; sidecar?: string }>();

async function addLocalModel(
  id: string,
  bytes: Promise<ArrayBuffer>,
  sidecar?: string,
  source?: ModelSource,
): Promise<void> {
  const { setSlot, setView } = useStore.getState();
  setSlot(id, { status: 'loading', progress: 0 });
  if (source) registerModelSource(id, source);
  try {
    const data = await bytes;
    const model = await loadModel(id, data, useStore.getState().view.backend, sidecar, workerOutputs);
    localModels.set(id, { bytes: data, sidecar });
    setSlot(id, { status: 'ready', model });
    const models = useStore.getState().view.models.filter((m) => m !== id);
    setView({ models: [...models, id] });
  } catch (e) {
    // The models and images already open stay as they were; the message names the problem and the fix (the
    // runtime's own text, if any, goes folded under it).
    const name = source?.name ?? id;
    const read = e instanceof ModelError ? null : explainReadFailure(name, source?.size, e);
    const message = e instanceof ModelError ? e.message : (read ?? `${name}: ${(e as Error).message}`);
    const detail = read ? String((e as Error).message ?? e) : detailOf(e);
    setSlot(id, { status: 'error', error: message, detail });
    useStore.getState().notify(message, detail);
  }
}

export async function addModelUrl(url: string): Promise<void> {
  let id: string;
  try {
    id = localId(new URL(url, location.href).pathname.split('/').pop() || 'model');
  } catch {
    useStore.getState().notify(`"${url}" is not a URL: give the full address of an .onnx file`);
    return;
  }
  await addLocalModel(
    id,
    fetchModelBytes(url, (p) => useStore.getState().setSlot(id, { status: 'loading', progress: p })),
  );
}

/**
 * Dropped, pasted or picked files: each is what its bytes say (see app/files planFiles), whatever its name;
 * models open next to the others, images join the strip, and every other file gets a message saying what it
 * is and what to do. What the user had open stays.
 */
export async function addUserFiles(files: File[]): Promise<void> {
  const { addImages, notify, showImage } = useStore.getState();
  const entries: ImageEntry[] = [];
  const read = await readDropped(files);
  for (const plan of planFiles(read)) {
    const file = read[plan.file];
    if (plan.do === 'tell') {
      notify(plan.message);
      continue;
    }
    if (plan.do === 'coco') {
      await importCoco(new File([file.blob], file.name));
      continue;
    }
    if (plan.do === 'model') {
      if (plan.note) notify(plan.note);
      const sidecar = plan.sidecar === undefined ? undefined : await read[plan.sidecar].blob.text();
      const externalData = await Promise.all(
        plan.externalData.map(async ({ file: j, path }) => ({ path, data: await read[j].blob.arrayBuffer() })),
      );
      await addLocalModel(localId(file.innerName), file.blob.arrayBuffer(), sidecar, {
        name: file.name,
        size: file.blob.size,
        externalData,
      });
      continue;
    }
    if (plan.note) notify(plan.note);
    try {
      const entry = await entryOf(file.blob, file.name, 'user');
      if (entry.original) notify(downscaleNote(file.name, entry.original, entry));
      const open = [...useStore.getState().images, ...entries].find((i) => i.id === entry.id);
      if (open) {
        if (open.name !== file.name)
          notify(`${file.name} has the same pixels as ${open.name}, which is already open: showing it.`);
        URL.revokeObjectURL(entry.url);
        URL.revokeObjectURL(entry.thumb);
        if (!entries.includes(open)) entries.push(open);
        continue;
      }
      entries.push(entry);
    } catch (e) {
      notify(undecodableMessage(file), (e as Error).message);
    }
  }
  if (!entries.length) return;
  addImages(entries);
  showImage(entries[0]);
}

/** Files from a drop: plain files, and every file inside dropped folders (recursively). */
export async function droppedFiles(items: DataTransferItemList): Promise<File[]> {
  const entries = [...items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e);
      }
    }
  };
  for (const e of entries) await walk(e);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const opening = new Map<string, Promise<void>>();

/**
 * Open a model unless it is open; a caller that arrives while it loads waits for the load (an image dropped
 * during the first load was otherwise never analysed: its run saw a 'loading' slot and gave up).
 */
function ensureModel(id: string): Promise<void> {
  const pending = opening.get(id);
  if (pending) return pending;
  if (useStore.getState().slots[id]) return Promise.resolve();
  const job = openModel(id).finally(() => opening.delete(id));
  opening.set(id, job);
  return job;
}

async function openModel(id: string): Promise<void> {
  const { zoo, setSlot, view } = useStore.getState();
  const local = localModels.get(id);
  if (local) {
    setSlot(id, { status: 'loading', progress: 1 });
    try {
      setSlot(id, {
        status: 'ready',
        model: await loadModel(id, local.bytes, view.backend, local.sidecar, workerOutputs),
      });
    } catch (e) {
      setSlot(id, { status: 'error', error: (e as Error).message });
    }
    return;
  }
  const entry = zoo?.models.find((m) => m.id === id) ?? zoo?.variants?.find((m) => m.id === id);
  if (!entry) {
    setSlot(id, {
      status: 'error',
      error: id.startsWith(LOCAL_PREFIX)
        ? `'${id}' was a model file opened in another tab or before a reload; links cannot carry local files — drop it again`
        : `the zoo has no model '${id}'; pick a pair from the menu`,
    });
    return;
  }
  setSlot(id, { status: 'loading', progress: 0 });
  try {
    const bytes = await fetchModelBytes(`${base}${entry.file}`, (p) => setSlot(id, { status: 'loading', progress: p }));
    setSlot(id, { status: 'ready', model: await loadModel(id, bytes, view.backend, undefined, workerOutputs) });
  } catch (e) {
    setSlot(id, { status: 'error', error: e instanceof ModelError ? e.message : `${id}: ${(e as Error).message}` });
  }
}

export function analyse(id: string, image: ImageEntry): Promise<void> {
  const key = runKey(id, image.id);
  if (useStore.getState().runs[key] || inflight.has(key)) return inflight.get(key) ?? Promise.resolve();
  const job = (async () => {
    await ensureModel(id);
    const slot = useStore.getState().slots[id];
    if (slot?.status !== 'ready' || !slot.model) return;
    const contract = slot.model.contract;
    const wanted = [...new Set([...taskOutputs(contract), ...pageOutputs(contract)])];
    const raw = await runModel(slot.model, image, wanted);
    if (useStore.getState().slots[id] !== slot) return; // the model left the view (or the backend changed) meanwhile
    useStore.getState().putRun({
      modelId: id,
      imageId: image.id,
      ...raw,
      bytes: payloadBytes(raw.outputs),
      nonFinite: nonFiniteOutputs(raw.outputs), // counted once here; every view reads the count
    });
  })()
    .catch((e: Error) =>
      useStore
        .getState()
        .notify(
          e instanceof ModelError
            ? `${e.message} (image: ${image.name})`
            : `${id} could not run on ${image.name}: ${e.message}`,
          detailOf(e),
        ),
    )
    .finally(() => inflight.delete(key));
  inflight.set(key, job);
  return job;
}

/**
 * Keep the worker in step with the view: run every model in view on the current image (one after the other:
 * they share one worker, the teacher first), and release the sessions of models that left the view.
 */
export function useAnalysis(): void {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => findImage(s.images, s.view.image));
  // Models whose session is gone (a backend switch) must load and run again; analyse() skips done work.
  const unloaded = useStore((s) => models.filter((id) => !s.slots[id]).join(','));
  // biome-ignore lint/correctness/useExhaustiveDependencies: `unloaded` is the trigger, not an input
  useEffect(() => {
    if (!image) return;
    void (async () => {
      for (const id of models) await analyse(id, image);
    })();
  }, [models, image, unloaded]);
  useEffect(() => {
    const { slots, dropModel } = useStore.getState();
    for (const id of Object.keys(slots)) {
      if (models.includes(id) || slots[id].status === 'loading') continue;
      dropModel(id);
      if (slots[id].status === 'ready') void releaseModel(id).catch(() => undefined);
    }
  }, [models]);
}

/** A COCO JSON the user gives: ground truth for their own images (matched by file_name) in the detection views. */
export async function importCoco(file: File): Promise<void> {
  const parsed = parseCoco(await file.text());
  if (parsed.ok) useGroundTruthStore.getState().setImported({ file: file.name, coco: parsed.coco });
  else useStore.getState().notify(`${file.name} is not a COCO annotation file: ${parsed.problem}.`);
}
