/**
 * A saliency job as it travels to the inference worker, and its runner there. The masked pictures are built
 * in the worker, next to the session and the decoded image: nothing but the job (a few numbers) goes in and
 * the map (one float per input pixel) comes back, where building them on the page would post every masked
 * tensor (500 RISE masks × 307 KB for a 160×160 input) across threads and hold them in the page's memory.
 */
import type { Placement } from '../../analysis/geometry';
import {
  computeSaliency,
  type Frame,
  frameOf,
  imagePixels,
  type Picture,
  passCount,
  type SaliencyOutcome,
  type SaliencySpec,
  SaliencyStopped,
} from './compute';
import { type ScoreTarget, scoreOf, type Tensor, targetOutputs } from './scores';

export interface SaliencyJob {
  spec: SaliencySpec;
  target: ScoreTarget;
  /** Pictures per session run: more than 1 only for a graph whose batch axis is open. */
  batch: number;
}

export type { SaliencyOutcome };

/** The error message of a job stopped by Cancel (between two batches). */
export const SALIENCY_STOPPED = new SaliencyStopped().message;

/** A model input tensor (the contract's layout) → planes (CHW), and back. */
export function toPlanes(data: Float32Array, layout: 'NCHW' | 'NHWC', width: number, height: number): Picture {
  if (layout === 'NCHW') return { width, height, channels: data.length / (width * height), data };
  const channels = data.length / (width * height);
  const out = new Float32Array(data.length);
  for (let i = 0; i < width * height; i++)
    for (let c = 0; c < channels; c++) out[c * width * height + i] = data[i * channels + c];
  return { width, height, channels, data: out };
}

function fromPlanes(
  p: Float32Array,
  layout: 'NCHW' | 'NHWC',
  n: number,
  channels: number,
  out: Float32Array,
  at: number,
) {
  if (layout === 'NCHW') out.set(p, at);
  else for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) out[at + i * channels + c] = p[c * n + i];
}

/** Cells of an h×w map (a segmenter's logits, maybe coarser than the input) whose centre falls on the image. */
function insideOf(frame: Frame): (h: number, w: number) => Uint8Array | null {
  const onInput = imagePixels(frame);
  const W = frame.ux.length;
  const H = frame.uy.length;
  if (onInput.every((v) => v === 1)) return () => null;
  const cache = new Map<string, Uint8Array>();
  return (h, w) => {
    const key = `${h}x${w}`;
    let m = cache.get(key);
    if (!m) {
      m = new Uint8Array(h * w);
      for (let j = 0; j < h; j++)
        for (let i = 0; i < w; i++)
          m[j * w + i] = onInput[Math.floor(((j + 0.5) * H) / h) * W + Math.floor(((i + 0.5) * W) / w)];
      cache.set(key, m);
    }
    return m;
  };
}

/** Let the worker read its messages (a Cancel) every so often: a session run never yields to them. */
const YIELD_MS = 100;
const PROGRESS_MS = 100;

/**
 * Run a job on one decoded image (its model-input tensor and placement) through `run`, a session run of
 * `n` stacked inputs. A batch whose outputs do not all carry the batch, or that fails, is run one picture at a
 * time, and so is the rest of the job. `stopped` is asked between batches (SaliencyStopped).
 */
export async function runSaliencyJob(args: {
  job: SaliencyJob;
  tensor: { data: Float32Array; placement: Placement };
  layout: 'NCHW' | 'NHWC';
  image: { width: number; height: number };
  run: (stacked: Float32Array, n: number, outputs: string[]) => Promise<Record<string, Tensor>>;
  progress: (done: number, total: number, batched: boolean) => void;
  stopped: () => boolean;
}): Promise<SaliencyOutcome & { batched: boolean }> {
  const { job, tensor, layout, image, run, progress, stopped } = args;
  const { inputWidth: width, inputHeight: height } = tensor.placement;
  const frame = frameOf(tensor.placement, image.width, image.height);
  const picture = toPlanes(tensor.data, layout, width, height);
  const names = targetOutputs(job.target);
  const input = { width, height, inside: insideOf(frame) };
  const n = width * height;
  let batched = job.batch > 1;
  let lastYield = performance.now();

  const runSome = async (pictures: Float32Array[]): Promise<number[]> => {
    const stacked = new Float32Array(pictures.length * picture.data.length);
    for (const [i, p] of pictures.entries())
      fromPlanes(p, layout, n, picture.channels, stacked, i * picture.data.length);
    const outputs = await run(stacked, pictures.length, names);
    if (names.some((name) => outputs[name].dims[0] !== pictures.length)) throw new Error('not-batchable');
    return pictures.map((_, i) => {
      const one: Record<string, Tensor> = {};
      for (const name of names) {
        const t = outputs[name];
        const size = t.data.length / pictures.length;
        one[name] = { data: t.data.subarray(i * size, (i + 1) * size), dims: [1, ...t.dims.slice(1)] };
      }
      return scoreOf(job.target, one, input);
    });
  };

  const score = async (pictures: Float32Array[]): Promise<number[]> => {
    let scores: number[] | null = null;
    if (batched && pictures.length > 1) {
      try {
        scores = await runSome(pictures);
      } catch {
        batched = false; // one at a time from now on
      }
    }
    if (!scores) {
      scores = [];
      for (const p of pictures) scores.push(...(await runSome([p])));
    }
    if (performance.now() - lastYield > YIELD_MS) {
      await new Promise((r) => setTimeout(r, 0));
      lastYield = performance.now();
    }
    return scores;
  };

  const total = passCount(job.spec);
  let lastPost = 0;
  const outcome = await computeSaliency(picture, frame, job.spec, score, {
    batch: Math.max(1, job.batch),
    stopped,
    onProgress: (done) => {
      const now = performance.now();
      if (done === total || now - lastPost > PROGRESS_MS) {
        lastPost = now;
        progress(done, total, batched);
      }
    },
  });
  return { ...outcome, batched };
}
