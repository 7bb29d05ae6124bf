/** Glue between the store and inference: open images and models, run what the view names on the current image. */
import { useEffect } from 'react';
import { nonFiniteOutputs } from '../analysis/finiteness';
import { parseCoco } from '../analysis/groundTruth';
import { draftOfPlainOnnx } from '../contract/draft';
import { detailOf, explainReadFailure } from '../inference/errors';
import {
  cachedModelBytes,
  cacheModelBytes,
  fetchMessages,
  fetchModelBytes,
  ModelFetchError,
  parseModelUrl,
} from '../inference/fetchModel';
import {
  describeImage,
  type LoadedModel,
  loadModel,
  MAX_MODEL_WORKERS,
  ModelError,
  type ModelSource,
  NotBatchable,
  onLoadPhase,
  onModelsEvicted,
  RunStopped,
  readHeldOutputs,
  registerModelSource,
  releaseModel,
  runModel,
  runModelBatch,
  stopModel,
} from '../inference/models';
import { busyWorkers, requestedThreads, type ThreadChoice, wasmThreads } from '../inference/threads';
import { pageOutputs, workerOutputs } from '../methods/registry';
import type { ModelInView } from '../methods/types';
import { sha256Hex } from '../share/viewDocument';
import { useGroundTruthStore } from '../state/groundTruth';
import { quote } from '../state/linkCodec';
import { useLinkNotes } from '../state/linkNotes';
import { useProgress } from '../state/progress';
import { payloadBytes, type Run, runKey } from '../state/runs';
import { findImage, type ImageEntry, useStore } from '../state/store';
import { DEFAULT_VIEW, decodeView } from '../state/viewState';
import { showDraft, useDrafts } from './drafts';
import { downscaleNote, planFiles, readDropped, undecodableMessage } from './files';
import { unknownModels } from './linkCheck';
import { lacking, outputsToBring } from './readback';
import { taskOutputs, taskView } from './task';
import { concurrentModels, Limiter, timeouts } from './timeouts';

const base = import.meta.env.BASE_URL;
/** Model loads (a WebAssembly compile each) and runs, a few at a time: see concurrentModels. */
const limiter = new Limiter(concurrentModels(typeof navigator === 'undefined' ? 2 : navigator.hardwareConcurrency));
const openSession = (...args: Parameters<typeof loadModel>) => limiter.run(() => loadModel(...args));

/**
 * WASM threads for model `id` about to load (inference/threads.ts): this browser's cores and isolation, shared by
 * the models in view (it among them) that may run at once; `?wasmThreads=<n>` (a test hook) overrides the policy.
 */
function threadChoice(id: string): ThreadChoice {
  const inView = new Set([...useStore.getState().view.models, id]).size;
  const g = globalThis as { crossOriginIsolated?: boolean; isSecureContext?: boolean; location?: Location };
  return wasmThreads({
    cores: typeof navigator === 'undefined' ? undefined : navigator.hardwareConcurrency,
    busy: busyWorkers(inView, Math.min(limiter.size, MAX_MODEL_WORKERS)),
    isolated: g.crossOriginIsolated === true,
    secure: g.isSecureContext !== false,
    requested: requestedThreads(g.location?.search ?? ''),
  });
}
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

