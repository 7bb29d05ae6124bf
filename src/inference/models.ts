/**
 * Model lifecycle on the UI side (bytes come from fetchModel.ts or a dropped file): read and validate the
 * contract, load into the model's worker, check the graph against the contract, run on an image.
 */

import type { RolloutOptions } from '../analysis/rollout';
import { type Contract, checkAgainstGraph, EXPORT_KIT_HINT, loadContract, NotOnnxError } from '../contract';
import { SALIENCY_STOPPED, type SaliencyJob } from '../methods/saliency/job';
import { InferenceClient, type RawRun, WorkerStopped } from './client';
import { explainLoadFailure, explainRunFailure, oversizedTensors, UserFacingError } from './errors';
import { type OnnxFacts, readOnnxFacts } from './onnxFacts';
import {
  type Backend,
  type CaptureState,
  type ExternalFile,
  type ImageRef,
  NOT_BATCHABLE,
  NOT_RETAINED,
  type TensorPayload,
} from './protocol';
import type { ThreadChoice } from './threads';
import { WorkerPool } from './workerPool';

/** Model workers beyond which models share one (see WorkerPool: each costs about 60 MB). */
export const MAX_MODEL_WORKERS = 4;

let evicted: (keys: string[]) => void = () => undefined;
/** Models whose worker was stopped for another model's sake: the caller reopens them. */
export const onModelsEvicted = (handler: (keys: string[]) => void) => {
  evicted = handler;
};

let loadPhase: (key: string, phase: 'warm-up' | null) => void = () => undefined;
/** What a model's load is doing while it takes long (a WebGPU warm-up), and null when the load ended. */
export const onLoadPhase = (handler: (key: string, phase: 'warm-up' | null) => void) => {
  loadPhase = handler;
};

/**
 * A worker per model up to MAX_MODEL_WORKERS (a stuck or slow model holds back only itself, and stopping it is
 * terminating its worker), and one that only decodes images; how many run at once is bounded by the caller.
 */
const pool = new WorkerPool(
  () => new InferenceClient(),
  MAX_MODEL_WORKERS,
  (keys) => evicted(keys),
);
let imageClient: InferenceClient | null = null;
const imageWorker = () => (imageClient ??= new InferenceClient());

function workerOf(key: string): InferenceClient {
  const client = pool.clientOf(key);
  if (!client || client.isStopped) throw new ModelError(`${key} is not loaded (its worker was stopped): Retry it`);
  return client;
}

/** Stop a model's worker whatever it is doing; its session and kept outputs go with it. */
export function stopModel(key: string, why = 'stopped'): void {
  pool.stop(key, why);
}

export interface LoadedModel {
  key: string;
  contract: Contract;
  backend: Backend;
  fallback?: string;
  /** The runtime's own text behind `fallback` (shown folded). */
  fallbackDetail?: string;
  /** WASM threads its worker's runtime runs with (see threads.ts), and why that many. */
  threads: number;
  threadsWhy: string;
  /** On WebGPU: its graph is captured, or why not. */
  capture?: CaptureState;
  /** Outputs its runs leave in the worker (see MethodSpec.outputs). */
  held: string[];
  /** What the contract claims but does not back up (e.g. a method without its outputs): shown, not fatal. */
  warnings: string[];
  /** Size of the .onnx file. */
  bytes: number;
  /** Its graph leaves the input's batch axis open: several images can go in one run (runModelBatch). */
  batchable: boolean;
  /** The file's name as the user gave it (the zoo id for zoo models): what failure messages start with. */
  source: string;
  /** What its bytes say (which nodes run which operator…), for wording a failed run. */
  facts: OnnxFacts | null;
}

/** A model failure already worded for the user (its `detail`, if any, is the runtime's own text). */
export class ModelError extends UserFacingError {}

/** Where a user's model came from: its file's name and the external-data files dropped with it. */
export interface ModelSource {
  name: string;
  /** The file's size in bytes (for a message when it is too large to read). */
  size?: number;
  externalData?: ExternalFile[];
}

/**
 * Sources of models the user supplied, by model key: a reload (a backend switch, the model coming back into
 * view) must name the same file and pass the same external-data files.
 */
const sources = new Map<string, ModelSource>();
export const registerModelSource = (key: string, source: ModelSource) => void sources.set(key, source);

