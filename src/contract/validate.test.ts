import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkAgainstGraph, validateContract } from './validate';
import type { Contract } from './types';

const dir = join(__dirname, '../../contract/examples');
const expected: Record<string, string[]> = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
const load = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

describe('contract validator (shared corpus with the Python half)', () => {
  it('covers every example file', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'expected.json');
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });
  for (const [file, codes] of Object.entries(expected)) {
    it(`${file} → ${codes.length ? codes.join(', ') : 'valid'}`, () => {
      const got = validateContract(load(file)).map((e) => e.code);
      expect(got.includes('schema') ? ['schema'] : got).toEqual(codes);
    });
  }
  it('names the output and the numbers in a semantic error', () => {
    const [err] = validateContract(load('invalid-class-count.json'));
    expect(err.message).toBe("outputs[0] 'seg_logits' has 7 channels but the contract lists 6 classes");
  });
  it('names the token count a self_attention output should have', () => {
    const [err] = validateContract(load('invalid-self-attention-token-count.json'));
    expect(err.message).toBe("outputs[3] 'self_attn' has 400 tokens but grid 20x20 with cls_token='leads' means 401");
  });
  it('points at the offending field in a schema error', () => {
    const errs = validateContract(load('invalid-unknown-role.json'));
    expect(errs.some((e) => e.message.startsWith('outputs/0/role'))).toBe(true);
  });
});

describe('contract against graph', () => {
  const c = load('valid-vit.json') as Contract;
  const graph = {
    inputs: [{ name: 'pixels', shape: [1, 3, 160, 160] }],
    outputs: c.outputs.map((o) => ({ name: o.name, shape: o.shape })),
  };
  it('accepts a graph that matches', () => {
    expect(checkAgainstGraph(c, graph)).toEqual([]);
  });
  it('reports a missing output, a wrong shape and a dynamic input', () => {
    const lying = {
      inputs: [{ name: 'pixels', shape: ['batch', 3, 160, 160] }],
      outputs: [graph.outputs[0], { name: 'attn', shape: [1, 6, 3, 100] }],
    };
    expect(checkAgainstGraph(c, lying).map((e) => e.code)).toEqual(['input-shape', 'output-shape', 'output-missing']);
  });
});
