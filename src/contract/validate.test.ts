import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Contract } from './types';
import { checkAgainstGraph, contractWarnings, recommendedScoreThreshold, validateContract } from './validate';

const dir = join(__dirname, '../../contract/examples');
const expected: Record<string, string[]> = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
const warnings: Record<string, string[]> = JSON.parse(readFileSync(join(dir, 'expected-warnings.json'), 'utf8'));
const load = (f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8'));

describe('contract validator (shared corpus with the Python half)', () => {
  it('covers every example file', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.startsWith('expected'));
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(warnings).filter((f) => !(f in expected))).toEqual([]);
  });
  for (const [file, codes] of Object.entries(expected)) {
    it(`${file} → ${codes.length ? codes.join(', ') : 'valid'}`, () => {
      const doc = load(file);
      const got = validateContract(doc).map((e) => e.code);
      expect(got.includes('schema') ? ['schema'] : got).toEqual(codes);
      // warnings are defined for schema-valid documents
      if (!got.includes('schema'))
        expect(contractWarnings(doc as Contract).map((w) => w.code)).toEqual(warnings[file] ?? []);
    });
  }
  it('treats model.methods as informational: a method without its outputs is a warning', () => {
    const doc = load('warn-hdetr-without-one-to-many.json') as Contract;
    expect(validateContract(doc)).toEqual([]);
    expect(contractWarnings(doc).map((w) => w.message)).toEqual([
      "model.methods lists 'h-detr' but the model exports no one_to_many query block, so its views will not show (methods is informational: the views follow the outputs)",
    ]);
  });
  it('reads the recommended score threshold and rejects a misplaced or out-of-range one', () => {
    expect(recommendedScoreThreshold(load('valid-detr-score-threshold.json'))).toBe(0.35);
    expect(recommendedScoreThreshold(load('valid-hdetr.json'))).toBeNull();
    const [range] = validateContract(load('invalid-score-threshold-range.json'));
    expect(range.code).toBe('schema');
    expect(range.message.startsWith('outputs/0/score_threshold')).toBe(true);
    const [placed] = validateContract(load('invalid-score-threshold-one-to-many.json'));
    expect(placed.message).toBe(
      "outputs[3] 'o2m.logits' gives a score_threshold, but only the one_to_one block's box_logits may: it is the block that makes the detections",
    );
  });
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
