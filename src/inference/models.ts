/**
 * Model lifecycle on the UI side (bytes come from fetchModel.ts or a dropped file): read and validate the
 * contract, load into the model's worker, check the graph against the contract, run on an image.
 */

import type { RolloutOptions } from '../analysis/rollout';
import { type Contract, checkAgainstGraph, EXPORT_KIT_HINT, loadContract, NotOnnxError } from '../contract';
import { InferenceClient, type RawRun, WorkerStopped } from './client';
import { type Backend, type ImageRef, NOT_RETAINED } from './protocol';
import { WorkerPool } from './workerPool';

/** Model workers beyond which models share one (see WorkerPool: each costs about 60 MB). */
export const MAX_MODEL_WORKERS = 4;

let evicted: (keys: string[]) => void = () => undefined;
/** Models whose worker was stopped for another model's sake: the caller reopens them. */
export const onModelsEvicted = (handler: (keys: string[]) => void) => {
  evicted = handler;
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
  /** Outputs its runs leave in the worker (see MethodSpec.outputs). */
  held: string[];
  /** What the contract claims but does not back up (e.g. a method without its outputs): shown, not fatal. */
  warnings: string[];
  /** Size of the .onnx file. */
  bytes: number;
}

export class ModelError extends Error {}

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
): Promise<LoadedModel> {
  let contractResult: ReturnType<typeof loadContract>;
  try {
    contractResult = loadContract(new Uint8Array(bytes), sidecar);
  } catch (e) {
    if (e instanceof NotOnnxError) throw new ModelError(`${key}: ${e.message}. Pick an .onnx model file.`);
    throw e;
  }
  if (!contractResult.ok) throw new ModelError(`${key}: ${contractResult.problem}`);
  const contract = contractResult.contract;
  const client = pool.assign(key, backend);
  let loaded: Awaited<ReturnType<InferenceClient['load']>>;
  try {
    loaded = await client.load(key, bytes, backend, contract.input, keepOnGpu(contract));
  } catch (e) {
    if (pool.clientOf(key) === client) pool.leave(key);
    throw e;
  }
  const mismatch = checkAgainstGraph(contract, loaded);
  if (mismatch.length) {
    pool.leave(key); // its session goes (with its worker when it was alone there): nothing of it stays
    throw new ModelError(
      `${key}: its contract does not match the model graph: ${mismatch.map((m) => m.message).join('; ')}. ${EXPORT_KIT_HINT}`,
    );
  }
  return {
    key,
    contract,
    backend: loaded.backend,
    fallback: loaded.fallback,
    held: keepOnGpu(contract),
    warnings: contractResult.warnings.map((w) => w.message),
    bytes: bytes.byteLength,
  };
}

/**
 * Run on an image (pre-processed in the worker); the model's worker-held outputs stay there under the run's
 * key. Aborting `signal` (reason 'timeout' or 'cancelled') terminates the model's worker: the run rejects
 * with RunStopped and the model must load again.
 */
export async function runModel(
  model: LoadedModel,
  image: ImageRef,
  outputs: string[],
  signal?: AbortSignal,
): Promise<RawRun> {
  const client = workerOf(model.key);
  const reason = () => (signal?.reason === 'timeout' ? 'timeout' : 'cancelled');
  if (signal?.aborted) throw new RunStopped(reason());
  const stop = () => {
    if (pool.clientOf(model.key) === client) stopModel(model.key, reason());
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await client.run(model.key, image, outputs, model.held, `${model.key}@${image.id}`);
  } catch (e) {
    // stopped by this run's deadline or Cancel, or by another run's, or a reload: either way, not an error
    if (e instanceof WorkerStopped) throw new RunStopped(signal?.aborted ? reason() : 'cancelled');
    throw e;
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

/** Free a model's session and what its worker kept of its runs (it left the view): the worker goes. */
export const releaseModel = async (key: string): Promise<void> => pool.leave(key);

/** Decode an image file in the image worker: content id, analysed size, thumbnail. */
export const describeImage = (blob: Blob) => imageWorker().describe(blob);