/** An image from a shared view: decoded and added to the strip (or the open one with the same pixels); null if unreadable. */
export async function openSharedImage(blob: Blob, name: string): Promise<ImageEntry | null> {
  try {
    const entry = await entryOf(blob, name, 'user');
    const open = useStore.getState().images.find((i) => i.id === entry.id);
    if (open) {
      URL.revokeObjectURL(entry.url);
      URL.revokeObjectURL(entry.thumb);
      return open;
    }
    useStore.getState().addImages([entry]);
    return entry;
  } catch (e) {
    useStore
      .getState()
      .notify(
        `the shared image ${name} cannot be decoded by this browser (it is damaged): ask for the view again`,
        (e as Error).message,
      );
    return null;
  }
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
  if (!zoo || sharedViewsOpening > 0) return; // a shared view being opened may name its model files yet
  const known = new Set([...zoo.models, ...(zoo.variants ?? [])].map((m) => m.id));
  const { keep, notes } = unknownModels(
    view.models,
    (id) => known.has(id),
    (id) =>
      id.startsWith(LOCAL_PREFIX) &&
      (localModels.has(id) ||
        urlModels.has(id) ||
        wantedModels.has(id) ||
        slots[id]?.status === 'loading' ||
        slots[id]?.status === 'fetching' ||
        slots[id]?.status === 'draft'),
    LOCAL_PREFIX,
    DEFAULT_VIEW.models,
  );
  for (const n of notes) useLinkNotes.getState().add(n);
  if (keep.join(',') !== view.models.join(',')) setView({ models: keep });
}

let sharedViewsOpening = 0;

/** A shared view is being opened (+1) or is open (−1): the link's models are checked once it is. */
export function holdLinkCheck(delta: 1 | -1): void {
  sharedViewsOpening += delta;
  if (!sharedViewsOpening) checkLinkModels();
}

