/** Messages between the UI thread and the inference worker. Tensors travel as transferable buffers. */

export type Backend = 'webgpu' | 'wasm';

export interface TensorPayload {
  data: Float32Array;
  dims: number[];
}

export type WorkerRequest =
  | { kind: 'load'; requestId: number; modelKey: string; bytes: ArrayBuffer; backend: Backend | 'auto' }
  | { kind: 'run'; requestId: number; modelKey: string; inputName: string; input: TensorPayload; outputs: string[] }
  | { kind: 'release'; requestId: number; modelKey: string };

export interface GraphIO {
  name: string;
  shape: (number | string)[] | null;
}

export type WorkerResponse =
  | { kind: 'loaded'; requestId: number; backend: Backend; inputs: GraphIO[]; outputs: GraphIO[]; fallback?: string }
  | { kind: 'ran'; requestId: number; outputs: Record<string, TensorPayload>; milliseconds: number }
  | { kind: 'released'; requestId: number }
  | { kind: 'error'; requestId: number; message: string };
