/** Promise API over one inference worker (sessions keyed by model, images keyed by content); stoppable. */
import type { Placement } from '../analysis/geometry';
import type { RolloutOptions } from '../analysis/rollout';
import type { ContractInput } from '../contract';
import type { SaliencyJob, SaliencyOutcome } from '../methods/saliency/job';
import type {
  Backend,
  CaptureState,
  ClassMapPayload,
  ExternalFile,
  GraphIO,
  ImageFacts,
  ImageRef,
  MathEngine,
  TensorPayload,
  WorkerRequest,
  WorkerResponse,
} from './protocol';

type Pending = { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void };
type Distribute<T> = T extends unknown ? Omit<T, 'requestId'> : never;

export interface RawRun {
  outputs: Record<string, TensorPayload>;
  /** Outputs the worker reduced to class maps (a batch run asked for them so). */
  classMaps?: Record<string, ClassMapPayload>;
  milliseconds: number;
  placement: Placement;
  width: number;
  height: number;
}

/** Every request a stopped worker had in flight rejects with this (the caller knows why it stopped it). */
export class WorkerStopped extends Error {}

export class InferenceClient {
  private worker = new Worker(new URL('./runtime.worker.ts', import.meta.url), { type: 'module' });
  private pending = new Map<number, Pending>();
  /** Progress listeners of saliency jobs, by request id (their messages never settle the request). */
  private progress = new Map<number, (done: number, total: number, batched: boolean) => void>();
  /** Phase listeners of loads under way, by request id. */
  private phases = new Map<number, (phase: 'warm-up') => void>();
  private nextId = 1;
  private stopped: string | null = null;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
      if (e.data.kind === 'saliencyProgress') {
        this.progress.get(e.data.requestId)?.(e.data.done, e.data.total, e.data.batched);
        return;
      }
      if (e.data.kind === 'loadPhase') {
        this.phases.get(e.data.requestId)?.(e.data.phase);
        return;
      }
      const p = this.pending.get(e.data.requestId);
      if (!p) return;
      this.pending.delete(e.data.requestId);
      if (e.data.kind === 'error') p.reject(new Error(e.data.message));
      else p.resolve(e.data);
    };
    // A worker that dies (out of memory, a crash in WebAssembly) answers nothing more: fail what waits on it.
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.terminate(`the inference worker stopped (${e.message || 'it crashed'})`);
    };
  }

  /** Stop the worker at once, whatever it is doing (onnxruntime cannot abort a run any other way). */
  terminate(why: string): void {
    if (this.stopped) return;
    this.stopped = why;
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new WorkerStopped(why));
    this.pending.clear();
  }

  get isStopped(): boolean {
    return this.stopped !== null;
  }

  private async send<K extends WorkerResponse['kind']>(
    expect: K,
    req: Distribute<WorkerRequest>,
    transfer: Transferable[] = [],
    sent?: (requestId: number) => void,
  ): Promise<Extract<WorkerResponse, { kind: K }>> {
    if (this.stopped) throw new WorkerStopped(this.stopped);
    const requestId = this.nextId++;
    sent?.(requestId);
    const r = await new Promise<WorkerResponse>((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      this.worker.postMessage({ ...req, requestId }, transfer);
    });
    if (r.kind !== expect) throw new Error(`unexpected worker reply ${r.kind}`);
    return r as Extract<WorkerResponse, { kind: K }>;
  }

  /** Decode an image file in the worker: its content id, size and a thumbnail (throws if it is not an image). */
  async describe(blob: Blob): Promise<ImageFacts> {
    const { kind: _k, requestId: _r, ...facts } = await this.send('described', { kind: 'describe', blob });
    return facts;
  }

  async load(
    modelKey: string,
    bytes: ArrayBuffer,
    backend: Backend | 'auto',
    input: ContractInput,
    keepOnGpu: string[] = [],
    externalData: ExternalFile[] = [],
    threads = 1,
    onPhase: (phase: 'warm-up') => void = () => undefined,
  ) {
    const copy = bytes.slice(0); // the caller keeps its bytes (for a later reload on another backend)
    const external = externalData.map((f) => ({ path: f.path, data: f.data.slice(0) }));
    let id = -1;
    return (
      this.send(
        'loaded',
        { kind: 'load', modelKey, bytes: copy, backend, threads, input, keepOnGpu, externalData: external },
        [copy, ...external.map((f) => f.data)],
        (requestId) => {
          id = requestId;
          this.phases.set(requestId, onPhase);
        },
      ) as Promise<{
        backend: Backend;
        inputs: GraphIO[];
        outputs: GraphIO[];
        fallback?: string;
        fallbackDetail?: string;
        capture?: CaptureState;
        threads: number;
        threadsNote?: string;
      }>
    ).finally(() => this.phases.delete(id));
  }

  /** Outputs a run left in the worker under `retainKey`; rejects with NOT_RETAINED when the worker dropped them. */
  async read(retainKey: string, outputs: string[]): Promise<Record<string, TensorPayload>> {
    return (await this.send('readOut', { kind: 'read', retainKey, outputs })).outputs;
  }

  /** Pre-process and run in the worker; `retain` outputs stay there under `retainKey` (for rollout) instead of coming back. */
  async run(
    modelKey: string,
    image: ImageRef,
    outputs: string[],
    retain: string[] = [],
    retainKey?: string,
  ): Promise<RawRun> {
    const r = await this.send('ran', { kind: 'run', modelKey, image, outputs, retain, retainKey });
    return {
      outputs: r.outputs,
      milliseconds: r.milliseconds,
      placement: r.placement,
      width: r.width,
      height: r.height,
    };
  }

  /** Several images in one run of a model whose batch axis is open: one RawRun per image, in order. */
  async runBatch(modelKey: string, images: ImageRef[], outputs: string[], classMaps: string[] = []): Promise<RawRun[]> {
    const r = await this.send('ranBatch', { kind: 'runBatch', modelKey, images, outputs, classMaps });
    // each image's share of the batch's time (what the image cost; the panes show it as the run's latency)
    return r.runs.map((run) => ({ ...run, milliseconds: r.milliseconds / r.runs.length }));
  }

  /** Rollout of an attention stack a run retained; rejects with NOT_RETAINED when the worker dropped it. */
  async rollout(
    retainKey: string,
    output: string,
    options: RolloutOptions,
  ): Promise<{ row: Float32Array; engine: MathEngine; milliseconds: number }> {
    const r = await this.send('rolled', { kind: 'rollout', retainKey, output, options });
    return { row: r.row, engine: r.engine, milliseconds: r.milliseconds };
  }

  /**
   * Saliency passes on one image in the worker (masked images are built there); `onProgress` hears the passes
   * done. `cancel` asks the worker to stop between two batches: the job then rejects with SALIENCY_STOPPED.
   */
  saliency(
    modelKey: string,
    image: ImageRef,
    job: SaliencyJob,
    onProgress: (done: number, total: number, batched: boolean) => void,
  ): {
    outcome: Promise<{ outcome: SaliencyOutcome & { batched: boolean }; milliseconds: number }>;
    cancel: () => void;
  } {
    let id = -1;
    const outcome = this.send('saliencyDone', { kind: 'saliency', modelKey, image, job }, [], (requestId) => {
      id = requestId;
      this.progress.set(requestId, onProgress);
    })
      .then((r) => ({ outcome: r.outcome, milliseconds: r.milliseconds }))
      .finally(() => this.progress.delete(id));
    const cancel = () => {
      if (!this.stopped && id >= 0) this.worker.postMessage({ kind: 'cancelSaliency', requestId: 0, job: id });
    };
    return { outcome, cancel };
  }

  async release(modelKey: string): Promise<void> {
    await this.send('released', { kind: 'release', modelKey });
  }
}