/** A run stopped before it finished: its worker was terminated (the model must load again). */
export class RunStopped extends Error {
  constructor(readonly reason: 'timeout' | 'cancelled') {
    super(reason === 'timeout' ? 'the run timed out' : 'the run was cancelled');
  }
}

/** Read and validate the contract, load into the worker, check the graph against the contract. */
export async function loadModel(
  key: string,
  bytes: ArrayBuffer,
  backend: Backend | 'auto',
  sidecar?: string,
  keepOnGpu: (c: Contract) => string[] = () => [],
  threads: ThreadChoice = { threads: 1, why: 'one thread asked for' },
): Promise<LoadedModel> {
  const source = sources.get(key) ?? { name: key };
  let contractResult: ReturnType<typeof loadContract>;
  try {
    contractResult = loadContract(new Uint8Array(bytes), sidecar);
  } catch (e) {
    if (e instanceof NotOnnxError) throw new ModelError(`${source.name}: ${e.message}. Pick an .onnx model file.`);
    throw e;
  }
  if (!contractResult.ok) throw new ModelError(`${source.name}: ${contractResult.problem}`);
  const contract = contractResult.contract;
  const oversized = oversizedTensors(source.name, contract.input, contract.outputs);
  if (oversized) throw new ModelError(oversized);
  const facts = readOnnxFacts(new Uint8Array(bytes));
  const client = pool.assign(key, backend);
  let loaded: Awaited<ReturnType<InferenceClient['load']>>;
  try {
    loaded = await client.load(
      key,
      bytes,
      backend,
      contract.input,
      keepOnGpu(contract),
      source.externalData,
      threads.threads,
      (p) => loadPhase(key, p),
    );
  } catch (e) {
    if (pool.clientOf(key) === client) pool.leave(key);
    if (e instanceof WorkerStopped) throw e;
    const raw = (e as Error).message ?? String(e);
    throw new ModelError(explainLoadFailure(source.name, raw, facts), raw);
  } finally {
    loadPhase(key, null);
  }
  const mismatch = checkAgainstGraph(contract, loaded);
  if (mismatch.length) {
    pool.leave(key); // its session goes (with its worker when it was alone there): nothing of it stays
    throw new ModelError(
      `${source.name}: its contract does not match the model graph: ${mismatch.map((m) => m.message).join('; ')}. ${EXPORT_KIT_HINT}`,
    );
  }
  return {
    key,
    contract,
    backend: loaded.backend,
    fallback: loaded.fallback,
    fallbackDetail: loaded.fallbackDetail,
    threads: loaded.threads,
    // the worker keeps the count its first model asked for; a note when it could not have it
    threadsWhy:
      loaded.threadsNote ?? (loaded.threads === threads.threads ? threads.why : 'its worker started with this count'),
    capture: loaded.capture,
    held: keepOnGpu(contract),
    warnings: contractResult.warnings.map((w) => w.message),
    bytes: bytes.byteLength,
    batchable: isOpenAxis(loaded.inputs.find((i) => i.name === contract.input.name)?.shape?.[0]),
    source: source.name,
    facts,
  };
}

/**
 * Run on an image (pre-processed in the worker); the model's worker-held outputs, and `holdBack` (outputs no
 * view in sight needs yet), stay there under the run's key. Aborting `signal` (reason 'timeout' or 'cancelled')
 * terminates the model's worker: the run rejects with RunStopped and the model must load again.
 */
export function runModel(
  model: LoadedModel,
  image: ImageRef,
  outputs: string[],
  signal?: AbortSignal,
  holdBack: string[] = [],
): Promise<RawRun> {
  const retain = [...new Set([...model.held, ...holdBack.filter((n) => !outputs.includes(n))])];
  return stoppable(model, signal, (client) =>
    client.run(model.key, image, outputs, retain, `${model.key}@${image.id}`),
  );
}

/**
 * Outputs a run of this model on this image left in its worker (`holdBack`), read back now; null when the worker
 * no longer holds them (the caller runs the model again).
 */
export async function readHeldOutputs(
  model: LoadedModel,
  image: ImageRef,
  names: string[],
): Promise<Record<string, TensorPayload> | null> {
  try {
    return await workerOf(model.key).read(`${model.key}@${image.id}`, names);
  } catch (e) {
    if ((e as Error).message === NOT_RETAINED) return null;
    throw e;
  }
}

