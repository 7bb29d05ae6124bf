/**
 * The inference worker's own maths, next to the sessions that produce its inputs. A WebGPU session leaves
 * the big tensors (a ViT's [1, L, H, T, T] attention stack) on the GPU; tfjs-backend-webgpu is then built on
 * onnxruntime-web's own GPUDevice, so they are reduced where they are and only the small result is read
 * back. A WASM session's tensors are on the CPU and go through the plain-TypeScript reference functions.
 */
import type * as ort from 'onnxruntime-web/webgpu';
import { countNonFinite } from '../analysis/finiteness';
import { attentionRollout, type RolloutOptions } from '../analysis/rollout';
import { argmaxClasses, NO_CLASS } from '../analysis/segmentation';
import { toFloat32 } from './float16';
import type { ClassMapPayload, MathEngine } from './protocol';

/** Recent runs' kept outputs by "model@image", the least recently used dropped (and its GPU buffers freed). */
export class RetainedRuns {
  private runs = new Map<string, Record<string, ort.Tensor>>();
  constructor(private readonly capacity = 4) {}

  put(key: string, tensors: Record<string, ort.Tensor>): void {
    this.drop(key);
    this.runs.set(key, tensors);
    while (this.runs.size > this.capacity) this.drop(this.runs.keys().next().value as string);
  }

  get(key: string): Record<string, ort.Tensor> | undefined {
    const run = this.runs.get(key);
    if (run) {
      this.runs.delete(key); // most recently used goes last
      this.runs.set(key, run);
    }
    return run;
  }

  drop(key: string): void {
    const run = this.runs.get(key);
    if (!run) return;
    for (const t of Object.values(run)) t.dispose();
    this.runs.delete(key);
  }

  dropModel(modelKey: string): void {
    for (const key of [...this.runs.keys()]) if (key.startsWith(`${modelKey}@`)) this.drop(key);
  }
}

// tfjs is imported only by a worker that does GPU maths: one worker per model, most on WASM, need not parse it.
const gpuModules = () =>
  Promise.all([
    import('@tensorflow/tfjs-core'),
    import('@tensorflow/tfjs-backend-webgpu'),
    import('../analysis/rolloutTensor'),
  ]).then(([tf, backend, rollout]) => ({
    tf,
    WebGPUBackend: backend.WebGPUBackend,
    attentionRolloutTensor: rollout.attentionRolloutTensor,
  }));
let gpuMath: Promise<Awaited<ReturnType<typeof gpuModules>> | null> | null = null;

/** tfjs on onnxruntime's device (only asked once a WebGPU session exists, so the device is there); null: none. */
function gpuMathReady(device: Promise<unknown>) {
  gpuMath ??= (async () => {
    try {
      const gpu = (await device) as GPUDevice;
      const modules = await gpuModules();
      const { tf, WebGPUBackend } = modules;
      // tfjs looks kernels up by backend name, so ours must be called 'webgpu' (replacing the default one,
      // which would open a second device of its own).
      tf.removeBackend('webgpu');
      tf.registerBackend('webgpu', async () => new WebGPUBackend(gpu));
      return (await tf.setBackend('webgpu')) ? modules : null;
    } catch (e) {
      console.warn(`AttnLens: GPU maths unavailable, using the CPU (${(e as Error).message})`);
      return null;
    }
  })();
  return gpuMath;
}

/** Rollout of a kept attention stack [1, L, H, T, T]: on the GPU when the tensor lives there, else on the CPU. */
export async function rolloutOf(
  stack: ort.Tensor,
  options: RolloutOptions,
  device: () => Promise<unknown>,
): Promise<{ row: Float32Array; engine: MathEngine }> {
  const gpu = stack.location === 'gpu-buffer' && stack.type === 'float32' ? await gpuMathReady(device()) : null;
  if (gpu) {
    const { tf, attentionRolloutTensor } = gpu;
    const x = tf.tensor({ buffer: stack.gpuBuffer as GPUBuffer, zeroCopy: false }, [...stack.dims], 'float32');
    try {
      const r = attentionRolloutTensor(x, options);
      const row = (await r.data()) as Float32Array;
      r.dispose();
      return { row, engine: 'webgpu' };
    } finally {
      x.dispose();
    }
  }
  const data = toFloat32(stack.location === 'cpu' ? stack.data : await stack.getData(), stack.type);
  const [, layers, heads, tokens] = stack.dims;
  return { row: attentionRollout({ data, layers, heads, tokens }, options), engine: 'cpu' };
}

/**
 * Per image of segmentation logits [N, K, H, W]: its class map (argmax over K, NO_CLASS where a logit is NaN, as
 * analysis/segmentation's argmaxClasses) and its NaN / infinite counts. On the GPU when the tensor lives there
 * (only N·H·W bytes and 2·N counts are read back), else in TypeScript.
 */
export async function classMapsOf(
  logits: ort.Tensor,
  device: () => Promise<unknown>,
): Promise<{ maps: ClassMapPayload[]; engine: MathEngine }> {
  const [n, classes, height, width] = logits.dims;
  const pixels = height * width;
  const dims: [1, number, number] = [1, height, width];
  if (classes >= NO_CLASS) throw new Error(`${classes} classes: a class map holds at most ${NO_CLASS - 1}`);
  const gpu = logits.location === 'gpu-buffer' && logits.type === 'float32' ? await gpuMathReady(device()) : null;
  if (gpu) {
    const { tf } = gpu;
    const x = tf.tensor({ buffer: logits.gpuBuffer as GPUBuffer, zeroCopy: false }, [...logits.dims], 'float32');
    const [map, nan, infinite] = tf.tidy(() => {
      // class by class, element-wise: the first of equal maxima wins, as argmaxClasses (tfjs's argMax on
      // SwiftShader's WebGPU gave another class on ~5 % of pixels, measured in tests/e2e/graph-capture)
      const planes = tf.unstack(x, 1);
      let best = planes[0];
      let classOf = tf.zeros([n, height, width], 'int32');
      let anyNan = tf.isNaN(best);
      for (let k = 1; k < classes; k++) {
        const higher = tf.greater(planes[k], best);
        classOf = tf.where(higher, tf.fill([n, height, width], k, 'int32'), classOf);
        best = tf.where(higher, planes[k], best);
        anyNan = tf.logicalOr(anyNan, tf.isNaN(planes[k]));
      }
      classOf = tf.where(anyNan, tf.fill([n, height, width], NO_CLASS, 'int32'), classOf);
      const perImage = (b: typeof best) => tf.sum(tf.cast(b, 'int32'), [1, 2, 3]);
      return [classOf, perImage(tf.isNaN(x)), perImage(tf.isInf(x))];
    });
    try {
      const [m, a, b] = await Promise.all([map.data(), nan.data(), infinite.data()]);
      const maps = Array.from({ length: n }, (_, i) => ({
        data: Uint8Array.from(m.subarray(i * pixels, (i + 1) * pixels)),
        dims,
        total: classes * pixels,
        nan: a[i],
        infinite: b[i],
      }));
      return { maps, engine: 'webgpu' };
    } finally {
      for (const t of [x, map, nan, infinite]) t.dispose();
    }
  }
  const data = toFloat32(logits.location === 'cpu' ? logits.data : await logits.getData(), logits.type);
  const per = classes * pixels;
  const maps = Array.from({ length: n }, (_, i) => {
    const own = data.subarray(i * per, (i + 1) * per);
    return { data: argmaxClasses(own, classes, height, width), dims, total: per, ...countNonFinite(own) };
  });
  return { maps, engine: 'cpu' };
}
