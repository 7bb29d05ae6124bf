/** The tfjs rollout (what runs on the GPU in the app) against the plain-TypeScript reference, on tfjs's CPU backend. */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomAttentionStack } from './attentionFixtures';
import { attentionRollout } from './rollout';
import { attentionRolloutTensor } from './rolloutTensor';

describe('attention rollout in tfjs ops', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const [layers, heads, tokens] = [5, 4, 26];
  const stack = randomAttentionStack(layers, heads, tokens, 7, 4);
  const { data } = stack;

  it('matches the reference for head mean and single heads, with and without the identity term', () => {
    for (const head of ['mean', 0, 3] as const)
      for (const identity of [true, false])
        for (const upTo of [0, 4]) {
          const opts = { upTo, identity, head, query: upTo === 4 ? 5 : 0 };
          const t = tf.tensor(data, [1, layers, heads, tokens, tokens]);
          const got = attentionRolloutTensor(t, opts).dataSync();
          t.dispose();
          const want = attentionRollout(stack, opts);
          want.forEach((v, j) => {
            expect(got[j]).toBeCloseTo(v, 5);
          });
        }
  });

  it('leaves no intermediate tensors behind', () => {
    const t = tf.tensor(data, [layers, heads, tokens, tokens]);
    const before = tf.memory().numTensors;
    attentionRolloutTensor(t, { upTo: 4, identity: true, head: 'mean' }).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a stack that is not [1, L, H, T, T]', () => {
    expect(() => attentionRolloutTensor(tf.zeros([2, 3, 4, 5]), { upTo: 0, identity: true, head: 'mean' })).toThrow(
      /expected \[1, L, H, T, T\]/,
    );
  });
});
