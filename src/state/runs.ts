/**
 * A run: one model's outputs on one image, keyed by the image's content (never its file name), with the
 * geometry it was computed for. Runs live in a cache bounded in bytes; the current image's runs are never
 * evicted (pure, tested).
 */
import type { NonFiniteOutput } from '../analysis/finiteness';
import type { Placement } from '../analysis/geometry';
import type { ClassMapPayload, TensorPayload } from '../inference/protocol';

export interface Run {
  modelId: string;
  imageId: string;
  outputs: Record<string, TensorPayload>;
  /**
   * Segmentation logits that came back as class maps only (a data-set run reduces them in the worker): they
   * serve the mask and every comparison; the logits themselves are not on the page.
   */
  classMaps?: Record<string, ClassMapPayload>;
  milliseconds: number;
  /** The analysed image's size and where it sat in the model input: every view maps through these. */
  width: number;
  height: number;
  placement: Placement;
  bytes: number;
  /** Outputs with NaN or infinite values, counted once when the run arrived (absent: not counted). */
  nonFinite?: NonFiniteOutput[];
}

export const runKey = (modelId: string, imageId: string) => `${modelId}@${imageId}`;

export const payloadBytes = (outputs: Record<string, TensorPayload>, classMaps: Record<string, ClassMapPayload> = {}) =>
  [...Object.values(outputs), ...Object.values(classMaps)].reduce((a, t) => a + t.data.byteLength, 0);

/**
 * Default budget for kept runs: about 15 images × the default pair's outputs (4.2 MB an image), so the cache is
 * full within the first images and memory then stays flat (the bench's target: within 10 % over 200 images;
 * 256 MB took ~60 images to fill, +24 % over a ~700 MB browser). Older images run again when shown.
 */
export const RUN_BUDGET_BYTES = 64 * 2 ** 20;

/**
 * Keys to evict so that the runs fit `budget` bytes: oldest first (insertion order), never a pinned key.
 * Pinned runs count toward the total but are kept even if they alone exceed it.
 */
export function evictions(
  runs: Record<string, Pick<Run, 'bytes'>>,
  budget: number,
  pinned: (key: string) => boolean,
): string[] {
  let total = Object.values(runs).reduce((a, r) => a + r.bytes, 0);
  const out: string[] = [];
  for (const [key, r] of Object.entries(runs)) {
    if (total <= budget) break;
    if (pinned(key)) continue;
    out.push(key);
    total -= r.bytes;
  }
  return out;
}
