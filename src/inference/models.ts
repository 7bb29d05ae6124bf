/**
 * Model lifecycle on the UI side: fetch bytes (Cache API, so a second visit opens offline), read and
 * validate the contract, load into the worker, check the graph against the contract, run on an image.
 */
import { checkAgainstGraph, EXPORT_KIT_HINT, loadContract, NotOnnxError, type Contract } from '../contract';
import type { RolloutOptions } from '../analysis/rollout';
import { NOT_RETAINED, type Backend } from './protocol';
import { vitSelfAttention, workerHeldOutputs } from './views';
import { InferenceClient } from './client';
import { placement, toTensor } from './preprocess';

const CACHE = 'attnlens-models-v1';
let client: InferenceClient | null = null;
const worker = () => (client ??= new InferenceClient());

export interface LoadedModel {
  key: string;
  contract: Contract;
  backend: Backend;
  fallback?: string;
}

export class ModelError extends Error {}

export async function fetchModelBytes(url: string, onProgress?: (fraction: number) => void): Promise<ArrayBuffer> {
  const cache = 'caches' in self ? await caches.open(CACHE) : null;
  const hit = await cache?.match(url);
  if (hit) return hit.arrayBuffer();
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ModelError(`the model URL ${url} did not answer (${(e as Error).message}); check the address or your connection`);
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

export async function loadModel(key: string, bytes: ArrayBuffer, backend: Backend | 'auto', sidecar?: string): Promise<LoadedModel> {
  let contractResult;
  try {
    contractResult = loadContract(new Uint8Array(bytes), sidecar);
  } catch (e) {
    if (e instanceof NotOnnxError) throw new ModelError(`${key}: ${e.message}. Pick an .onnx model file.`);
    throw e;
  }
  if (!contractResult.ok) throw new ModelError(`${key}: ${contractResult.problem}`);
  const contract = contractResult.contract;
  const loaded = await worker().load(key, bytes, backend, workerHeldOutputs(contract));
  const mismatch = checkAgainstGraph(contract, loaded);
  if (mismatch.length) {
    throw new ModelError(`${key}: its contract does not match the model graph: ${mismatch.map((m) => m.message).join('; ')}. ${EXPORT_KIT_HINT}`);
  }
  return { key, contract, backend: loaded.backend, fallback: loaded.fallback };
}

/** Resize the image to the model's input as its contract says (stretch, or letterbox with fill), then normalise. */
export function imageToInput(bitmap: ImageBitmap, contract: Contract): { data: Float32Array; dims: number[] } {
  const p = placement(bitmap.width, bitmap.height, contract.input);
  const canvas = new OffscreenCanvas(p.inputWidth, p.inputHeight);
  const ctx = canvas.getContext('2d')!;
  const [r, g, b] = contract.input.letterbox_fill ?? [114, 114, 114];
  ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
  ctx.fillRect(0, 0, p.inputWidth, p.inputHeight);
  ctx.drawImage(bitmap, p.offsetX, p.offsetY, bitmap.width * p.scaleX, bitmap.height * p.scaleY);
  return { data: toTensor(ctx.getImageData(0, 0, p.inputWidth, p.inputHeight).data, contract.input), dims: [...contract.input.shape] };
}

/** Run on an image; the contract's worker-held outputs (see views.ts) stay in the worker under `runKey`. */
export async function runModel(model: LoadedModel, bitmap: ImageBitmap, outputs: string[], runKey?: string) {
  const held = runKey ? workerHeldOutputs(model.contract) : [];
  return worker().run(model.key, model.contract.input.name, imageToInput(bitmap, model.contract), outputs, held, runKey);
}

/**
 * Attention rollout of a ViT's full attention stack, computed in the worker where the run left it (on the
 * GPU for a WebGPU session). If the worker has since dropped that run, the model runs again first.
 */
export async function rolloutModel(model: LoadedModel, bitmap: ImageBitmap, runKey: string, options: RolloutOptions) {
  const stack = vitSelfAttention(model.contract);
  if (!stack) throw new ModelError(`${model.key}: its contract declares no self_attention output, so rollout cannot be computed`);
  try {
    return await worker().rollout(runKey, stack.name, options);
  } catch (e) {
    if ((e as Error).message !== NOT_RETAINED) throw e;
    await runModel(model, bitmap, [], runKey);
    return worker().rollout(runKey, stack.name, options);
  }
}
