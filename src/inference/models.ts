/**
 * Model lifecycle on the UI side: fetch bytes (Cache API, so a second visit opens offline), read and
 * validate the contract, load into the worker, check the graph against the contract, run on an image.
 */

import type { RolloutOptions } from '../analysis/rollout';
import { type Contract, checkAgainstGraph, EXPORT_KIT_HINT, loadContract, NotOnnxError } from '../contract';
import { InferenceClient, type RawRun } from './client';
import { explainLoadFailure, explainRunFailure, UserFacingError } from './errors';
import { type OnnxFacts, readOnnxFacts } from './onnxFacts';
import { type Backend, type ExternalFile, type ImageRef, NOT_RETAINED } from './protocol';

const CACHE = 'attnlens-models-v1';
let client: InferenceClient | null = null;
const worker = () => (client ??= new InferenceClient());

export interface LoadedModel {
  key: string;
  contract: Contract;
  backend: Backend;
  fallback?: string;
  /** The runtime's own text behind `fallback` (shown folded). */
  fallbackDetail?: string;
  /** Outputs its runs leave in the worker (see MethodSpec.outputs). */
  held: string[];
  /** What the contract claims but does not back up (e.g. a method without its outputs): shown, not fatal. */
  warnings: string[];
  /** Size of the .onnx file. */
  bytes: number;
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

export async function fetchModelBytes(url: string, onProgress?: (fraction: number) => void): Promise<ArrayBuffer> {
  const cache = 'caches' in self ? await caches.open(CACHE) : null;
  const hit = await cache?.match(url);
  if (hit) return hit.arrayBuffer();
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelError(
      `the model URL ${url} did not answer (${(e as Error).message}); check the address or your connection`,
    );
  }
  if (!res.ok) throw new ModelError(`the model URL ${url} answered HTTP ${res.status}; check the address`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const reader = res.body!.getReader();
  const chunks: Uint8Array[] = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    got += value.length;
    if (total) onProgress?.(got / total);
  }
  const bytes = new Uint8Array(got);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  await cache?.put(url, new Response(bytes.slice(0)));
  return bytes.buffer;
}

/** Read and validate the contract, load into the worker, check the graph against the contract. */
export async function loadModel(
  key: string,
  bytes: ArrayBuffer,
  backend: Backend | 'auto',
  sidecar?: string,
  keepOnGpu: (c: Contract) => string[] = () => [],
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
  const facts = readOnnxFacts(new Uint8Array(bytes));
  let loaded: Awaited<ReturnType<InferenceClient['load']>>;
  try {
    loaded = await worker().load(key, bytes, backend, contract.input, keepOnGpu(contract), source.externalData);
  } catch (e) {
    const raw = (e as Error).message ?? String(e);
    throw new ModelError(explainLoadFailure(source.name, raw, facts), raw);
  }
  const mismatch = checkAgainstGraph(contract, loaded);
  if (mismatch.length) {
    // Refused: its session goes now (each one left behind held its weights and arena, ~11 MB for a zoo model).
    await worker()
      .release(key)
      .catch(() => undefined);
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
    held: keepOnGpu(contract),
    warnings: contractResult.warnings.map((w) => w.message),
    bytes: bytes.byteLength,
    source: source.name,
    facts,
  };
}

/** Run on an image (pre-processed in the worker); the model's worker-held outputs stay there under the run's key. */
export function runModel(model: LoadedModel, image: ImageRef, outputs: string[]): Promise<RawRun> {
  return worker()
    .run(model.key, image, outputs, model.held, `${model.key}@${image.id}`)
    .catch((e: Error) => {
      const raw = e.message ?? String(e);
      throw new ModelError(explainRunFailure(model.source, raw, model.facts, model.contract.input.shape), raw);
    });
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
    return await worker().rollout(key, stack, options);
  } catch (e) {
    if ((e as Error).message !== NOT_RETAINED) throw e;
    await runModel(model, image, []);
    return worker().rollout(key, stack, options);
  }
}

/** Free a model's session (and what the worker kept of its runs): it left the view. */
export const releaseModel = (key: string): Promise<void> => worker().release(key);

/** Decode an image file in the worker: content id, analysed size, thumbnail. */
export const describeImage = (blob: Blob) => worker().describe(blob);
