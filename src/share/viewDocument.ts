/**
 * The shared view (contract/attnlens-view.schema.json, docs/sharing.md) and its two forms (pure, no DOM):
 * - in a link: the view's own parameters, plus `x=` the document deflated and base64url-encoded;
 * - as an `.attnlens` file: the document as JSON.
 * Reading is bounded at every step (characters, inflated bytes, schema limits) and never evaluates anything:
 * a hostile or broken link or file is refused with a sentence that names the problem.
 */
import validate from 'virtual:attnlens-view-validator';
import type { Box } from '../analysis/boxes';
import type { Coco, GtObject } from '../analysis/groundTruth';
import { sha256 } from '../inference/sha256';
import { count } from '../state/linkCodec';
import type { Finding } from './findings';

export const VIEW_FORMAT = 'attnlens-view';
export const VIEW_VERSION = '1.0';
/** The link parameter that carries the document. */
export const PAYLOAD_KEY = 'x';
/** The link parameter that names the link format (absent: a link from before shared views, which is version 1). */
export const LINK_VERSION_KEY = 'v';
export const LINK_VERSION = 2;

/**
 * Longest link the app writes: 64 Ki characters opens in every current browser (Chromium takes 2 MB, Safari and
 * Firefox about 64 Ki in practice); a view that needs more goes into an .attnlens file instead.
 */
export const MAX_LINK_CHARS = 65_536;
/** Longest payload read from a link (Chromium's URL limit): a longer one is refused before decoding. */
export const MAX_PAYLOAD_CHARS = 2_000_000;
/** Most bytes a payload may inflate to: a deflate bomb stops here. */
export const MAX_INFLATED_BYTES = 16 * 1024 * 1024;
/** Largest .attnlens file read (its images are whole files). */
export const MAX_VIEW_FILE_BYTES = 128 * 1024 * 1024;

export interface SharedModel {
  id: string;
  source: 'zoo' | 'file' | 'url';
  name?: string;
  sha256?: string;
  bytes?: number;
  url?: string;
}

export interface SharedImage {
  id: string;
  name: string;
  mime: 'image/png' | 'image/jpeg' | 'image/webp' | 'image/bmp' | 'image/gif';
  /** The file, base64. */
  data: string;
  /** Re-encoded smaller to fit a link: the size it had and the size it has. */
  downscaled?: { from: [number, number]; to: [number, number] };
}

export interface ViewDocument {
  format: typeof VIEW_FORMAT;
  version: string;
  created?: string;
  app?: string;
  /** The view's link fragment; absent in a link (the link's own parameters are the view). */
  hash?: string;
  zoom?: { k: number; x: number; y: number };
  mode?: 'compare' | 'evaluate';
  evaluate?: {
    sort?: { key: string; descending: boolean };
    filter?: string;
    results?: { name: string; sha256: string } | null;
  };
  models?: SharedModel[];
  images?: SharedImage[];
  truth?: {
    drawn?: Record<string, GtObject[]>;
    imported?: {
      file: string;
      images: Coco['images'];
      annotations: Coco['annotations'];
      categories?: Coco['categories'];
    } | null;
  };
  findings?: (Omit<Finding, 'region'> & { region: Box | null })[];
}

export type ReadView = { ok: true; doc: ViewDocument; notes: string[] } | { ok: false; problem: string };

