/**
 * Attention rollout written in tfjs-core ops, so that it runs on whichever tfjs backend is active: in the
 * inference worker that is tfjs-backend-webgpu on onnxruntime-web's own GPUDevice, so the [L, H, T, T]
 * stack never leaves the GPU — only the T-long result row is read back. Same maths as rollout.ts (the CPU
 * path and the reference; tested equal).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RolloutOptions } from './rollout';

/** stack: [1, L, H, T, T] or [L, H, T, T] → the query row of Â_upTo · … · Â_0 as a [T] tensor. */
export function attentionRolloutTensor(stack: tf.Tensor, opts: RolloutOptions): tf.Tensor1D {
  return tf.tidy(() => {
    const s = stack.rank === 5 ? tf.squeeze(stack, [0]) : stack; // functional ops: tfjs-core alone has no chained ones
    if (s.rank !== 4 || s.shape[2] !== s.shape[3])
      throw new Error(`attention stack has shape [${stack.shape}], expected [1, L, H, T, T]`);
    const [layers, heads, t] = s.shape;
    if (opts.upTo < 0 || opts.upTo >= layers) throw new Error(`layer ${opts.upTo} is outside 0..${layers - 1}`);
    if (opts.head !== 'mean' && (opts.head < 0 || opts.head >= heads))
      throw new Error(`head ${opts.head} is outside 0..${heads - 1}`);
    const eye = opts.identity ? tf.eye(t) : null;
    let v = tf.cast(tf.oneHot(tf.tensor1d([opts.query ?? 0], 'int32'), t), 'float32') as tf.Tensor2D; // [1, T]
    for (let l = opts.upTo; l >= 0; l--) {
      const layer =
        opts.head === 'mean'
          ? tf.mean(tf.slice(s, [l, 0, 0, 0], [1, heads, t, t]), [0, 1])
          : tf.reshape(tf.slice(s, [l, opts.head, 0, 0], [1, 1, t, t]), [t, t]);
      const fused = (eye ? tf.add(tf.mul(layer, 0.5), tf.mul(eye, 0.5)) : layer) as tf.Tensor2D;
      v = tf.matMul(v, fused);
    }
    return tf.reshape(v, [t]) as tf.Tensor1D;
  });
}
