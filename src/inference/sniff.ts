/**
 * What a file is, from its first bytes (names lie: a `.onnx.gz`, a PNG saved as `.bin`, a model called `.png`).
 * Images come with their size as shown (EXIF orientation applied), read from the header, so the app knows it
 * before decoding. Pure: bytes in.
 */
import { readOnnxHeader } from '../contract/onnxMetadata';

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'bmp';

export type Sniffed =
  | { kind: 'empty' }
  | { kind: 'onnx' }
  | { kind: 'gzip' }
  /** A zip; `pytorch` when it holds a pickle `data.pkl` (what torch.save writes: `<name>/data.pkl`). */
  | { kind: 'zip'; pytorch: boolean }
  /** A raw Python pickle (protocol 2–5), as torch.save wrote before zips, or pickle.dump. */
  | { kind: 'pickle' }
  /** Text starting like JSON; `jsonKind` tells COCO from a contract once the whole text is read. */
  | { kind: 'json' }
  | { kind: 'image'; format: ImageFormat; width: number | null; height: number | null }
  /** A format people drop by mistake that AttnLens recognises only to say what to convert it to. */
  | { kind: 'foreign'; format: ForeignFormat }
  | { kind: 'unknown' };

export type ForeignFormat = 'tiff' | 'heic' | 'svg' | 'pdf' | 'html';

/** How many leading bytes `sniff` needs (a JPEG's size can sit after its EXIF block, tens of KB in). */
export const SNIFF_BYTES = 256 * 1024;

const startsWith = (b: Uint8Array, sig: number[], at = 0) => sig.every((v, i) => b[at + i] === v);
const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

function dims(b: Uint8Array, read: (v: DataView) => [number, number]): [number | null, number | null] {
  try {
    return read(new DataView(b.buffer, b.byteOffset, b.byteLength));
  } catch {
    return [null, null]; // header cut short: the format is known, the size is not
  }
}

/** EXIF orientation (tag 0x0112) in an APP1 segment's TIFF block at `at`, or 1. */
function exifOrientation(v: DataView, at: number, end: number): number {
  if (v.getUint32(at) !== 0x45786966 || v.getUint16(at + 4) !== 0) return 1; // 'Exif\0\0'
  const tiff = at + 6;
  const little = v.getUint16(tiff) === 0x4949; // 'II'
  const ifd = tiff + v.getUint32(tiff + 4, little);
  const count = v.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) break;
    if (v.getUint16(entry, little) === 0x0112) return v.getUint16(entry + 8, little);
  }
  return 1;
}

/**
 * The size in a JPEG's first SOFn segment (baseline, progressive, lossless…), as shown: sides swapped when
 * the EXIF orientation turns it a quarter (5–8), as the browser's decode does (imageOrientation 'from-image').
 */
function jpegSize(v: DataView): [number | null, number | null] {
  let at = 2;
  let orientation = 1;
  while (at + 9 < v.byteLength) {
    if (v.getUint8(at) !== 0xff) return [null, null];
    const marker = v.getUint8(at + 1);
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = v.getUint16(at + 2);
    if (marker === 0xe1) orientation = exifOrientation(v, at + 4, Math.min(v.byteLength, at + 2 + length));
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      const [w, h] = [v.getUint16(at + 7), v.getUint16(at + 5)];
      return orientation >= 5 && orientation <= 8 ? [h, w] : [w, h];
    }
    at += 2 + length;
  }
  return [null, null];
}

function webpSize(b: Uint8Array, v: DataView): [number | null, number | null] {
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') return [v.getUint16(26, true) & 0x3fff, v.getUint16(28, true) & 0x3fff];
  if (chunk === 'VP8L') {
    const bits = v.getUint32(21, true);
    return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
  }
  if (chunk === 'VP8X') {
    const u24 = (at: number) => v.getUint8(at) | (v.getUint8(at + 1) << 8) | (v.getUint8(at + 2) << 16);
    return [u24(24) + 1, u24(27) + 1];
  }
  return [null, null];
}

