/**
 * How many WebAssembly threads a model worker's onnxruntime-web gets (`ort.env.wasm.numThreads`, fixed when the
 * worker starts its runtime). Pure: the caller passes the browser's facts.
 *
 * Measured (docs in ../shared/docs/measured.md): the app's WASM binary on a 16-core machine ran 3–6× faster with 8
 * threads than with 1, and 16 threads were slower than 8; on a 2-core machine 2 threads were slower than 1 in
 * chromium. `navigator.hardwareConcurrency` counts logical cores (two per physical core with SMT), and the page's
 * main thread, the browser and the other models need cores too — so a worker gets half the logical cores, shared
 * by the model workers that run at once (the default pair runs teacher and student together), at most 8:
 *   threads = clamp(floor(cores / (2 × busy)), 1, 8)
 * 16 cores: 8 for one model, 4 each for a pair, 2 each for four; 8 cores: 4, 2, 1; 2–3 cores: always 1.
 * Threads need a cross-origin isolated page (SharedArrayBuffer): without the headers it is 1, and the app says why.
 */

export const MAX_WASM_THREADS = 8;
/** The most a test hook may ask for (onnxruntime-web's own pool has no use for more on any browser we know). */
export const MAX_REQUESTED_THREADS = 16;

export interface ThreadFacts {
  /** navigator.hardwareConcurrency (0 or undefined when the browser hides it). */
  cores: number | undefined;
  /** Model workers expected to run at once (models in view, capped by how many the app runs at once). */
  busy: number;
  /** crossOriginIsolated: SharedArrayBuffer, so WASM threads, are available. */
  isolated: boolean;
  /** isSecureContext: cross-origin isolation needs it (plain http from another machine never gets it). */
  secure?: boolean;
  /** A count asked for by the `?wasmThreads=<n>` test hook (null: none). */
  requested?: number | null;
}

export interface ThreadChoice {
  threads: number;
  /** Why this count, in words (shown on the pane's backend line as a tooltip; the reason for 1 when forced). */
  why: string;
}

/** Why a page gets one WASM thread whatever the machine: null when it is cross-origin isolated. */
export function singleThreadReason(isolated: boolean, secure = true): string | null {
  if (isolated) return null;
  return secure
    ? 'this host does not send cross-origin isolation headers (docs/hosting.md)'
    : 'this page is not a secure context (plain http from another machine), so it cannot be cross-origin isolated (docs/hosting.md)';
}

export function wasmThreads(f: ThreadFacts): ThreadChoice {
  const single = singleThreadReason(f.isolated, f.secure ?? true);
  if (single) return { threads: 1, why: single };
  if (f.requested != null) return { threads: f.requested, why: 'asked for by ?wasmThreads' };
  const cores = Number.isFinite(f.cores) && (f.cores ?? 0) > 0 ? Math.floor(f.cores as number) : 1;
  const busy = Math.max(1, Math.floor(f.busy) || 1);
  const threads = Math.min(MAX_WASM_THREADS, Math.max(1, Math.floor(cores / (2 * busy))));
  return {
    threads,
    why: `${cores} logical core${cores === 1 ? '' : 's'}, ${busy} model${busy === 1 ? '' : 's'} running at once: half the cores shared between them, at most ${MAX_WASM_THREADS}`,
  };
}

/** The `?wasmThreads=<n>` test hook of a query string: a whole number 1–16, else null (the policy decides). */
export function requestedThreads(search: string): number | null {
  const raw = new URLSearchParams(search).get('wasmThreads');
  if (raw === null || !/^\d+$/.test(raw.trim())) return null;
  const n = Number(raw);
  return n >= 1 && n <= MAX_REQUESTED_THREADS ? n : null;
}

/** Models expected to run at once: those in view, at most `parallel` (the app's limit on runs at once). */
export const busyWorkers = (modelsInView: number, parallel: number): number =>
  Math.max(1, Math.min(modelsInView, parallel));

/**
 * How the pane's backend line names a model's backend: with its WASM threads (`wasm, 2 threads`), or with its
 * captured graph on WebGPU (`webgpu · graph capture`).
 */
export const backendLabel = (m: { backend: string; threads?: number; capture?: { used: boolean } }): string => {
  if (m.backend === 'wasm' && m.threads) return `wasm, ${m.threads} thread${m.threads === 1 ? '' : 's'}`;
  return m.capture?.used ? `${m.backend} · graph capture` : m.backend;
};
