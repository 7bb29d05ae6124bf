/** Plain ONNX (no contract, no sidecar) → a draft contract the user confirms: inference and building are pure. */
import { NotOnnxError, readOnnxHeader } from '../onnxMetadata';
import { METADATA_KEY } from '../validate';
import { readOnnxGraph } from './graph';
import { inferDraft } from './infer';
import type { DraftContract } from './types';

export * from './build';
export * from './graph';
export { classColumns, inferDraft, mapStride, modelIdOf, tokenGrid } from './infer';
export * from './types';

/**
 * The draft of a model that has no embedded contract (a sidecar was not given), or null when it has one or
 * is not a readable ONNX model at all (loading it then says why, in words).
 */
export function draftOfPlainOnnx(bytes: Uint8Array, file: string): DraftContract | null {
  try {
    if (readOnnxHeader(bytes).metadata[METADATA_KEY] !== undefined) return null;
  } catch (e) {
    if (e instanceof NotOnnxError) return null;
    throw e;
  }
  const graph = readOnnxGraph(bytes);
  return graph ? inferDraft(graph, file) : null;
}
