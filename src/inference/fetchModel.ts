/**
 * Model bytes from a URL: progress, an idle timeout, cancel, and a worded reason for every way a download
 * fails (no answer, CORS, HTTP status, an HTML page, a stall, a truncated transfer). Nothing goes into Cache
 * Storage here: the caller caches the bytes (cacheModelBytes) once they opened as a model, so a page answered
 * once is never served again from the cache.
 */

/** No byte for this long (headers included) and the download is stopped. */
export const FETCH_IDLE_MS = 20_000;
export const MODEL_CACHE = 'attnlens-models-v1';

export type FetchFailure =
  | 'not-url'
  | 'timeout'
  | 'stalled'
  | 'truncated'
  | 'cors'
  | 'coep'
  | 'unreachable'
  | 'http'
  | 'html';

export class ModelFetchError extends Error {
  constructor(
    readonly kind: FetchFailure | 'cancelled',
    message: string,
  ) {
    super(message);
  }
}

export type ModelUrl = { ok: true; url: URL; cacheable: boolean } | { ok: false; message: string };

/**
 * Only absolute http(s), data: and blob: URLs: anything else (a file name, "my model") would otherwise be
 * resolved against the app's own origin, whose server answers its index page.
 */
export function parseModelUrl(text: string): ModelUrl {
  const trimmed = text.trim();
  const refuse = {
    ok: false as const,
    message: `'${trimmed}' is not a URL: give the full address of an .onnx file, starting with https://`,
  };
  let url: URL;
  try {
    url = new URL(trimmed); // no base: a relative address is refused, not resolved against this page
  } catch {
    return refuse;
  }
  if (!['http:', 'https:', 'data:', 'blob:'].includes(url.protocol)) return refuse;
  if ((url.protocol === 'http:' || url.protocol === 'https:') && !url.hostname) return refuse;
  // data: and blob: URLs are this tab's own bytes: nothing to keep for a second visit (and a data: URL as a
  // cache key would be the whole model again).
  return { ok: true, url, cacheable: url.protocol === 'http:' || url.protocol === 'https:' };
}

