/**
 * Dropped files → what to do with each, decided by their bytes (inference/sniff), not their names: models
 * (with their sidecar contract and external-data files), images, COCO ground truth, or a message that starts
 * with the file's name and says the fix. `planFiles` is pure; `readDropped` gathers what it needs from Files.
 */
import { explainReadFailure, externalDataMessage } from '../inference/errors';
import { readOnnxFacts } from '../inference/onnxFacts';
import { type JsonKind, jsonKind, SNIFF_BYTES, type Sniffed, sniff } from '../inference/sniff';

/** What planFiles needs to know of one dropped file. */
export interface DroppedFile {
  /** The name as dropped (what every message names). */
  name: string;
  /** The name of what is inside, once decompressed (`model.onnx.gz` → `model.onnx`); else `name`. */
  innerName: string;
  /** What the bytes are (inside the gzip for a gzipped file). */
  sniffed: Sniffed;
  /** For a gzip that does not decompress. */
  gzipBroken?: boolean;
  /** The browser could not read the file at all: what to tell the user. */
  unreadable?: string;
  json?: JsonKind;
  /** For an ONNX model: the files its weights live in (external data). */
  externalData?: string[];
}

export type FilePlan =
  /** `externalData`: the dropped files holding its weights, each under the path the model names it by. */
  | { do: 'model'; file: number; sidecar?: number; externalData: { file: number; path: string }[]; note?: string }
  | { do: 'image'; file: number; note?: string }
  | { do: 'coco'; file: number }
  | { do: 'view'; file: number }
  | { do: 'tell'; file: number; message: string };

const EXPORT_KIT =
  'export it to ONNX with the AttnLens export kit (ml/attnlens_ml/export_kit.py: export_with_contract, see docs/contract.md), then drop the .onnx file it writes';
const OPENS = 'drop .onnx models (or .onnx.gz), PNG, JPEG, WebP, GIF or BMP images, COCO JSON, or an .attnlens view';
const IMAGE_EXTENSIONS = /\.(png|jpe?g|jfif|webp|gif|bmp|dib)$/i;
const FORMAT_NAMES = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', gif: 'GIF', bmp: 'BMP' } as const;
const SIDECAR = /\.contract\.json$/i;
/** What each recognised foreign format is and what to convert it to (after "<name> is "). */
const FOREIGN = {
  tiff: 'a TIFF image, which browsers cannot decode: save it as PNG (lossless) and drop that.',
  heic: 'a HEIC/HEIF photo (as iPhones save them), which this browser cannot decode: export it as JPEG or PNG and drop that.',
  svg: 'an SVG drawing, not a photo: AttnLens analyses camera images; export it as PNG at the size you need if you want it analysed.',
  pdf: 'a PDF document: export the page or picture you want analysed as PNG or JPEG and drop that.',
  html: 'a web page (HTML), perhaps saved in place of the file it links to: download the model or image itself and drop that.',
} as const;

const lower = (s: string) => s.toLowerCase();
/** `Model.ONNX` → `model`; `model.onnx.gz` → `model` (the inner name is passed); other names keep their extension too. */
const modelStems = (innerName: string) => {
  const n = lower(innerName);
  return [...new Set([n.replace(/\.onnx$/, ''), n.replace(/\.[^.]*$/, ''), n])];
};
const sidecarStem = (name: string) => lower(name).replace(SIDECAR, '');
const baseName = (path: string) => lower(path.split(/[\\/]/).pop() ?? path);

function tell(f: DroppedFile): string | null {
  const { name, sniffed } = f;
  if (f.unreadable) return f.unreadable;
  if (f.gzipBroken)
    return `${name} is gzip-compressed but does not decompress (it may be truncated): download or compress it again.`;
  switch (sniffed.kind) {
    case 'empty':
      return `${name} is empty (0 bytes): the file was not saved or copied completely; pick it again.`;
    case 'zip':
      return sniffed.pytorch
        ? `${name} is a PyTorch checkpoint (a zip holding data.pkl), not an ONNX model: AttnLens runs ONNX models; ${EXPORT_KIT}.`
        : `${name} is a zip archive, which AttnLens does not open: unpack it and drop the .onnx models or images inside.`;
    case 'pickle':
      return `${name} is a Python pickle (PyTorch weights saved with torch.save, or pickle.dump), not an ONNX model: AttnLens runs ONNX models; ${EXPORT_KIT}.`;
    case 'gzip':
      return `${name} is gzip-compressed twice over: decompress it and drop what is inside.`;
    case 'json':
      return f.json === 'other'
        ? `${name} is JSON, but neither COCO annotations (with "images" and "annotations") nor an AttnLens contract: drop a COCO file for ground truth, or <model>.contract.json together with its model.`
        : null;
    case 'foreign':
      return `${name} is ${FOREIGN[sniffed.format]}`;
    case 'unknown':
      return /\.data$/i.test(name)
        ? `${name} looks like the external weights of an ONNX model, which open only with the model: drop it together with its .onnx file.`
        : `${name} is not a file AttnLens opens (by its bytes it is not an ONNX model, an image or JSON): ${OPENS}.`;
    default:
      return null;
  }
}

