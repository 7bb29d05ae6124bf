/** Promise API over the inference worker (one worker, many sessions keyed by model). */
import type { RolloutOptions } from '../analysis/rollout';
import type { Backend, GraphIO, MathEngine, TensorPayload, WorkerRequest, WorkerResponse } from './protocol';

type Pending = { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void };
type Distribute<T> = T extends unknown ? Omit<T, 'requestId'> : never;

export class InferenceClient {
  private worker = new Worker(new URL('./runtime.worker.ts', import.meta.url), { type: 'module' });
  private pending = new Map<number, Pending>();
  private nextId = 1;

  constructor() {
    this.worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
      const p = this.pending.get(e.data.requestId);
      if (!p) return;
      this.pending.delete(e.data.requestId);
      if (e.data.kind === 'error') p.reject(new Error(e.data.message));
      else p.resolve(e.data);
    };
  }

  private send(req: Distribute<WorkerRequest>, transfer: Transferable[] = []): Promise<WorkerResponse> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject });
      this.worker.postMessage({ ...req, requestId }, transfer);
    });
  }

  async load(modelKey: string, bytes: ArrayBuffer, backend: Backend | 'auto', keepOnGpu: string[] = []) {
    const copy = bytes.slice(0); // the caller keeps its bytes (for a later reload on another backend)
    const r = await this.send({ kind: 'load', modelKey, bytes: copy, backend, keepOnGpu }, [copy]);
    if (r.kind !== 'loaded') throw new Error('unexpected worker reply');
    return r as { backend: Backend; inputs: GraphIO[]; outputs: GraphIO[]; fallback?: string };
  }

  /** `retain` outputs stay in the worker under `retainKey` (for rollout) instead of coming back. */
  async run(modelKey: string, inputName: string, input: TensorPayload, outputs: string[], retain: string[] = [], retainKey?: string) {
    const r = await this.send({ kind: 'run', modelKey, inputName, input, outputs, retain, retainKey });
    if (r.kind !== 'ran') throw new Error('unexpected worker reply');
    return { outputs: r.outputs, milliseconds: r.milliseconds };
  }

  /** Rollout of an attention stack a run retained; rejects with NOT_RETAINED when the worker dropped it. */
  async rollout(retainKey: string, output: string, options: RolloutOptions): Promise<{ row: Float32Array; engine: MathEngine; milliseconds: number }> {
    const r = await this.send({ kind: 'rollout', retainKey, output, options });
    if (r.kind !== 'rolled') throw new Error('unexpected worker reply');
    return { row: r.row, engine: r.engine, milliseconds: r.milliseconds };
  }
}