/** How a URL is named in messages: data: URLs are cut short (they can be megabytes long). */
export function shownUrl(url: string): string {
  return url.startsWith('data:') && url.length > 60 ? `${url.slice(0, 40)}…(${url.length} characters)` : url;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)} s`;

/** The worded reason of each failure, naming the URL and the fix. */
export const fetchMessages = {
  timeout: (url: string, idleMs: number) =>
    `the model URL ${shownUrl(url)} sent nothing for ${seconds(idleMs)}; it was stopped. Retry, or check the address and that the server is up`,
  stalled: (url: string, received: number, total: number | null, idleMs: number) =>
    `the model URL ${shownUrl(url)} stopped sending after ${formatBytes(received)}${total ? ` of ${formatBytes(total)}` : ''} (nothing for ${seconds(idleMs)}); it was stopped. Retry, or download the file and drop it`,
  truncated: (url: string, received: number, total: number) =>
    `the model URL ${shownUrl(url)} was cut off: ${formatBytes(received)} arrived of the ${formatBytes(total)} it announced (a truncated transfer). Retry, or download the file and drop it`,
  brokenOff: (url: string, received: number, why: string) =>
    `the model URL ${shownUrl(url)} broke off after ${formatBytes(received)} (${why}). Retry, or download the file and drop it`,
  cors: (url: string, origin: string) =>
    `the model URL ${shownUrl(url)} cannot be read: the server at ${origin} does not allow other sites to read it (CORS); serve it with Access-Control-Allow-Origin or download the file and drop it`,
  coep: (url: string, origin: string, why: string) =>
    `the model URL ${shownUrl(url)} cannot be read here (${why}): this page is cross-origin isolated with COEP require-corp, so the server at ${origin} must allow other sites to read it, with CORS (Access-Control-Allow-Origin) or Cross-Origin-Resource-Policy: cross-origin — or it did not answer at all. Check the address; serve the model with Access-Control-Allow-Origin, host the app with COEP credentialless (docs/hosting.md), or download the file and drop it`,
  unreachable: (url: string, why: string) =>
    `the model URL ${shownUrl(url)} did not answer (${why}); check the address or your connection`,
  http: (url: string, status: number) => `the model URL ${shownUrl(url)} answered HTTP ${status}; check the address`,
  html: (url: string) =>
    `the model URL ${shownUrl(url)} answered a web page (HTML), not an ONNX model; give the address of the .onnx file itself`,
  cancelled: (url: string) => `the download of ${shownUrl(url)} was cancelled`,
};

/** A web page rather than a model: by its type, or by its first bytes (servers often say octet-stream). */
export function looksLikeHtml(head: Uint8Array, contentType: string | null): boolean {
  if (contentType && /^\s*(text\/html|application\/xhtml)/i.test(contentType)) return true;
  const text = new TextDecoder()
    .decode(head.subarray(0, 256))
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();
  return text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<head');
}

export interface FetchProgress {
  received: number;
  /** The announced length (content-length), null when the server did not say. */
  total: number | null;
}

export interface FetchOptions {
  onProgress?: (p: FetchProgress) => void;
  signal?: AbortSignal;
  idleMs?: number;
}

/**
 * The Cross-Origin-Embedder-Policy this page was served with (lower case; '' when none), read from a HEAD
 * request for the page itself (same origin, so its headers are readable); null when that fails.
 */
export async function pageEmbedderPolicy(): Promise<string | null> {
  const here = (globalThis as { location?: Location }).location;
  if (!here?.href) return null;
  try {
    const r = await fetch(here.href.split('#')[0], { method: 'HEAD', cache: 'no-store' });
    return (r.headers.get('cross-origin-embedder-policy') ?? '').trim().toLowerCase();
  } catch {
    return null;
  }
}

/**
 * Why a fetch() that threw did not answer: a `no-cors` probe gets an opaque response when the server is there
 * but does not allow this origin to read it (CORS), and fails too when nothing answers — or, on a page isolated
 * with COEP `require-corp`, when the server sends no Cross-Origin-Resource-Policy (the two cannot be told apart
 * there, so the message names both; under COEP `credentialless`, which the app's own servers send, the probe
 * works as without isolation).
 */
async function corsOrUnreachable(url: URL, e: Error, idleMs: number): Promise<ModelFetchError> {
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const probe = new AbortController();
    const timer = setTimeout(() => probe.abort(), Math.min(idleMs, 10_000));
    try {
      const r = await fetch(url, { mode: 'no-cors', signal: probe.signal, cache: 'no-store' });
      if (r.type === 'opaque') {
        void r.body?.cancel().catch(() => undefined);
        return new ModelFetchError('cors', fetchMessages.cors(url.href, url.origin));
      }
    } catch {
      // nothing answered the probe either, or COEP require-corp blocked it
    } finally {
      clearTimeout(timer);
    }
    if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true) {
      const coep = await pageEmbedderPolicy();
      if (coep?.startsWith('require-corp'))
        return new ModelFetchError('coep', fetchMessages.coep(url.href, url.origin, e.message));
    }
  }
  return new ModelFetchError('unreachable', fetchMessages.unreachable(url.href, e.message));
}

/** The bytes at `url` (progress as they arrive), or a ModelFetchError whose message says what went wrong. */
export async function fetchModelBytes(text: string, options: FetchOptions = {}): Promise<ArrayBuffer> {
  const parsed = parseModelUrl(text);
  if (!parsed.ok) throw new ModelFetchError('not-url', parsed.message);
  const { url } = parsed;
  const idleMs = options.idleMs ?? FETCH_IDLE_MS;
  const abort = new AbortController();
  let idle: 'timeout' | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = 'timeout';
      abort.abort();
    }, idleMs);
  };
  const onCancel = () => abort.abort();
  options.signal?.addEventListener('abort', onCancel);
  let received = 0;
  let total: number | null = null;
  const stopped = (): ModelFetchError | null => {
    if (options.signal?.aborted) return new ModelFetchError('cancelled', fetchMessages.cancelled(url.href));
    if (idle)
      return received
        ? new ModelFetchError('stalled', fetchMessages.stalled(url.href, received, total, idleMs))
        : new ModelFetchError('timeout', fetchMessages.timeout(url.href, idleMs));
    return null;
  };
  try {
    if (options.signal?.aborted) throw stopped();
    arm();
    let res: Response;
    try {
      res = await fetch(url, { signal: abort.signal, cache: 'no-store' });
    } catch (e) {
      throw stopped() ?? (await corsOrUnreachable(url, e as Error, idleMs));
    }
    if (!res.ok) {
      void res.body?.cancel().catch(() => undefined);
      throw new ModelFetchError('http', fetchMessages.http(url.href, res.status));
    }
    const announced = Number(res.headers.get('content-length'));
    // A compressed body's length is not the length of what read() yields: no truncation check then.
    total = announced > 0 && !res.headers.get('content-encoding') ? announced : null;
    options.onProgress?.({ received: 0, total });
    const reader = res.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      let step: ReadableStreamReadResult<Uint8Array>;
      try {
        step = await reader.read();
      } catch (e) {
        const why = stopped();
        if (why) throw why;
        if (total && received < total)
          throw new ModelFetchError('truncated', fetchMessages.truncated(url.href, received, total));
        throw new ModelFetchError('truncated', fetchMessages.brokenOff(url.href, received, (e as Error).message));
      }
      if (step.done) break;
      arm();
      if (!chunks.length && looksLikeHtml(step.value, res.headers.get('content-type'))) {
        void reader.cancel().catch(() => undefined);
        throw new ModelFetchError('html', fetchMessages.html(url.href));
      }
      chunks.push(step.value);
      received += step.value.length;
      options.onProgress?.({ received, total });
    }
    if (total && received < total)
      throw new ModelFetchError('truncated', fetchMessages.truncated(url.href, received, total));
    const bytes = new Uint8Array(received);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    return bytes.buffer;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCancel);
  }
}

/** ONNX ModelProto starts with field 1 (ir_version, a varint): byte 0x08. An HTML page or JSON does not. */
export const looksLikeOnnx = (bytes: ArrayBuffer) => bytes.byteLength > 1 && new Uint8Array(bytes, 0, 1)[0] === 0x08;

async function openCache(): Promise<Cache | null> {
  try {
    return 'caches' in self ? await caches.open(MODEL_CACHE) : null;
  } catch {
    return null; // an opaque origin or a browser without Cache Storage: no cache, still works
  }
}

/** Bytes kept from an earlier visit; an entry that is not a model (an older version cached pages) is dropped. */
export async function cachedModelBytes(url: string): Promise<ArrayBuffer | null> {
  const parsed = parseModelUrl(url);
  if (!parsed.ok || !parsed.cacheable) return null;
  const cache = await openCache();
  try {
    const hit = await cache?.match(parsed.url.href);
    if (!hit) return null;
    const bytes = await hit.arrayBuffer();
    if (looksLikeOnnx(bytes)) return bytes;
    await cache?.delete(parsed.url.href);
  } catch {
    // a failing cache is a miss
  }
  return null;
}

/** Keep bytes that opened as a model (the caller checked), so a second visit opens offline. */
export async function cacheModelBytes(url: string, bytes: ArrayBuffer): Promise<void> {
  const parsed = parseModelUrl(url);
  if (!parsed.ok || !parsed.cacheable || !looksLikeOnnx(bytes)) return;
  try {
    await (await openCache())?.put(parsed.url.href, new Response(bytes.slice(0)));
  } catch {
    // quota or a private mode: the model still opened, it is only not kept
  }
}

/** Empty every cache of this app: how many entries and bytes that freed. */
export async function clearModelCache(): Promise<{ entries: number; bytes: number }> {
  let entries = 0;
  let bytes = 0;
  if (!('caches' in self)) return { entries, bytes };
  for (const name of await caches.keys()) {
    if (!name.startsWith('attnlens-')) continue;
    const cache = await caches.open(name);
    for (const req of await cache.keys()) {
      const res = await cache.match(req);
      const length = Number(res?.headers.get('content-length'));
      bytes += length > 0 ? length : ((await res?.arrayBuffer())?.byteLength ?? 0);
      entries++;
    }
    await caches.delete(name);
  }
  return { entries, bytes };
}

export const clearedMessage = ({ entries, bytes }: { entries: number; bytes: number }) =>
  entries
    ? `Cleared the model cache: ${entries} model${entries === 1 ? '' : 's'}, ${formatBytes(bytes)} freed.`
    : 'The model cache was already empty.';