/** What to do with each dropped file, in the order dropped (sidecars and weight files go with their model). */
export function planFiles(files: DroppedFile[]): FilePlan[] {
  const taken = new Set<number>();
  const plans: FilePlan[] = [];
  const isSidecar = (f: DroppedFile) => f.sniffed.kind === 'json' && (f.json === 'contract' || SIDECAR.test(f.name));
  const models = files.flatMap((f, i) => (f.sniffed.kind === 'onnx' ? [i] : []));
  const modelPlans = new Map<number, FilePlan>();
  for (const i of models) {
    const f = files[i];
    const stems = modelStems(f.innerName);
    const sidecar = files.findIndex((s, j) => !taken.has(j) && isSidecar(s) && stems.includes(sidecarStem(s.name)));
    if (sidecar >= 0) taken.add(sidecar);
    // matched by base name in any case; the runtime finds each under the exact path the model names
    const externalData: { file: number; path: string }[] = [];
    const missing: string[] = [];
    for (const path of f.externalData ?? []) {
      const j = files.findIndex((d, k) => k !== i && lower(d.name) === baseName(path));
      if (j < 0) missing.push(path);
      else {
        externalData.push({ file: j, path });
        taken.add(j);
      }
    }
    if (missing.length) {
      modelPlans.set(i, { do: 'tell', file: i, message: externalDataMessage(f.name, missing) });
      continue;
    }
    const named = /\.onnx$/i.test(f.innerName);
    modelPlans.set(i, {
      do: 'model',
      file: i,
      ...(sidecar >= 0 ? { sidecar } : {}),
      externalData,
      ...(named ? {} : { note: `${f.name} is an ONNX model whatever its name says: opened as a model.` }),
    });
  }
  files.forEach((f, i) => {
    if (taken.has(i)) return;
    const model = modelPlans.get(i);
    if (model) plans.push(model);
    else if (f.sniffed.kind === 'image') {
      const misnamed = !IMAGE_EXTENSIONS.test(f.innerName);
      const format = FORMAT_NAMES[f.sniffed.format];
      plans.push({
        do: 'image',
        file: i,
        ...(misnamed ? { note: `${f.name} is a ${format} image whatever its name says: opened as an image.` } : {}),
      });
    } else if (isSidecar(f)) {
      const stem = f.name.replace(SIDECAR, '').replace(/\.json$/i, '');
      plans.push({
        do: 'tell',
        file: i,
        message: `${f.name} is the contract sidecar of a model file ${stem}.onnx, which was not dropped with it: drop ${stem}.onnx and ${f.name} together (select both files).`,
      });
    } else if (f.sniffed.kind === 'json' && f.json === 'view' && !f.gzipBroken) plans.push({ do: 'view', file: i });
    else if (f.sniffed.kind === 'json' && f.json !== 'other' && !f.gzipBroken) plans.push({ do: 'coco', file: i });
    else plans.push({ do: 'tell', file: i, message: tell(f) ?? `${f.name}: ${OPENS}.` });
  });
  return plans;
}

/** An image file (by its header, or by nothing else) the browser's decoder refused. */
export function undecodableMessage(f: DroppedFile): string {
  const what = f.sniffed.kind === 'image' ? `a ${FORMAT_NAMES[f.sniffed.format]} image by its bytes` : 'an image';
  return `${f.name} is ${what}, but this browser cannot decode it (it may be truncated or damaged): save it again as PNG, JPEG or WebP.`;
}

/** A dropped File and what planFiles needs of it; `blob` is what to open (the decompressed bytes of a gzip). */
export interface ReadFile extends DroppedFile {
  blob: Blob;
}

async function gunzip(file: Blob): Promise<Blob> {
  return new Response(file.stream().pipeThrough(new DecompressionStream('gzip'))).blob();
}

const head = async (blob: Blob) => new Uint8Array(await blob.slice(0, SNIFF_BYTES).arrayBuffer());

/** Sniff each file (decompressing gzips), read JSON kinds and ONNX external-data references. */
export async function readDropped(files: File[]): Promise<ReadFile[]> {
  const out: ReadFile[] = [];
  for (const file of files) {
    try {
      out.push(await readOne(file));
    } catch (e) {
      const unreadable =
        explainReadFailure(file.name, file.size, e) ?? `${file.name} could not be read: drop it again.`;
      out.push({ name: file.name, innerName: file.name, sniffed: { kind: 'unknown' }, blob: file, unreadable });
    }
  }
  return out;
}

async function readOne(file: File): Promise<ReadFile> {
  let blob: Blob = file;
  let innerName = file.name;
  let sniffed = sniff(await head(file));
  let gzipBroken = false;
  if (sniffed.kind === 'gzip') {
    try {
      blob = await gunzip(file);
      innerName = file.name.replace(/\.gz$/i, '');
      sniffed = sniff(await head(blob));
    } catch {
      gzipBroken = true;
    }
  }
  const read: ReadFile = { name: file.name, innerName, sniffed, blob, ...(gzipBroken ? { gzipBroken } : {}) };
  if (sniffed.kind === 'json') read.json = jsonKind(await blob.text());
  if (sniffed.kind === 'onnx') {
    try {
      const facts = readOnnxFacts(new Uint8Array(await blob.arrayBuffer()));
      if (facts?.externalData.length) read.externalData = facts.externalData;
    } catch {
      // too large to read here: loading it says so, in words (explainReadFailure)
    }
  }
  return read;
}

const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * The note for an image shown smaller than it is: its size in megapixels when it has at least one (50
 * megapixels), in pixels when not (8,000×2 is 16,000 pixels, never "0 megapixels").
 */
export function downscaleNote(
  name: string,
  original: { width: number; height: number },
  shown: { width: number; height: number },
): string {
  const pixels = original.width * original.height;
  const mp = pixels / 1e6;
  const size =
    mp >= 1
      ? `${mp >= 10 ? mp.toFixed(0) : mp.toFixed(1)} megapixels`
      : `${grouped(original.width)}×${grouped(original.height)} (${grouped(pixels)} pixels)`;
  return `${name} is ${size}: shown and analysed at ${shown.width}×${shown.height}.`;
}
