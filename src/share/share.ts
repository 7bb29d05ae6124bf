/**
 * Sharing what one sees: the link (the view's parameters, plus the shared view deflated into `x=` when there is
 * more than settings to carry — the user's own image, drawn or imported ground truth, model files by SHA-256,
 * findings), the .attnlens file when a link would be too long, and opening either. Nothing is uploaded: a link
 * or a file carries it all, and images never leave the browser except inside what the user sends.
 */
import { type Coco, cocoImage } from '../analysis/groundTruth';
import {
  checkImageLink,
  checkLinkModels,
  holdLinkCheck,
  openSharedImage,
  openSharedUrlModel,
  userModelSource,
  wantModelFile,
} from '../app/controller';
import { download } from '../app/download';
import { useEvaluateStore } from '../evaluate/store';
import { sniff } from '../inference/sniff';
import { useGroundTruthStore } from '../state/groundTruth';
import { useLinkNotes } from '../state/linkNotes';
import { findImage, type ImageEntry, initialLink, useStore } from '../state/store';
import { decodeView, encodeView, type LinkExtras } from '../state/viewState';
import { type Finding, useFindings } from './findings';
import {
  decodePayload,
  encodePayload,
  fromBase64,
  linkWithPayload,
  MAX_LINK_CHARS,
  MAX_VIEW_FILE_BYTES,
  readViewFile,
  type SharedImage,
  type SharedModel,
  sha256Hex,
  toBase64,
  VIEW_FORMAT,
  VIEW_VERSION,
  type ViewDocument,
  viewFileText,
} from './viewDocument';

/** The link fragment of what is on screen: the view, the zoom, the mode, the data-set view's state. */
export function currentHash(): string {
  const { view, zoom, zoo } = useStore.getState();
  const ev = useEvaluateStore.getState();
  return encodeView(view, {
    zoom,
    mode: ev.mode,
    sort: ev.sort,
    filter: ev.filter,
    results: ev.mode === 'evaluate' ? (ev.docHash ?? undefined) : undefined,
    versions: view.models.map((id) => zoo?.models.find((m) => m.id === id)?.sha256.slice(0, 12) ?? ''),
  });
}

const MIME = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp', bmp: 'image/bmp', gif: 'image/gif' } as const;

async function sharedImage(entry: ImageEntry): Promise<SharedImage | null> {
  const bytes = new Uint8Array(await entry.blob.arrayBuffer());
  const s = sniff(bytes.subarray(0, 64));
  if (s.kind !== 'image' || !(s.format in MIME)) return null;
  return { id: entry.id, name: entry.name, mime: MIME[s.format as keyof typeof MIME], data: toBase64(bytes) };
}

/** The images a shared view needs: the one in view and those the findings are about (the user's own; gallery ones travel by name). */
function neededImages(): ImageEntry[] {
  const { images, view } = useStore.getState();
  const current = findImage(images, view.image);
  const ids = new Set([current?.id, ...useFindings.getState().findings.map((f) => f.image.id)]);
  return images.filter((i) => ids.has(i.id));
}

