import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Contract } from '../contract';
import { validateContract } from '../contract';
import { viewOutputs, vitSelfAttention, workerHeldOutputs } from './views';

const load = (f: string) => JSON.parse(readFileSync(join(__dirname, '../../contract/examples', f), 'utf8')) as Contract;

describe('self_attention contract query (1.2)', () => {
  it('finds the full attention stack of a ViT with a leading CLS token and keeps it in the worker', () => {
    const c = load('valid-vit-self-attention.json');
    expect(validateContract(c)).toEqual([]);
    const full = vitSelfAttention(c);
    expect(full?.name).toBe('self_attn');
    expect(full?.shape).toEqual([1, 6, 3, 401, 401]);
    expect(viewOutputs(c)).toEqual(['attn', 'cos']);
    expect(workerHeldOutputs(c)).toEqual(['self_attn']);
  });
  it('is absent for a 1.0 ViT contract, and for a matrix without a CLS token (rollout reads the CLS row)', () => {
    expect(vitSelfAttention(load('valid-vit.json'))).toBeNull();
    expect(viewOutputs(load('valid-vit.json'))).toEqual(['attn', 'cos']);
    expect(workerHeldOutputs(load('valid-vit.json'))).toEqual([]);
    const noCls = load('valid-self-attention-no-cls.json');
    expect(validateContract(noCls)).toEqual([]);
    expect(vitSelfAttention(noCls)).toBeNull();
  });
});
