import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Contract } from './types';
import {
  CONTRACT_VERSION,
  checkAgainstGraph,
  contractWarnings,
  recommendedScoreThreshold,
  validateContract,
} from './validate';

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
      // warnings are defined for schema-valid documents of a version this AttnLens reads
      if (!got.includes('schema') && !got.includes('version'))
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

describe('versions (every 1.x is read; minors only add optional fields and roles)', () => {
  it('reads a newer minor, keeps what it does not know and names it in one warning', () => {
    const doc = load('valid-newer-minor.json');
    expect(CONTRACT_VERSION).toBe('1.4');
    expect(validateContract(doc)).toEqual([]);
    expect(contractWarnings(doc)).toEqual([
      {
        code: 'newer-version',
        message:
          "the contract is version 1.7, newer than this AttnLens (1.4); not shown by this version of AttnLens: outputs[3] role 'foo_bar'; model.methods 'gaze-maps'; field provenance; field model.bar; field input.pad_to; field classes[2].parent; field outputs[1].temperature",
      },
    ]);
    expect(doc.outputs[3].role).toBe('foo_bar'); // the document is not changed
  });
  it('still refuses unknown fields at the version it knows (a typo is caught)', () => {
    const errs = validateContract(load('invalid-unknown-field-known-minor.json'));
    expect(errs.map((e) => e.code)).toEqual(['schema']);
    expect(errs[0].message).toBe('model: must NOT have additional properties');
  });
  it("names the document's output index in a newer minor's errors (unknown roles are skipped, not renumbered)", () => {
    expect(validateContract(load('invalid-newer-minor-class-count.json'))).toEqual([
      { code: 'class-count', message: "outputs[1] 'seg_logits' has 8 channels but the contract lists 7 classes" },
    ]);
    const doc = load('invalid-newer-minor-class-count.json');
    doc.outputs[2].stride = 'eight';
    expect(validateContract(doc).map((e) => e.message)).toEqual(['outputs/2/stride: must be integer']);
  });
  it('refuses a newer minor with nothing it can show, and a newer major, asking to update AttnLens', () => {
    expect(validateContract(load('invalid-newer-minor-no-known-output.json'))).toEqual([
      {
        code: 'version',
        message:
          "This model's contract is version 1.5 and none of its outputs has a role this AttnLens knows (it reads up to 1.4) — update AttnLens",
      },
    ]);
    expect(validateContract(load('invalid-future-major-version.json'))).toEqual([
      { code: 'version', message: "This model's contract is version 2.0; this AttnLens reads 1.x — update AttnLens" },
    ]);
  });
});

describe('input normalisation', () => {
  it('refuses a zero std, naming the channel', () => {
    expect(validateContract(load('invalid-std-zero.json'))).toEqual([
      {
        code: 'std-zero',
        message:
          "input.std[1] is 0: pre-processing divides channel 1 by it, which gives infinities and NaN; give the channel's standard deviation (1 leaves it unscaled)",
      },
    ]);
  });
});

describe('softmax box logits', () => {
  it('may end in a no-object column; sigmoid logits may not', () => {
    expect(validateContract(load('valid-detr-softmax-no-object.json'))).toEqual([]);
    expect(validateContract(load('invalid-softmax-label-count.json')).map((e) => e.message)).toEqual([
      "outputs[0] 'logits' has 8 class logits but lists 6 labels (softmax: one column per label, or one more for a last no-object column)",
    ]);
    expect(validateContract(load('invalid-sigmoid-extra-column.json')).map((e) => e.message)).toEqual([
      "outputs[0] 'logits' has 7 class logits but lists 6 labels",
    ]);
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
  it('reports a missing output, a wrong shape and a wrong rank', () => {
    const lying = {
      inputs: [{ name: 'pixels', shape: [3, 160, 160] }],
      outputs: [graph.outputs[0], { name: 'attn', shape: [1, 6, 3, 100] }],
    };
    expect(checkAgainstGraph(c, lying).map((e) => e.code)).toEqual(['input-shape', 'output-shape', 'output-missing']);
  });
  it('accepts axes the graph leaves open (a dynamic batch axis): the contract says what is fed', () => {
    const dynamic = {
      inputs: [{ name: 'pixels', shape: ['batch', 3, 160, -1] }],
      outputs: graph.outputs.map((o) => ({ ...o, shape: ['batch', ...(o.shape ?? []).slice(1)] })),
    };
    expect(checkAgainstGraph(c, dynamic)).toEqual([]);
    const wrong = { ...dynamic, inputs: [{ name: 'pixels', shape: ['batch', 3, 128, 128] }] };
    expect(checkAgainstGraph(c, wrong).map((e) => e.code)).toEqual(['input-shape']);
  });
  it('refuses a dtype lie, naming what the contract and the graph say, and outputs it cannot read', () => {
    const typed = {
      inputs: [{ name: 'pixels', shape: [1, 3, 160, 160], type: 'float16' }],
      outputs: [
        { ...graph.outputs[0], type: 'float16' },
        { ...graph.outputs[1], type: 'int64' },
        ...graph.outputs.slice(2).map((o) => ({ ...o, type: 'float32' })),
      ],
    };
    expect(checkAgainstGraph(c, typed)).toEqual([
      {
        code: 'input-dtype',
        message:
          "input 'pixels' is float16 in the graph but float32 in the contract; AttnLens feeds the dtype the contract says (float32 or float16)",
      },
      {
        code: 'output-dtype',
        message: `outputs[1] '${c.outputs[1].name}' is int64 in the graph; AttnLens reads float32 or float16 outputs`,
      },
    ]);
    const half = { ...c, input: { ...c.input, dtype: 'float16' as const } };
    expect(checkAgainstGraph(half, typed).map((e) => e.code)).toEqual(['output-dtype']);
  });
  it("does not check outputs of roles it does not know (a newer minor's)", () => {
    const doc = load('valid-newer-minor.json') as Contract;
    const g = {
      inputs: [{ name: 'image', shape: [1, 3, 160, 160], type: 'float32' }],
      outputs: doc.outputs
        .filter((o) => o.role !== ('foo_bar' as never))
        .map((o) => ({ name: o.name, shape: o.shape })),
    };
    expect(checkAgainstGraph(doc, g)).toEqual([]);
  });
});