/** Schema problems of a document, in words; empty when valid. */
export function viewProblems(doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath.slice(1) || '(top)'}: ${e.message ?? 'invalid'}`);
}

/** A parsed document checked: format, version (a newer 1.x is read with a note), schema. */
export function checkView(doc: unknown, what: string): ReadView {
  const d = doc as Partial<ViewDocument> | null;
  if (!d || typeof d !== 'object' || Array.isArray(d) || d.format !== VIEW_FORMAT)
    return { ok: false, problem: `${what} is not an AttnLens view (no "format": "${VIEW_FORMAT}")` };
  const major = typeof d.version === 'string' ? d.version.split('.')[0] : '';
  if (major !== '1')
    return {
      ok: false,
      problem: `${what} is a view of format version ${String(d.version).slice(0, 20)}; this AttnLens reads 1.x — update AttnLens to open it`,
    };
  const problems = viewProblems(doc);
  if (problems.length)
    return {
      ok: false,
      problem: `${what} is damaged or was altered: ${problems.slice(0, 3).join('; ')}${problems.length > 3 ? ` (and ${count(problems.length - 3)} more)` : ''}`,
    };
  const notes: string[] = [];
  const minor = Number(d.version!.split('.')[1]);
  if (minor > Number(VIEW_VERSION.split('.')[1]))
    notes.push(
      `${what} was made by a newer AttnLens (view format ${d.version}): what is newer than ${VIEW_VERSION} is not restored`,
    );
  return { ok: true, doc: d as ViewDocument, notes };
}

/** An .attnlens file's text → the document, or what is wrong with it. */
export function readViewFile(text: string, fileName: string): ReadView {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, problem: `${fileName} is not an AttnLens view: it is not JSON (${(e as Error).message})` };
  }
  return checkView(doc, fileName);
}

export const viewFileText = (doc: ViewDocument): string => JSON.stringify(doc);

/** SHA-256 of bytes or text, as 64 hex digits. */
export async function sha256Hex(data: ArrayBuffer | Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
  const digest = await sha256(bytes as Uint8Array<ArrayBuffer>); // plain JavaScript where crypto.subtle is absent
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Bytes → base64 (chunked: a spread of millions of bytes into fromCharCode overflows the stack). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** base64 → bytes; null when the text is not base64. */
export function fromBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return null;
  try {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

const toUrlSafe = (b64: string) => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const fromUrlSafe = (text: string) => {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return b64 + '='.repeat((4 - (b64.length % 4)) % 4);
};

async function pipe(bytes: Uint8Array, stream: CompressionStream | DecompressionStream, cap: number) {
  const reader = new Blob([bytes as BlobPart]).stream().pipeThrough(stream).getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > cap) {
      await reader.cancel();
      return null;
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The document as a link payload: JSON, deflated (raw), base64url. */
export async function encodePayload(doc: ViewDocument): Promise<string> {
  const json = new TextEncoder().encode(JSON.stringify(doc));
  const deflated = await pipe(json, new CompressionStream('deflate-raw'), Number.POSITIVE_INFINITY);
  return toUrlSafe(toBase64(deflated!));
}

/** A link payload → the document, or what is wrong with it (too long, not base64url, not deflate, too big, not a view). */
export async function decodePayload(payload: string): Promise<ReadView> {
  const what = 'the link';
  if (payload.length > MAX_PAYLOAD_CHARS)
    return {
      ok: false,
      problem: `${what}'s shared view is ${count(payload.length)} characters, more than the ${count(MAX_PAYLOAD_CHARS)} a link can hold: it was cut or made by something else — ask for the .attnlens file instead`,
    };
  if (!/^[A-Za-z0-9_-]*$/.test(payload))
    return {
      ok: false,
      problem: `${what}'s shared view has characters a link payload never has: the link was altered or cut — ask for the link again, or the .attnlens file`,
    };
  const bytes = fromBase64(fromUrlSafe(payload));
  if (!bytes)
    return {
      ok: false,
      problem: `${what}'s shared view is cut short (its length is not whole base64): copy the whole link again`,
    };
  let inflated: Uint8Array | null;
  try {
    inflated = await pipe(bytes, new DecompressionStream('deflate-raw'), MAX_INFLATED_BYTES);
  } catch {
    return {
      ok: false,
      problem: `${what}'s shared view does not decompress: it was cut or altered — copy the whole link again, or ask for the .attnlens file`,
    };
  }
  if (!inflated)
    return {
      ok: false,
      problem: `${what}'s shared view unpacks to more than ${count(MAX_INFLATED_BYTES / 1024 / 1024)} MB, which no view needs: refused (the link was made by something else)`,
    };
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(inflated));
  } catch {
    return {
      ok: false,
      problem: `${what}'s shared view is not readable JSON: it was altered — ask for the link again`,
    };
  }
  return checkView(doc, what);
}

/** The link's fragment with the payload: the view's parameters, the link version, then `x=`. */
export function linkWithPayload(viewHash: string, payload: string | null): string {
  const params = new URLSearchParams(viewHash.replace(/^#/, ''));
  params.set(LINK_VERSION_KEY, String(LINK_VERSION));
  params.delete(PAYLOAD_KEY);
  const head = params.toString();
  return `#${head}${payload ? `&${PAYLOAD_KEY}=${payload}` : ''}`;
}

/** Split a fragment into the view's parameters and the payload (the payload is not length-limited as the view is). */
export function splitPayload(hash: string): { view: string; payload: string | null; version: number | null } {
  const text = hash.replace(/^#/, '');
  const at = text.search(new RegExp(`(^|&)${PAYLOAD_KEY}=`));
  let view = text;
  let payload: string | null = null;
  if (at >= 0) {
    const start = at + (text[at] === '&' ? 1 : 0) + PAYLOAD_KEY.length + 1;
    const end = text.indexOf('&', start);
    payload = text.slice(start, end < 0 ? undefined : end);
    view = text.slice(0, at) + (end < 0 ? '' : text.slice(end));
  }
  const v = new URLSearchParams(view.slice(0, 4096)).get(LINK_VERSION_KEY);
  const version = v === null ? null : /^\d{1,4}$/.test(v) ? Number(v) : Number.NaN;
  return { view: `#${view}`, payload, version };
}