/**
 * Several images in one session run, for a model whose graph leaves the batch axis open (`batchable`); one
 * RawRun per image. Nothing stays in the worker (a batch keeps no outputs for the worker's own maths).
 */
export function runModelBatch(
  model: LoadedModel,
  images: ImageRef[],
  outputs: string[],
  signal?: AbortSignal,
  classMaps: string[] = [],
): Promise<RawRun[]> {
  return stoppable(model, signal, (client) => client.runBatch(model.key, images, outputs, classMaps));
}

/** A batch run whose outputs do not all carry the batch: the model runs image by image. */
export class NotBatchable extends Error {}

/** A graph axis left open: named ('batch', 'N'), or unknown (-1, 0). */
const isOpenAxis = (d: number | string | undefined) => typeof d === 'string' || (typeof d === 'number' && d <= 0);

/** A run on the model's worker that `signal` can stop (terminating the worker), its failures worded. */
async function stoppable<T>(
  model: LoadedModel,
  signal: AbortSignal | undefined,
  run: (client: InferenceClient) => Promise<T>,
): Promise<T> {
  const client = workerOf(model.key);
  const reason = () => (signal?.reason === 'timeout' ? 'timeout' : 'cancelled');
  if (signal?.aborted) throw new RunStopped(reason());
  const stop = () => {
    if (pool.clientOf(model.key) === client) stopModel(model.key, reason());
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await run(client);
  } catch (e) {
    // stopped by this run's deadline or Cancel, or by another run's, or a reload: either way, not an error
    if (e instanceof WorkerStopped) throw new RunStopped(signal?.aborted ? reason() : 'cancelled');
    const raw = (e as Error).message ?? String(e);
    if (raw === NOT_BATCHABLE) throw new NotBatchable();
    throw new ModelError(explainRunFailure(model.source, raw, model.facts, model.contract.input.shape), raw);
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

/**
 * Attention rollout of a ViT's full attention stack, computed in the worker where the run left it (on the
 * GPU for a WebGPU session). If the worker has since dropped that run, the model runs again first.
 */
export async function rolloutModel(model: LoadedModel, image: ImageRef, stack: string, options: RolloutOptions) {
  if (!model.held.includes(stack))
    throw new ModelError(`${model.key}: its runs do not keep ${stack} in the worker, so rollout cannot be computed`);
  const key = `${model.key}@${image.id}`;
  try {
    return await workerOf(model.key).rollout(key, stack, options);
  } catch (e) {
    if ((e as Error).message !== NOT_RETAINED) throw e;
    await runModel(model, image, []);
    return workerOf(model.key).rollout(key, stack, options);
  }
}

/** A saliency job stopped by its Cancel (between two batches): the model stays loaded. */
export class SaliencyCancelled extends Error {}

/**
 * Saliency passes of a model on an image, in its worker (methods/saliency): `onProgress` hears the passes done;
 * `cancel` stops the job between two batches (it rejects with SaliencyCancelled; the session stays). A worker
 * stopped meanwhile (Cancel of a run, a reload) rejects it with RunStopped; a failed pass with a worded ModelError.
 */
export function saliencyOfModel(
  model: LoadedModel,
  image: ImageRef,
  job: SaliencyJob,
  onProgress: (done: number, total: number, batched: boolean) => void,
) {
  const { outcome, cancel } = workerOf(model.key).saliency(model.key, image, job, onProgress);
  return {
    cancel,
    outcome: outcome.catch((e: Error) => {
      if (e instanceof WorkerStopped) throw new RunStopped('cancelled');
      const raw = e.message ?? String(e);
      if (raw === SALIENCY_STOPPED) throw new SaliencyCancelled(raw);
      throw new ModelError(explainRunFailure(model.source, raw, model.facts, model.contract.input.shape), raw);
    }),
  };
}

/** Free a model's session and what its worker kept of its runs (it left the view): the worker goes. */
export const releaseModel = async (key: string): Promise<void> => pool.leave(key);

/** Decode an image file in the image worker: content id, analysed size, thumbnail. */
export const describeImage = (blob: Blob) => imageWorker().describe(blob);
