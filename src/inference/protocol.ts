/** Messages between the UI thread and the inference worker. Tensors travel as transferable buffers. */
import type { Placement } from '../analysis/geometry';
import type { RolloutOptions } from '../analysis/rollout';
import type { ContractInput } from '../contract';
import type { SaliencyJob, SaliencyOutcome } from '../methods/saliency/job';

export type Backend = 'webgpu' | 'wasm';

export interface TensorPayload {
  data: Float32Array;
  dims: number[];
}

/**
 * A segmentation output reduced in the worker to what the page draws and compares: each pixel's class (the
 * argmax over the class axis; NO_CLASS where a logit is NaN), [1, H, W], and its non-finite values counted.
 * A quarter of a float32 logit's bytes per class, so 28× fewer for the zoo's 7 classes.
 */
export interface ClassMapPayload {
  data: Uint8Array;
  dims: [1, number, number];
  /** The logits' own values: how many, and how many were NaN or infinite. */
  total: number;
  nan: number;
  infinite: number;
}

/** One image's share of a batch run: its outputs, its reduced outputs, and where it sat in the input. */
export interface BatchImageRun {
  outputs: Record<string, TensorPayload>;
  classMaps: Record<string, ClassMapPayload>;
  placement: Placement;
  width: number;
  height: number;
}

/** An image as the worker knows it: its content id and the file it decodes from (a Blob travels by reference). */
export interface ImageRef {
  id: string;
  blob: Blob;
}

/** What the worker found in an image file: its content id, analysed size, and a small thumbnail. */
export interface ImageFacts {
  id: string;
  width: number;
  height: number;
  /** The decoded size when it was larger than the largest side kept (then width/height are the scaled size). */
  original: { width: number; height: number } | null;
  thumb: Blob;
}

/** A file a model's external-data references name (e.g. `model.onnx.data`), with its bytes. */
export interface ExternalFile {
  path: string;
  data: ArrayBuffer;
}

export type WorkerRequest =
  | { kind: 'describe'; requestId: number; blob: Blob }
  | {
      kind: 'load';
      requestId: number;
      modelKey: string;
      bytes: ArrayBuffer;
      backend: Backend | 'auto';
      /** WASM threads for this worker's runtime (used by its first load only: the count is fixed per worker). */
      threads?: number;
      input: ContractInput;
      keepOnGpu?: string[];
      /** A WebGPU session without graph capture even where its graph allows it (the bench compares both). */
      noCapture?: boolean;
      /** Weights kept outside the model file, under the path the model names (InferenceSession externalData). */
      externalData?: ExternalFile[];
    }
  /** `retain` outputs stay in the worker (on the GPU for a WebGPU session) under `retainKey`, for `rollout`. */
  | {
      kind: 'run';
      requestId: number;
      modelKey: string;
      image: ImageRef;
      outputs: string[];
      retain?: string[];
      retainKey?: string;
    }
  /**
   * Several images in one session run (a model whose graph leaves the batch axis open); nothing retained.
   * `classMaps`: segmentation logits [N, K, H, W] that come back only as class maps (on the GPU for a captured
   * graph: the data-set run reads back a byte a pixel, not K floats).
   */
  | {
      kind: 'runBatch';
      requestId: number;
      modelKey: string;
      images: ImageRef[];
      outputs: string[];
      classMaps: string[];
    }
  | { kind: 'rollout'; requestId: number; retainKey: string; output: string; options: RolloutOptions }
  /** Outputs a run left in the worker (`retain`), read back now (a view that opened later needs them). */
  | { kind: 'read'; requestId: number; retainKey: string; outputs: string[] }
  /** Saliency passes on one image (methods/saliency/job): progress comes as 'saliencyProgress' under the same id. */
  | { kind: 'saliency'; requestId: number; modelKey: string; image: ImageRef; job: SaliencyJob }
  /** Stop the saliency job of request `job` between two batches (no reply of its own: the job rejects). */
  | { kind: 'cancelSaliency'; requestId: number; job: number }
  | { kind: 'release'; requestId: number; modelKey: string };

/**
 * Graph capture of a WebGPU session: used (with how long its warm-up took: shader compilation and the captured
 * run), or why not in words — `detail` is onnxruntime's own text, shown folded.
 */
export type CaptureState = { used: true; warmUpMs: number } | { used: false; reason: string; detail?: string };

export interface GraphIO {
  name: string;
  shape: (number | string)[] | null;
  /** Element type as onnxruntime names it ('float32', 'float16', …); null for a non-tensor value. */
  type: string | null;
}

/** Where the worker's own maths ran: tfjs on onnxruntime's WebGPU device, or plain TypeScript. */
export type MathEngine = 'webgpu' | 'cpu';

/** The error message of a batch run whose outputs do not all carry the batch (the caller runs image by image). */
export const NOT_BATCHABLE = 'not-batchable';

/** The error message of a rollout asked for a run the worker no longer holds (the caller re-runs the model). */
export const NOT_RETAINED = 'not-retained';

/** Largest image side kept for analysis and display: models see a few hundred pixels. */
export const MAX_SIDE = 4096;

export type WorkerResponse =
  | ({ kind: 'described'; requestId: number } & ImageFacts)
  | {
      kind: 'loaded';
      requestId: number;
      backend: Backend;
      inputs: GraphIO[];
      outputs: GraphIO[];
      fallback?: string;
      fallbackDetail?: string;
      /** The WASM threads the worker's runtime actually runs with. */
      threads: number;
      /** Why it runs with 1 although more were asked for. */
      threadsNote?: string;
      /** A WebGPU session's graph capture (absent on WASM). */
      capture?: CaptureState;
    }
  /** What a load is doing while it takes long (no reply of its own: the load answers 'loaded'). */
  | { kind: 'loadPhase'; requestId: number; phase: 'warm-up' }
  | { kind: 'readOut'; requestId: number; outputs: Record<string, TensorPayload> }
  | {
      kind: 'ran';
      requestId: number;
      outputs: Record<string, TensorPayload>;
      milliseconds: number;
      placement: Placement;
      width: number;
      height: number;
    }
  | {
      kind: 'ranBatch';
      requestId: number;
      runs: BatchImageRun[];
      /** The whole batch's run. */
      milliseconds: number;
      /** Where the class maps were reduced. */
      engine: MathEngine;
    }
  | { kind: 'released'; requestId: number }
  | { kind: 'saliencyProgress'; requestId: number; done: number; total: number; batched: boolean }
  | { kind: 'saliencyDone'; requestId: number; outcome: SaliencyOutcome & { batched: boolean }; milliseconds: number }
  | { kind: 'rolled'; requestId: number; row: Float32Array; engine: MathEngine; milliseconds: number }
  | { kind: 'error'; requestId: number; message: string };
