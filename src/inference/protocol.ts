/** Messages between the UI thread and the inference worker. Tensors travel as transferable buffers. */
import type { RolloutOptions } from '../analysis/rollout';

export type Backend = 'webgpu' | 'wasm';

export interface TensorPayload {
  data: Float32Array;
  dims: number[];
}

export type WorkerRequest =
  | { kind: 'load'; requestId: number; modelKey: string; bytes: ArrayBuffer; backend: Backend | 'auto'; keepOnGpu?: string[] }
  /** `retain` outputs stay in the worker (on the GPU for a WebGPU session) under `retainKey`, for `rollout`. */
  | { kind: 'run'; requestId: number; modelKey: string; inputName: string; input: TensorPayload; outputs: string[]; retain?: string[]; retainKey?: string }
  | { kind: 'rollout'; requestId: number; retainKey: string; output: string; options: RolloutOptions }
  | { kind: 'release'; requestId: number; modelKey: string };

export interface GraphIO {
  name: string;
  shape: (number | string)[] | null;
}

/** Where the worker's own maths ran: tfjs on onnxruntime's WebGPU device, or plain TypeScript. */
export type MathEngine = 'webgpu' | 'cpu';

/** The error message of a rollout asked for a run the worker no longer holds (the caller re-runs the model). */
export const NOT_RETAINED = 'not-retained';

export type WorkerResponse =
  | { kind: 'loaded'; requestId: number; backend: Backend; inputs: GraphIO[]; outputs: GraphIO[]; fallback?: string }
  | { kind: 'ran'; requestId: number; outputs: Record<string, TensorPayload>; milliseconds: number }
  | { kind: 'released'; requestId: number }
  | { kind: 'rolled'; requestId: number; row: Float32Array; engine: MathEngine; milliseconds: number }
  | { kind: 'error'; requestId: number; message: string };
