/** Glue between the store and inference: load what the view names, run it on the current image. */
import { fetchModelBytes, loadModel, ModelError, runModel } from '../inference/models';
import { taskOutputs, taskView } from '../inference/task';
import { viewOutputs } from '../inference/views';
import { useStore, type ImageEntry } from '../state/store';
import { cocoObjects, parseCoco, type Coco, type GtObject } from '../analysis/groundTruth';
import { useGroundTruthStore } from '../state/groundTruth';

const base = import.meta.env.BASE_URL;
const inflight = new Map<string, Promise<void>>();

let galleryLoaded = false;

export async function loadGallery(): Promise<void> {
  if (galleryLoaded) return;
  galleryLoaded = true;
  const { setZoo, addImages, notify, view } = useStore.getState();
  try {
    const zooRes = await fetch(`${base}models/index.json`);
    if (!zooRes.ok) throw new Error(`models/index.json answered HTTP ${zooRes.status}`);
    setZoo(await zooRes.json());
    const gallery = (await (await fetch(`${base}samples/index.json`)).json()) as { images: string[] };
    const names = view.sample && gallery.images.includes(view.sample)
      ? [view.sample, ...gallery.images.filter((n) => n !== view.sample)] : gallery.images;
    const entries = await Promise.all(names.map(async (name): Promise<ImageEntry> => {
      const blob = await (await fetch(`${base}samples/${name}`)).blob();
      return { name, bitmap: await createImageBitmap(blob), fromGallery: true };
    }));
    addImages(entries);
    useStore.getState().setCurrent(0);
  } catch (e) {
    notify(`The bundled zoo or gallery did not load (${(e as Error).message}). Run the app with npm start from the repository.`);
  }
}

/** Models the user dropped or named by URL: kept in this tab only, so a link cannot reopen them. */
export const LOCAL_PREFIX = 'local-';

const localId = (name: string) => LOCAL_PREFIX + name.toLowerCase().replace(/\.onnx$/, '').replace(/[^a-z0-9._-]+/g, '-');

/** Load a model from bytes the user supplied and show it next to the models already open. */
/** Bytes of models the user supplied, kept so a backend switch can reload them. */
const localModels = new Map<string, { bytes: ArrayBuffer; sidecar?: string }>();