function image(b: Uint8Array): Sniffed | null {
  const found = (format: ImageFormat, read: (v: DataView) => [number | null, number | null]): Sniffed => {
    const [width, height] = dims(b, read as (v: DataView) => [number, number]);
    return { kind: 'image', format, width, height };
  };
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
    return found('png', (v) => [v.getUint32(16), v.getUint32(20)]);
  if (startsWith(b, [0xff, 0xd8, 0xff])) return found('jpeg', jpegSize);
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return found('webp', (v) => webpSize(b, v));
  if (ascii(b, 0, 4) === 'GIF8') return found('gif', (v) => [v.getUint16(6, true), v.getUint16(8, true)]);
  if (ascii(b, 0, 2) === 'BM' && b.length >= 26)
    return found('bmp', (v) => [Math.abs(v.getInt32(18, true)), Math.abs(v.getInt32(22, true))]);
  return null;
}

/** Entry names of a zip's local file headers within `b` (the first ones suffice: torch.save writes data.pkl first). */
function zipNames(b: Uint8Array): string[] {
  const names: string[] = [];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 0;
  while (at + 30 <= b.length && v.getUint32(at, true) === 0x04034b50 && names.length < 64) {
    const flags = v.getUint16(at + 6, true);
    const size = v.getUint32(at + 18, true);
    const nameLength = v.getUint16(at + 26, true);
    const extra = v.getUint16(at + 28, true);
    names.push(new TextDecoder().decode(b.subarray(at + 30, at + 30 + nameLength)));
    if (flags & 0x08) break; // sizes follow the data (a data descriptor): the next header cannot be found cheaply
    at += 30 + nameLength + extra + size;
  }
  return names;
}

/** What the bytes are. `head` is the file's first SNIFF_BYTES (or all of it). */
export function sniff(head: Uint8Array): Sniffed {
  if (head.length === 0) return { kind: 'empty' };
  const img = image(head);
  if (img) return img;
  if (startsWith(head, [0x1f, 0x8b])) return { kind: 'gzip' };
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]))
    return { kind: 'zip', pytorch: zipNames(head).some((n) => n === 'data.pkl' || n.endsWith('/data.pkl')) };
  if (head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return { kind: 'pickle' };
  const text = new TextDecoder()
    .decode(head.subarray(0, 64))
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('{') || text.startsWith('[')) return { kind: 'json' };
  if (looksLikeOnnx(head)) return { kind: 'onnx' };
  const foreign = foreignFormat(head, text);
  return foreign ? { kind: 'foreign', format: foreign } : { kind: 'unknown' };
}

/** TIFF, HEIC, SVG, PDF and HTML by their first bytes (after ONNX: a protobuf may start with any byte). */
function foreignFormat(head: Uint8Array, text: string): ForeignFormat | null {
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  // ISO-BMFF with a HEIF brand (iPhone photos); AVIF shares the box layout but browsers decode it
  if (ascii(head, 4, 4) === 'ftyp' && /^(heic|heix|heim|heis|hevc|hevx|mif1)$/.test(ascii(head, 8, 4))) return 'heic';
  if (text.startsWith('%PDF-')) return 'pdf';
  const markup = new TextDecoder().decode(head.subarray(0, 1024)).trimStart().toLowerCase();
  if (/^(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype svg[^>]*>\s*)?<svg[\s>]/.test(markup)) return 'svg';
  if (/^(<!--[\s\S]*?-->\s*)*(<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])/.test(markup)) return 'html';
  return null;
}

/**
 * A ModelProto starts with ir_version (field 1, varint: byte 0x08), as every ONNX writer orders it; a whole
 * file that parses as one (ir_version and a graph) is one too. A truncated model still starts with 0x08, so it
 * goes to the model loader, whose message says it is cut short.
 */
function looksLikeOnnx(head: Uint8Array): boolean {
  if (head[0] === 0x08 && head[1] > 0 && head[1] < 0x20) return true;
  try {
    readOnnxHeader(head);
    return true;
  } catch {
    return false;
  }
}

export type JsonKind = 'coco' | 'contract' | 'view' | 'other' | 'invalid';

/** A JSON file: COCO annotations (images + annotations), an AttnLens contract sidecar, a shared view (.attnlens), or something else. */
export function jsonKind(text: string): JsonKind {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return 'invalid';
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'other';
  const o = doc as Record<string, unknown>;
  if (o.format === 'attnlens-contract') return 'contract';
  if (o.format === 'attnlens-view') return 'view';
  if (Array.isArray(o.images) || Array.isArray(o.annotations)) return 'coco';
  return 'other';
}
