/** Promise API over the inference worker (one worker, many sessions keyed by model). */
import type { Backend, GraphIO, TensorPayload, WorkerRequest, WorkerResponse } from './protocol';

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

  async load(modelKey: string, bytes: ArrayBuffer, backend: Backend | 'auto') {
    const copy = bytes.slice(0); // the caller keeps its bytes (for a later reload on another backend)
    const r = await this.send({ kind: 'load', modelKey, bytes: copy, backend }, [copy]);
    if (r.kind !== 'loaded') throw new Error('unexpected worker reply');
    return r as { backend: Backend; inputs: GraphIO[]; outputs: GraphIO[]; fallback?: string };
  }

  async run(modelKey: string, inputName: string, input: TensorPayload, outputs: string[]) {
    const r = await this.send({ kind: 'run', modelKey, inputName, input, outputs });
    if (r.kind !== 'ran') throw new Error('unexpected worker reply');
    return { outputs: r.outputs, milliseconds: r.milliseconds };
  }
}