async function addLocalModel(id: string, bytes: Promise<ArrayBuffer>, sidecar?: string): Promise<void> {
  const { setSlot, setView } = useStore.getState();
  setSlot(id, { status: 'loading', progress: 0 });
  try {
    const data = await bytes;
    const model = await loadModel(id, data, useStore.getState().view.backend, sidecar);
    localModels.set(id, { bytes: data, sidecar });
    setSlot(id, { status: 'ready', model });
    const models = useStore.getState().view.models.filter((m) => m !== id);
    setView({ models: [...models, id] });
  } catch (e) {
    // The models and images already open stay as they were; the message names the problem and the fix.
    setSlot(id, { status: 'error', error: e instanceof ModelError ? e.message : `${id}: ${(e as Error).message}` });
    useStore.getState().notify(e instanceof Error ? e.message : String(e));
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
  await addLocalModel(id, fetchModelBytes(url, (p) => useStore.getState().setSlot(id, { status: 'loading', progress: p })));
}

export async function addUserFiles(files: File[]): Promise<void> {
  const { addImages, notify } = useStore.getState();
  const entries: ImageEntry[] = [];
  const sidecars = new Map<string, File>();
  for (const f of files) if (f.name.endsWith('.contract.json')) sidecars.set(f.name.replace(/\.contract\.json$/, ''), f);
  for (const file of files) {
    if (file.name.endsWith('.contract.json')) continue;
    if (file.name.toLowerCase().endsWith('.json')) {
      await importCoco(file);
      continue;
    }
    if (file.name.toLowerCase().endsWith('.onnx')) {
      const sidecar = sidecars.get(file.name.replace(/\.onnx$/i, ''));
      await addLocalModel(localId(file.name), file.arrayBuffer(), sidecar ? await sidecar.text() : undefined);
      continue;
    }
    if (file.size === 0) {
      notify(`${file.name} is empty (0 bytes): pick an image file.`);
      continue;
    }
    try {
      let bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      const scale = displayScale(bitmap.width, bitmap.height);
      if (scale < 1) {
        // Models see a few hundred pixels; a 50-megapixel canvas would only stall the tab.
        const full = bitmap;
        bitmap = await createImageBitmap(full, { resizeWidth: Math.round(full.width * scale), resizeHeight: Math.round(full.height * scale), resizeQuality: 'high' });
        notify(`${file.name} is ${((full.width * full.height) / 1e6).toFixed(0)} megapixels: shown and analysed at ${bitmap.width}×${bitmap.height}.`);
        full.close();
      }
      entries.push({ name: file.name, bitmap, fromGallery: false });
    } catch {
      notify(`${file.name} is not an image this browser can decode: use PNG, JPEG or WebP.`);
    }
  }
  if (entries.length) addImages(entries);
}

/** Largest side kept for display and analysis. */
export const MAX_SIDE = 4096;
export const displayScale = (w: number, h: number) => Math.min(1, MAX_SIDE / Math.max(w, h));

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

async function ensureModel(id: string): Promise<void> {
  const { zoo, slots, setSlot, view } = useStore.getState();
  if (slots[id]) return;
  const local = localModels.get(id);
  if (local) {
    setSlot(id, { status: 'loading', progress: 1 });
    try {
      setSlot(id, { status: 'ready', model: await loadModel(id, local.bytes, view.backend, local.sidecar) });
    } catch (e) {
      setSlot(id, { status: 'error', error: (e as Error).message });
    }
    return;
  }
  const entry = zoo?.models.find((m) => m.id === id);
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
    setSlot(id, { status: 'ready', model: await loadModel(id, bytes, view.backend) });
  } catch (e) {
    setSlot(id, { status: 'error', error: e instanceof ModelError ? e.message : `${id}: ${(e as Error).message}` });
  }
}

export function analyse(id: string, image: ImageEntry): Promise<void> {
  const key = `${id}@${image.name}`;
  if (useStore.getState().results[key] || inflight.has(key)) return inflight.get(key) ?? Promise.resolve();
  const job = (async () => {
    await ensureModel(id);
    const slot = useStore.getState().slots[id];
    if (slot?.status !== 'ready' || !slot.model) return;
    const view = taskView(slot.model.contract);
    if (view.kind === 'none' && viewOutputs(slot.model.contract).length === 0) {
      useStore.getState().setResult(key, { outputs: {}, milliseconds: 0 }); // nothing to run for this view
      return;
    }
    const wanted = [...new Set([...taskOutputs(view), ...viewOutputs(slot.model.contract)])];
    const { outputs, milliseconds } = await runModel(slot.model, image.bitmap, wanted, key);
    useStore.getState().setResult(key, { outputs, milliseconds });
  })().catch((e: Error) => useStore.getState().notify(`${id} could not run on ${image.name}: ${e.message}`))
    .finally(() => inflight.delete(key));
  inflight.set(key, job);
  return job;
}

/** A COCO JSON the user gives: ground truth for their own images (matched by file_name) in the detection views. */
export async function importCoco(file: File): Promise<void> {
  const parsed = parseCoco(await file.text());
  if (parsed.ok) useGroundTruthStore.getState().setImported({ file: file.name, coco: parsed.coco });
  else useStore.getState().notify(`${file.name} is not a COCO annotation file: ${parsed.problem}.`);
}

/** The gallery's COCO annotations (ground truth for the gallery samples), fetched once. */
let cocoPromise: Promise<Coco | null> | null = null;
export const loadGalleryCoco = () =>
  (cocoPromise ??= fetch(`${base}samples/coco.json`).then((r) => (r.ok ? r.json() : null), () => null));

/** Ground-truth objects of a gallery sample, boxes as pixel corners; null for the user's own images. */
export const galleryObjects = (coco: Coco | null, image: ImageEntry): GtObject[] | null =>
  (image.fromGallery ? cocoObjects(coco, image.name) : null);
