/** Facts read from the corpus's bytes (ml/scripts/make_bad_models.py), as the failure messages use them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onnxOpset, readOnnxFacts } from './onnxFacts';

const bytes = (name: string) => new Uint8Array(readFileSync(join(__dirname, '../../tests/fixtures/corpus', name)));
const facts = (name: string) => readOnnxFacts(bytes(name))!;

describe('readOnnxFacts', () => {
  it('a plain model: IR, opset, its float32 input, no custom ops, no external data', () => {
    const f = facts('det-classes.onnx');
    expect(f.irVersion).toBe(8);
    expect(onnxOpset(f)).toBe(17);
    expect(f.inputs).toEqual([{ name: 'image', type: 'float32' }]);
    expect(f.customOps).toEqual([]);
    expect(f.externalData).toEqual([]);
    expect(f.nodesByOp.ReduceMean).toEqual(['']);
  });
  it('what each corpus model gets wrong', () => {
    expect(facts('custom-op.onnx').customOps).toEqual([{ domain: 'com.acme', opType: 'FancyPool' }]);
    expect(onnxOpset(facts('opset-30.onnx'))).toBe(30);
    expect(facts('ir-14.onnx').irVersion).toBe(14);
    expect(facts('external.onnx').externalData).toEqual(['external.onnx.data']);
    expect(facts('int64-input.onnx').inputs).toEqual([{ name: 'image', type: 'int64' }]);
    expect(facts('reshape-fail.onnx').nodesByOp.Reshape).toEqual(['bad_reshape']);
    expect(facts('overflow.onnx').nodesByOp.Tile).toEqual(['huge_tile']);
  });
  it('not ONNX: null', () => {
    expect(readOnnxFacts(new Uint8Array(0))).toBeNull();
    expect(readOnnxFacts(bytes('wide-100000x1.png'))).toBeNull();
    expect(readOnnxFacts(bytes('det-classes.onnx').subarray(0, 3000))).toBeNull();
  });
});