/** A pasted or edited link in an open tab: apply it over the current view, naming what in it is unusable. */
export function followHash(): void {
  const { view, setView } = useStore.getState();
  const decoded = decodeView(location.hash, view);
  useLinkNotes.getState().follow(decoded.problems);
  setView(decoded.view);
  checkLinkModels();
  checkImageLink();
  // the link's zoom, mode and data-set state, and its shared view (own image, ground truth, findings)
  void import('../share/share').then((share) => {
    share.applyExtras(decoded.extras);
    if (decoded.payload) void share.openPayload(decoded.payload);
  });
  if (decoded.payload) holdLinkCheck(1); // released by openPayload
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
const localModels = new Map<string, { bytes: ArrayBuffer; sidecar?: string; name?: string }>();

/** Model files a shared view names by SHA-256: each waits in its pane for the user to drop that very file. */
const wantedModels = new Map<string, { name: string; sha256: string; bytes?: number }>();

/** A shared view's model file: its pane asks for the file (links and views never carry model bytes). */
export function wantModelFile(id: string, want: { name: string; sha256: string; bytes?: number }): void {
  wantedModels.set(id, want);
  const size = want.bytes ? `, ${(want.bytes / 1e6).toFixed(2)} MB` : '';
  useStore.getState().setSlot(id, {
    status: 'error',
    error: `This view uses ${want.name} (SHA-256 ${want.sha256.slice(0, 12)}…${size}), a model file your colleague opened: a link never carries model files. Drop the same file here to see it.`,
  });
}

/** Where each user model came from, for a shared view: the file (name, bytes) or the URL. */
export function userModelSource(id: string): { file: { name: string; bytes: ArrayBuffer } } | { url: string } | null {
  const url = urlModels.get(id);
  if (url) return { url };
  const local = localModels.get(id);
  return local ? { file: { name: local.name ?? `${id}.onnx`, bytes: local.bytes } } : null;
}

/**
 * A model file against the shared view's wanted ones: the id it opens under (a wanted file of the same bytes
 * keeps the view's id whatever the file is called), or why it is refused (the view wants another file of that name).
 */
async function matchWanted(id: string, name: string, data: ArrayBuffer): Promise<{ id: string } | { refuse: string }> {
  if (!wantedModels.size) return { id };
  const digest = await sha256Hex(data);
  const same = [...wantedModels].find(([, w]) => w.sha256 === digest);
  if (same) {
    wantedModels.delete(same[0]);
    return { id: same[0] };
  }
  const named = wantedModels.get(id);
  if (named)
    return {
      refuse: `${name} is not the model of the shared view: its SHA-256 is ${digest.slice(0, 12)}…, the view's ${named.name} has ${named.sha256.slice(0, 12)}…. Ask your colleague for their file (or open it as another model under another name).`,
    };
  return { id };
}

async function addLocalModel(
  requestedId: string,
  bytes: Promise<ArrayBuffer>,
  sidecar?: string,
  source?: ModelSource,
): Promise<void> {
  const { setSlot, setView } = useStore.getState();
  let id = requestedId;
  if (!wantedModels.has(id)) setSlot(id, { status: 'loading', progress: 0 });
  if (source) registerModelSource(id, source);
  try {
    const data = await bytes;
    const match = await matchWanted(id, source?.name ?? id, data);
    if ('refuse' in match) {
      useStore.getState().notify(match.refuse);
      return;
    }
    if (match.id !== id) {
      useStore.getState().dropModel(id);
      id = match.id;
      if (source) registerModelSource(id, source);
    }
    setSlot(id, { status: 'loading', progress: 0 });
    // no contract and no sidecar: a draft from its graph, for the user to confirm (openDraftedModel)
    const draft = sidecar === undefined ? draftOfPlainOnnx(new Uint8Array(data), source?.name ?? `${id}.onnx`) : null;
    if (draft) return showDraft(id, data, draft, source ?? { name: `${id}.onnx` });
    const model = await loadModel(id, data, useStore.getState().view.backend, sidecar, workerOutputs, threadChoice(id));
    localModels.set(id, { bytes: data, sidecar, name: source?.name ?? `${id}.onnx` });
    setSlot(id, { status: 'ready', model });
    const { view, images } = useStore.getState();
    if (!view.models.includes(id)) setView({ models: [...view.models, id] });
    else {
      // a shared view's model file, already in view: nothing else changes, so run it here
      const image = findImage(images, view.image);
      if (image) void analyse(id, image);
    }
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

/**
 * Open a model waiting with its draft, with the contract the user confirmed — as a sidecar opens one. If it
 * fails to load, the draft comes back with why.
 */
export async function openDraftedModel(id: string, contractJson: string): Promise<void> {
  const entry = useDrafts.getState().entries[id];
  if (!entry) return;
  await addLocalModel(id, Promise.resolve(entry.bytes), contractJson, entry.source);
  const slot = useStore.getState().slots[id];
  if (slot?.status === 'ready') useDrafts.getState().update(id, { opened: contractJson, failed: undefined });
  else if (slot?.status === 'error') {
    useDrafts.getState().update(id, { failed: slot.error });
    useStore.getState().setSlot(id, { status: 'draft' });
  }
}

/** URLs of the models the user named by URL (a failed or cancelled download is fetched again on Retry). */
const urlModels = new Map<string, string>();
/** Downloads under way, by model: Cancel and Remove abort them. */
const downloads = new Map<string, AbortController>();

/** A model URL from the box: its pane shows at once (progress, then the model or what went wrong). */
export async function addModelUrl(text: string): Promise<void> {
  const parsed = parseModelUrl(text);
  if (!parsed.ok) {
    useStore.getState().notify(parsed.message);
    return;
  }
  const url = parsed.url;
  const id = localId(
    url.protocol === 'data:' || url.protocol === 'blob:' ? 'url-model' : url.pathname.split('/').pop() || 'model',
  );
  downloads.get(id)?.abort();
  localModels.delete(id);
  urlModels.set(id, url.href);
  const { setView, dropModel } = useStore.getState();
  dropModel(id);
  setView({ models: [...useStore.getState().view.models.filter((m) => m !== id), id] });
  await ensureModel(id);
}

/** A shared view's model URL, under the view's id: fetched (or taken from the cache) and opened. */
export function openSharedUrlModel(id: string, url: string): Promise<void> {
  urlModels.set(id, url);
  return ensureModel(id);
}

/** The file name ending an http(s) URL's path, percent-decoded where it decodes; null for none (data:, blob:, a bare host). */
function urlFileName(href: string): string | null {
  const u = new URL(href);
  const last = /^https?:$/.test(u.protocol) ? u.pathname.split('/').pop() : '';
  if (!last) return null;
  try {
    return decodeURIComponent(last) || null;
  } catch {
    return last; // a malformed escape: the name as written
  }
}

/** Fetch (or take from the cache) a URL model's bytes and open them; every failure is worded in its pane. */
async function openUrlModel(id: string, url: string): Promise<void> {
  const { setSlot } = useStore.getState();
  const { setFetch } = useProgress.getState();
  const control = new AbortController();
  downloads.set(id, control);
  setSlot(id, { status: 'fetching', progress: 0 });
  setFetch(id, { url, received: 0, total: null });
  const current = () => downloads.get(id) === control; // not removed or replaced meanwhile
  try {
    const cached = await cachedModelBytes(url);
    const bytes =
      cached ??
      (await fetchModelBytes(url, {
        signal: control.signal,
        idleMs: timeouts().fetchIdleMs,
        onProgress: (p) => current() && setFetch(id, { url, ...p }),
      }));
    if (!current()) return;
    setFetch(id, null);
    // no contract: a draft from its graph, for the user to confirm — as a dropped file (openDraftedModel opens it)
    const name = urlFileName(url) ?? `${id}.onnx`;
    const draft = draftOfPlainOnnx(new Uint8Array(bytes), name);
    if (draft) return showDraft(id, bytes, draft, { name, size: bytes.byteLength });
    setSlot(id, { status: 'loading', progress: 1 });
    const model = await openSession(
      id,
      bytes,
      useStore.getState().view.backend,
      undefined,
      workerOutputs,
      threadChoice(id),
    );
    if (!current()) return;
    localModels.set(id, { bytes });
    if (!cached) await cacheModelBytes(url, bytes); // only bytes that opened as a model are kept
    setSlot(id, { status: 'ready', model });
  } catch (e) {
    if (!current()) return;
    setFetch(id, null);
    const message =
      e instanceof ModelFetchError || e instanceof ModelError ? e.message : `${id}: ${(e as Error).message}`;
    setSlot(id, { status: 'error', error: message, retry: true });
  } finally {
    if (current()) downloads.delete(id);
  }
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
    if (plan.do === 'view') {
      // loaded on demand: sharing imports this module (no cycle at load time)
      const { openViewFile } = await import('../share/share');
      await openViewFile(file.blob, file.name);
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
  const url = urlModels.get(id);
  if (url && !localModels.has(id)) return openUrlModel(id, url);
  const local = localModels.get(id);
  if (local) {
    setSlot(id, { status: 'loading', progress: 1 });
    try {
      setSlot(id, {
        status: 'ready',
        model: await openSession(id, local.bytes, view.backend, local.sidecar, workerOutputs, threadChoice(id)),
      });
    } catch (e) {
      setSlot(id, { status: 'error', error: (e as Error).message, retry: true });
    }
    return;
  }
  if (useDrafts.getState().entries[id]) {
    setSlot(id, { status: 'draft' }); // still waiting for its contract
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
    const url = new URL(`${base}${entry.file}`, location.href).href;
    const cached = await cachedModelBytes(url);
    const bytes =
      cached ??
      (await fetchModelBytes(url, {
        idleMs: timeouts().fetchIdleMs,
        onProgress: (p) => p.total && setSlot(id, { status: 'loading', progress: p.received / p.total }),
      }));
    const model = await openSession(id, bytes, view.backend, undefined, workerOutputs, threadChoice(id));
    if (!cached) await cacheModelBytes(url, bytes);
    setSlot(id, { status: 'ready', model });
  } catch (e) {
    const message =
      e instanceof ModelError || e instanceof ModelFetchError ? e.message : `${id}: ${(e as Error).message}`;
    setSlot(id, { status: 'error', error: message, retry: true });
  }
}

/** The end of each model's queue of runs (its worker runs one at a time anyway). */
const modelTurns = new Map<string, Promise<unknown>>();

/**
 * One run of a model at a time, each then waiting for a place in the limiter: a stuck model holds one place
 * at most (not one per image stepped through), and its deadline counts from when its run starts.
 */
function inTurn<T>(id: string, job: () => Promise<T>): Promise<T> {
  const previous = modelTurns.get(id) ?? Promise.resolve();
  const mine = previous.then(() => limiter.run(job));
  const tail = mine.catch(() => undefined);
  modelTurns.set(id, tail);
  void tail.then(() => modelTurns.get(id) === tail && modelTurns.delete(id));
  return mine;
}

/** Runs under way, by model: Cancel (and a timeout) abort them, which stops the model's worker. */
const running = new Map<string, Set<AbortController>>();

/**
 * Run with a deadline: past it (or on Cancel) the model's worker is terminated (onnxruntime cannot abort a
 * run) and its pane says so, with Retry; the other models and later images are not held back.
 */
async function runWithDeadline<T>(
  id: string,
  model: LoadedModel,
  imageName: string,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const control = new AbortController();
  const mine = running.get(id) ?? new Set<AbortController>();
  running.set(id, mine.add(control));
  const { runMs } = timeouts();
  const timer = setTimeout(() => control.abort('timeout'), runMs);
  useProgress.getState().setRun(id, { image: imageName, startedAt: Date.now(), timeoutMs: runMs });
  try {
    return await run(control.signal);
  } catch (e) {
    if (e instanceof RunStopped && useStore.getState().slots[id]?.model === model) {
      useStore
        .getState()
        .setSlot(id, { status: 'error', error: runStoppedMessage(id, imageName, e.reason, runMs), retry: true });
    }
    throw e;
  } finally {
    clearTimeout(timer);
    mine.delete(control);
    if (!mine.size) {
      running.delete(id);
      useProgress.getState().setRun(id, null);
    }
  }
}

export function runStoppedMessage(id: string, image: string, reason: RunStopped['reason'], runMs: number): string {
  return reason === 'timeout'
    ? `${id} did not finish a run on ${image} within ${Math.round(runMs / 1000)} s; it was stopped. Retry, or use a smaller image / the WASM backend`
    : `${id}: the run on ${image} was cancelled and the model stopped. Retry to load it again`;
}

/** Cancel what a model is doing: its download, or its run (which stops its worker). */
export function cancelModel(id: string): void {
  const download = downloads.get(id);
  if (download) {
    downloads.delete(id);
    download.abort();
    useProgress.getState().setFetch(id, null);
    const url = urlModels.get(id) ?? id;
    useStore.getState().setSlot(id, { status: 'error', error: fetchMessages.cancelled(url), retry: true });
  }
  for (const control of running.get(id) ?? []) control.abort('cancelled');
}

/** Open a model again from scratch: a fresh worker, its kept bytes (or the cache, or its URL again). */
export function retryModel(id: string): void {
  cancelModel(id);
  stopModel(id, 'retried');
  reopenModel(id);
}

// Models that shared a worker with a stopped one (past MAX_MODEL_WORKERS) lost their session: open them again.
onModelsEvicted((ids) => {
  for (const id of ids) if (useStore.getState().slots[id]?.status === 'ready') reopenModel(id);
});

function reopenModel(id: string): void {
  useStore.getState().dropModel(id);
  // then analyse the current image (useAnalysis does not notice: the slot is back before it renders)
  void ensureModel(id).then(() => {
    const { images, view } = useStore.getState();
    const image = findImage(images, view.image);
    if (image && view.models.includes(id)) void analyse(id, image);
  });
}

/** Take a model out of the view, whatever it is doing. */
export function removeModel(id: string): void {
  cancelModel(id);
  const { view, setView, dropModel } = useStore.getState();
  void releaseModel(id); // a stuck run was stopped by the cancel; otherwise only its session goes
  dropModel(id);
  useDrafts.getState().drop(id);
  setView({ models: view.models.filter((m) => m !== id) });
}

// A model's warm-up at load (WebGPU: shaders compiled, graph captured) shows in its pane while it lasts.
onLoadPhase((id, phase) => useProgress.getState().setWarmUp(id, phase ? { startedAt: Date.now() } : null));

/** The loaded models in view, left to right: what decides which method views are in sight. */
function modelsInViewNow(): ModelInView[] {
  const { view, slots } = useStore.getState();
  return view.models.flatMap((id) => {
    const model = slots[id]?.status === 'ready' ? slots[id].model : undefined;
    return model ? [{ id, contract: model.contract }] : [];
  });
}

/** The model's run on the image, with what the pane and the views in sight need (done work is skipped). */
export function analyse(id: string, image: ImageEntry): Promise<void> {
  const key = runKey(id, image.id);
  const inFlight = inflight.get(key);
  if (inFlight) return inFlight;
  const done = useStore.getState().runs[key];
  if (done) return complete(id, image, done);
  const job = (async () => {
    await ensureModel(id); // outside the limiter: a slow download must not hold a place
    const slot = useStore.getState().slots[id];
    if (slot?.status !== 'ready' || !slot.model) return;
    const model = slot.model;
    const raw = await inTurn(id, () => {
      // queued behind a run that was stopped: the model is gone until Retry
      if (useStore.getState().slots[id] !== slot) throw new RunStopped('cancelled');
      const { bring, holdBack } = outputsToBring(model.contract, !!model.capture?.used, modelsInViewNow());
      return runWithDeadline(id, model, image.name, (signal) => runModel(model, image, bring, signal, holdBack));
    });
    if (useStore.getState().slots[id] !== slot) return; // the model left the view (or the backend changed) meanwhile
    keepRun(id, image, raw);
  })()
    .catch(runFailed(id, image.name, [key]))
    .finally(() => inflight.delete(key));
  inflight.set(key, job);
  return job;
}

/**
 * A run that lacks outputs a view now in sight needs (it ran before that view appeared, with them held back
 * in the worker): read them back from the worker, or run the model again if the worker let them go.
 */
function complete(id: string, image: ImageEntry, run: Run): Promise<void> {
  const slot = useStore.getState().slots[id];
  const model = slot?.status === 'ready' ? slot.model : undefined;
  const missing = model ? lacking(run, model.contract, modelsInViewNow()) : [];
  if (!model || !missing.length) return Promise.resolve();
  const key = runKey(id, image.id);
  const job = (async () => {
    const held = await readHeldOutputs(model, image, missing).catch(() => null);
    if (useStore.getState().slots[id] !== slot) return;
    const now = useStore.getState().runs[key] ?? run;
    if (held) {
      const outputs = { ...now.outputs, ...held };
      useStore.getState().putRun({ ...now, outputs, ...tally(outputs, now.classMaps) });
      return;
    }
    const raw = await inTurn(id, () => {
      if (useStore.getState().slots[id] !== slot) throw new RunStopped('cancelled');
      const { bring, holdBack } = outputsToBring(model.contract, !!model.capture?.used, modelsInViewNow());
      return runWithDeadline(id, model, image.name, (signal) => runModel(model, image, bring, signal, holdBack));
    });
    if (useStore.getState().slots[id] === slot) keepRun(id, image, raw);
  })()
    .catch(runFailed(id, image.name, [key]))
    .finally(() => inflight.delete(key));
  inflight.set(key, job);
  return job;
}

/**
 * A run's bytes in the cache and its outputs with NaN or infinite values — counted once here, every view reads
 * the count; a class map brings the counts the worker took of its logits.
 */
function tally(outputs: Run['outputs'], classMaps: Run['classMaps'] = {}): Pick<Run, 'bytes' | 'nonFinite'> {
  const reduced = Object.entries(classMaps)
    .filter(([, m]) => m.nan || m.infinite)
    .map(([output, { total, nan, infinite }]) => ({ output, total, nan, infinite }));
  return { bytes: payloadBytes(outputs, classMaps), nonFinite: [...nonFiniteOutputs(outputs), ...reduced] };
}

function keepRun(id: string, image: ImageEntry, raw: Awaited<ReturnType<typeof runModel>>): void {
  useProgress.getState().setFailedRun(runKey(id, image.id), null);
  useStore.getState().putRun({ modelId: id, imageId: image.id, ...raw, ...tally(raw.outputs, raw.classMaps) });
}

const runFailed = (id: string, imageName: string, keys: string[]) => (e: Error) => {
  if (e instanceof RunStopped) return; // its pane says so
  const message =
    e instanceof ModelError
      ? `${e.message} (image: ${imageName})`
      : `${id} could not run on ${imageName}: ${e.message}`;
  // the pane stops saying "running" and offers Retry for this image; the message itself is the notice
  for (const key of keys) useProgress.getState().setFailedRun(key, message);
  useStore.getState().notify(message, detailOf(e));
};

/** Run a model again on an image it failed on (the failure may have been passing: memory, a lost device). */
export function retryRun(id: string, image: ImageEntry): void {
  useProgress.getState().setFailedRun(runKey(id, image.id), null);
  void analyse(id, image);
}

/**
 * One model on several images (a data set): in one session run when its graph leaves the batch axis open and its
 * runs keep nothing in the worker, else image by image. Images already analysed are skipped.
 */
export async function analyseMany(id: string, images: ImageEntry[]): Promise<void> {
  await ensureModel(id);
  const slot = useStore.getState().slots[id];
  const model = slot?.model;
  const todo = images.filter((im) => !useStore.getState().runs[runKey(id, im.id)] && !inflight.has(runKey(id, im.id)));
  if (slot?.status !== 'ready' || !model || !model.batchable || model.held.length || todo.length < 2) {
    await Promise.all(images.map((im) => analyse(id, im)));
    return;
  }
  const wanted = [...new Set([...taskOutputs(model.contract), ...pageOutputs(model.contract)])];
  // segmentation logits serve the page only through their argmax: the worker sends class maps instead
  const seg = taskView(model.contract);
  const classMaps =
    seg.kind === 'segmentation' && !pageOutputs(model.contract).includes(seg.logits) ? [seg.logits] : [];
  const names = todo.map((im) => im.name).join(', ');
  let batchable = true;
  const job = (async () => {
    const raws = await inTurn(id, () => {
      if (useStore.getState().slots[id] !== slot) throw new RunStopped('cancelled');
      return runWithDeadline(id, model, names, (signal) => runModelBatch(model, todo, wanted, signal, classMaps));
    });
    if (useStore.getState().slots[id] !== slot) return;
    for (const [i, im] of todo.entries()) keepRun(id, im, raws[i]);
  })()
    .catch((e: Error) => {
      if (!(e instanceof NotBatchable))
        return runFailed(
          id,
          names,
          todo.map((im) => runKey(id, im.id)),
        )(e);
      batchable = false;
      model.batchable = false; // its outputs do not all carry the batch: image by image from now on
    })
    .finally(() => {
      for (const im of todo) inflight.delete(runKey(id, im.id));
    });
  for (const im of todo) inflight.set(runKey(id, im.id), job);
  await job;
  if (!batchable) await Promise.all(images.map((im) => analyse(id, im)));
}

/**
 * Keep the workers in step with the view: run every model in view on the current image (in parallel, each in
 * its own worker, a few at a time: the limiter), and stop the workers of models that left the view.
 */
export function useAnalysis(): void {
  const models = useStore((s) => s.view.models);
  const image = useStore((s) => findImage(s.images, s.view.image));
  // Models whose session is gone (a backend switch) must load and run again; analyse() skips done work.
  const unloaded = useStore((s) => models.filter((id) => !s.slots[id]).join(','));
  // A model that becomes ready may bring views in sight whose outputs earlier runs held back in the worker.
  const ready = useStore((s) => models.filter((id) => s.slots[id]?.status === 'ready').join(','));
  // biome-ignore lint/correctness/useExhaustiveDependencies: `unloaded` and `ready` are triggers, not inputs
  useEffect(() => {
    if (!image) return;
    for (const id of models) void analyse(id, image);
  }, [models, image, unloaded, ready]);
  useEffect(() => {
    const { slots, dropModel } = useStore.getState();
    for (const id of Object.keys(slots)) {
      if (models.includes(id) || slots[id].status === 'loading' || slots[id].status === 'fetching') continue;
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
