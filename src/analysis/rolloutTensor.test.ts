/** The tfjs rollout (what runs on the GPU in the app) against the plain-TypeScript reference, on tfjs's CPU backend. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { attentionRollout } from './rollout';
import { attentionRolloutTensor } from './rolloutTensor';

function randomStack(layers: number, heads: number, tokens: number): Float32Array {
  let x = 7;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const data = new Float32Array(layers * heads * tokens * tokens);
  for (let r = 0; r < layers * heads * tokens; r++) {
    let sum = 0;
    for (let j = 0; j < tokens; j++) sum += data[r * tokens + j] = Math.exp(4 * rand());
    for (let j = 0; j < tokens; j++) data[r * tokens + j] /= sum;
  }
  return data;
}

describe('attention rollout in tfjs ops', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const [layers, heads, tokens] = [5, 4, 26];
  const data = randomStack(layers, heads, tokens);
  const stack = { data, layers, heads, tokens };

  it('matches the reference for head mean and single heads, with and without the identity term', () => {
    for (const head of ['mean', 0, 3] as const) for (const identity of [true, false]) for (const upTo of [0, 4]) {
      const opts = { upTo, identity, head, query: upTo === 4 ? 5 : 0 };
      const t = tf.tensor(data, [1, layers, heads, tokens, tokens]);
      const got = attentionRolloutTensor(t, opts).dataSync();
      t.dispose();
      const want = attentionRollout(stack, opts);
      want.forEach((v, j) => expect(got[j]).toBeCloseTo(v, 5));
    }
  });

  it('leaves no intermediate tensors behind', () => {
    const t = tf.tensor(data, [layers, heads, tokens, tokens]);
    const before = tf.memory().numTensors;
    attentionRolloutTensor(t, { upTo: 4, identity: true, head: 'mean' }).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a stack that is not [1, L, H, T, T]', () => {
    expect(() => attentionRolloutTensor(tf.zeros([2, 3, 4, 5]), { upTo: 0, identity: true, head: 'mean' })).toThrow(/expected \[1, L, H, T, T\]/);
  });
});