async function sharedModels(notes: string[]): Promise<SharedModel[]> {
  const { view, zoo } = useStore.getState();
  const out: SharedModel[] = [];
  for (const id of view.models) {
    const inZoo = zoo?.models.find((m) => m.id === id);
    if (inZoo) {
      out.push({ id, source: 'zoo', sha256: inZoo.sha256 });
      continue;
    }
    const source = userModelSource(id);
    if (!source) continue;
    if ('url' in source) {
      if (/^https?:\/\//i.test(source.url)) out.push({ id, source: 'url', url: source.url });
      else
        notes.push(
          `${id} was opened from a ${source.url.split(':')[0]}: address, which only this tab can read: it does not travel`,
        );
    } else {
      const sha256 = await sha256Hex(source.file.bytes);
      out.push({ id, source: 'file', name: source.file.name, sha256, bytes: source.file.bytes.byteLength });
    }
  }
  return out;
}

/** The imported COCO file's entries for these images (their annotations and the categories), or null. */
function importedFor(names: string[]): NonNullable<ViewDocument['truth']>['imported'] {
  const imported = useGroundTruthStore.getState().imported;
  if (!imported) return null;
  const entries = names.map((n) => cocoImage(imported.coco, n)).filter((i): i is Coco['images'][number] => !!i);
  if (!entries.length) return null;
  const ids = new Set(entries.map((i) => i.id));
  return {
    file: imported.file,
    images: entries,
    annotations: imported.coco.annotations.filter((a) => ids.has(a.image_id)),
    ...(imported.coco.categories ? { categories: imported.coco.categories } : {}),
  };
}

/** The shared view of what is on screen; `withHash` for a file (a link's own parameters carry the view). */
export async function buildDocument(withHash: boolean): Promise<{ doc: ViewDocument; notes: string[] }> {
  const notes: string[] = [];
  const needed = neededImages();
  const images: SharedImage[] = [];
  for (const entry of needed.filter((i) => i.source === 'user')) {
    const shared = await sharedImage(entry);
    if (shared) images.push(shared);
    else notes.push(`${entry.name} is not a PNG, JPEG, WebP, BMP or GIF file: it does not travel`);
  }
  const drawn = useGroundTruthStore.getState().drawn;
  const drawnHere = Object.fromEntries(needed.filter((i) => drawn[i.id]?.length).map((i) => [i.id, drawn[i.id]]));
  const imported = importedFor(needed.map((i) => i.name));
  const findings = useFindings.getState().findings;
  const models = await sharedModels(notes);
  const doc: ViewDocument = {
    format: VIEW_FORMAT,
    version: VIEW_VERSION,
    created: new Date().toISOString(),
    app: __APP_VERSION__,
    ...(withHash ? { hash: currentHash() } : {}),
    ...(models.some((m) => m.source !== 'zoo') || withHash ? { models } : {}),
    ...(images.length ? { images } : {}),
    ...(Object.keys(drawnHere).length || imported ? { truth: { drawn: drawnHere, imported } } : {}),
    ...(findings.length ? { findings } : {}),
  };
  return { doc, notes };
}

/** Whether a link needs the shared view at all (a gallery image with zoo models needs only its parameters). */
const carriesMore = (doc: ViewDocument) =>
  Boolean(doc.images?.length || doc.truth || doc.findings?.length || doc.models?.some((m) => m.source !== 'zoo'));

const pageUrl = () => location.href.replace(/#.*$/, '');

/** Largest model input side in view: what the views need of an image. */
function neededSide(): number {
  const { view, slots } = useStore.getState();
  let side = 160;
  for (const id of view.models) {
    const shape = slots[id]?.model?.contract.input.shape ?? [];
    for (const d of shape.slice(2)) if (typeof d === 'number') side = Math.max(side, d);
  }
  return side;
}

/**
 * An image re-encoded as WebP with its shorter side at most `side` (a model resizes to side×side, so each axis
 * keeps what the model sees); null when the browser cannot.
 */
async function reencode(
  image: SharedImage,
  side: number,
  quality: number,
): Promise<{ data: string; to: [number, number]; from: [number, number] } | null> {
  try {
    const blob = new Blob([fromBase64(image.data)! as BlobPart], { type: image.mime });
    const full = await createImageBitmap(blob);
    const scale = Math.min(1, side / Math.min(full.width, full.height));
    const to: [number, number] = [
      Math.max(1, Math.round(full.width * scale)),
      Math.max(1, Math.round(full.height * scale)),
    ];
    const small = await createImageBitmap(full, { resizeWidth: to[0], resizeHeight: to[1], resizeQuality: 'high' });
    const canvas = new OffscreenCanvas(to[0], to[1]);
    canvas.getContext('2d')!.drawImage(small, 0, 0);
    const out = await canvas.convertToBlob({ type: 'image/webp', quality });
    const from: [number, number] = [full.width, full.height];
    full.close();
    small.close();
    return { data: toBase64(new Uint8Array(await out.arrayBuffer())), to, from };
  } catch {
    return null;
  }
}

export type ShareResult =
  | { kind: 'link'; link: string; notes: string[] }
  | { kind: 'file'; name: string; notes: string[] };

/**
 * The link to what is on screen. Own images go in whole when the link stays under MAX_LINK_CHARS; otherwise
 * re-encoded smaller (down to what the models see, then lower quality), with a note; a view that still does
 * not fit is saved as an .attnlens file instead.
 */
export async function shareLink(): Promise<ShareResult> {
  const { doc, notes } = await buildDocument(false);
  const hash = currentHash();
  const linkOf = async (d: ViewDocument) =>
    pageUrl() + linkWithPayload(hash, carriesMore(d) ? await encodePayload(d) : null);
  let link = await linkOf(doc);
  if (link.length > MAX_LINK_CHARS && doc.images?.length) {
    const side = neededSide();
    const attempts = [
      [side, 0.92],
      [side, 0.75],
      [Math.round(side / 2), 0.75],
    ] as const;
    for (const [s, quality] of attempts) {
      const images: SharedImage[] = [];
      for (const image of doc.images) {
        const small = await reencode(image, s, quality);
        if (!small) break;
        images.push({ ...image, mime: 'image/webp', data: small.data, downscaled: { from: small.from, to: small.to } });
      }
      if (images.length !== doc.images.length) break;
      const smaller = { ...doc, images };
      link = await linkOf(smaller);
      if (link.length <= MAX_LINK_CHARS) {
        for (const i of images)
          notes.push(
            `the link carries ${i.name} at ${i.downscaled!.to.join('×')} instead of ${i.downscaled!.from.join('×')} (WebP), so that it fits in a link: numbers opened from it can differ slightly from yours. For the exact image, send the .attnlens file (Save view file)`,
          );
        break;
      }
    }
  }
  if (link.length > MAX_LINK_CHARS) {
    const name = await saveViewFile();
    notes.push(
      `this view is too large for a link (${Math.round(link.length / 1024)} K characters; a link holds ${MAX_LINK_CHARS / 1024} K): saved as ${name} — send that file; dropping it on AttnLens reopens the view`,
    );
    return { kind: 'file', name, notes };
  }
  return { kind: 'link', link, notes };
}

/** Download the .attnlens file of what is on screen (every image whole); returns its name. */
export async function saveViewFile(): Promise<string> {
  const { doc, notes } = await buildDocument(true);
  for (const n of notes) useStore.getState().notify(n);
  const name = `attnlens-view-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.attnlens`;
  download(name, new Blob([viewFileText(doc)], { type: 'application/json' }));
  return name;
}

/** An .attnlens file dropped: read (bounded), checked, opened; a bad file is named, nothing the user had changes. */
export async function openViewFile(blob: Blob, name: string): Promise<void> {
  if (blob.size > MAX_VIEW_FILE_BYTES) {
    useStore
      .getState()
      .notify(
        `${name} is ${(blob.size / 1e6).toFixed(0)} MB, more than the ${MAX_VIEW_FILE_BYTES / 1024 / 1024} MB an .attnlens view may be: not opened`,
      );
    return;
  }
  const read = readViewFile(await blob.text(), name);
  if (!read.ok) {
    useStore.getState().notify(`${read.problem}. Nothing you had open changed.`);
    return;
  }
  await openDocument(read.doc, read.notes, name);
}

/** A fragment's `img=` pointed at another image id (an image that arrived with other pixels than it was shared with). */
function withImage(hash: string, ids: Map<string, string>): string {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const img = p.get('img');
  if (img && ids.has(img)) p.set('img', ids.get(img)!);
  return `#${p.toString()}`;
}

/** The link's extras applied: zoom, mode, the data-set view's order and filter; notes for what cannot be. */
export function applyExtras(extras: LinkExtras): void {
  if (extras.zoom) useStore.getState().setZoom(extras.zoom);
  const ev = useEvaluateStore.getState();
  if (extras.mode) ev.setMode(extras.mode);
  if (extras.sort) ev.setSort(extras.sort);
  if (extras.filter !== undefined) ev.setFilter(extras.filter);
  if (extras.results && ev.docHash !== extras.results)
    useLinkNotes
      .getState()
      .add(
        `the link shows a data-set results file (SHA-256 ${extras.results.slice(0, 12)}…) that is not open here: open it with "Open results file…" to see the same table`,
      );
  pendingVersions = extras.versions ?? null;
  checkVersions();
}

let pendingVersions: string[] | null = null;

/** Once the zoo is known: a zoo model whose bytes differ from the link's (another zoo version) is named. */
function checkVersions(): void {
  const { zoo, view } = useStore.getState();
  if (!zoo || !pendingVersions) return;
  pendingVersions.forEach((prefix, i) => {
    const id = view.models[i];
    const here = zoo.models.find((m) => m.id === id)?.sha256;
    if (prefix && here && !here.startsWith(prefix))
      useLinkNotes
        .getState()
        .add(
          `the link was made with another version of ${id} (SHA-256 ${prefix}…; this zoo has ${here.slice(0, 12)}…): its numbers here can differ from what the link's author saw`,
        );
  });
  pendingVersions = null;
}

/**
 * Open a shared view: its images join the strip, ground truth and findings come back (re-pointed at the images
 * as they decode here), model files are asked for by SHA-256 and model URLs fetched; every note goes to the
 * link notice. `from` names the file it came from (then its own view fragment is applied too).
 */
export async function openDocument(doc: ViewDocument, notes: string[], from: string | null): Promise<void> {
  const ids = new Map<string, string>();
  const scales = new Map<string, [number, number]>();
  for (const image of doc.images ?? []) {
    const bytes = fromBase64(image.data);
    const entry = bytes && (await openSharedImage(new Blob([bytes as BlobPart], { type: image.mime }), image.name));
    if (!entry) continue;
    ids.set(image.id, entry.id);
    if (image.downscaled) {
      scales.set(entry.id, [
        image.downscaled.to[0] / image.downscaled.from[0],
        image.downscaled.to[1] / image.downscaled.from[1],
      ]);
      notes.push(
        `${image.name} came at ${image.downscaled.to.join('×')} instead of ${image.downscaled.from.join('×')} (it was made smaller to fit the link): numbers can differ slightly from its author's — ask for the .attnlens file for the exact image`,
      );
    } else if (entry.id !== image.id)
      notes.push(
        `${image.name} decodes to other pixels in this browser than in its author's (id ${entry.id} here, ${image.id} there): numbers can differ slightly`,
      );
  }
  const gt = useGroundTruthStore.getState();
  for (const [id, boxes] of Object.entries(doc.truth?.drawn ?? {})) {
    const here = ids.get(id) ?? id;
    const [sx, sy] = scales.get(here) ?? [1, 1];
    gt.clear(here);
    for (const b of boxes)
      gt.addBox(here, { classId: b.classId, x0: b.x0 * sx, y0: b.y0 * sy, x1: b.x1 * sx, y1: b.y1 * sy });
  }
  const imported = doc.truth?.imported;
  if (imported) {
    const mine = gt.imported;
    if (!mine || mine.file === imported.file) {
      const coco: Coco = {
        images: imported.images,
        annotations: imported.annotations,
        categories: imported.categories,
      };
      gt.setImported({ file: imported.file, coco });
    } else
      notes.push(
        `the view carries ${imported.file}'s annotations for its images; your imported ${mine.file} stays: import ${imported.file} to compare against theirs`,
      );
  }
  const { slots, setView, view } = useStore.getState();
  for (const m of doc.models ?? []) {
    if (m.source === 'file' && m.sha256 && slots[m.id]?.status !== 'ready')
      wantModelFile(m.id, { name: m.name ?? `${m.id}.onnx`, sha256: m.sha256, bytes: m.bytes });
    if (m.source === 'url' && m.url) void openSharedUrlModel(m.id, m.url);
  }
  if (from && doc.hash) {
    const decoded = decodeView(withImage(doc.hash, ids), view);
    notes.push(...decoded.problems);
    setView(decoded.view);
    applyExtras(decoded.extras);
  } else {
    const link = useStore.getState().view.image;
    if (link && 'hash' in link && ids.has(link.hash))
      setView({ image: { hash: ids.get(link.hash)!, name: link.name } });
  }
  if (doc.findings)
    useFindings.getState().replace(
      doc.findings.map(
        (f): Finding => ({
          ...f,
          created: f.created ?? '',
          image: { ...f.image, id: ids.get(f.image.id) ?? f.image.id },
          hash: withImage(f.hash, ids),
        }),
      ),
    );
  const linkNotes = useLinkNotes.getState();
  if (from) linkNotes.follow([]);
  for (const n of notes) linkNotes.add(n);
  checkLinkModels();
  checkImageLink();
}

/** A link's shared view (`x=`): decoded and opened; a broken or hostile one is refused with a note. */
export async function openPayload(payload: string): Promise<void> {
  try {
    const read = await decodePayload(payload);
    if (!read.ok) useLinkNotes.getState().add(`${read.problem}. The rest of the link is shown.`);
    else await openDocument(read.doc, read.notes, null);
  } finally {
    holdLinkCheck(-1);
  }
}

let started = false;

/** At start: the opening link's extras and shared view, and the fragment mirroring what is on screen. */
export function startSharing(): void {
  if (started) return;
  started = true;
  applyExtras(initialLink.extras);
  if (initialLink.payload) {
    holdLinkCheck(1); // released by openPayload
    void openPayload(initialLink.payload);
  }
  const mirror = () => {
    const hash = currentHash();
    if (hash !== location.hash) history.replaceState(null, '', hash);
  };
  useStore.subscribe((s, prev) => {
    if (s.zoo !== prev.zoo) checkVersions();
    if (s.view !== prev.view || s.zoom !== prev.zoom || s.zoo !== prev.zoo) mirror();
  });
  useEvaluateStore.subscribe((s, prev) => {
    if (s.mode !== prev.mode || s.sort !== prev.sort || s.filter !== prev.filter || s.docHash !== prev.docHash)
      mirror();
  });
}

/** Show finding i as it was pinned: its view (models, image, settings), its zoom, the comparison mode. */
export function showFinding(i: number): void {
  const f = useFindings.getState().findings[i];
  if (!f) return;
  const { setView, setZoom, view } = useStore.getState();
  const decoded = decodeView(f.hash, view);
  useEvaluateStore.getState().setMode('compare');
  setView(decoded.view);
  setZoom(f.zoom);
  useFindings.getState().setAt(i);
  checkLinkModels();
  checkImageLink();
}
