/**
 * Every zoo model through both runtimes the project uses: onnxruntime-node (native) and onnxruntime-web
 * (WASM, here under Node). The contract is read with the TypeScript half from the model bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { describe, expect, it } from 'vitest';
import { type Contract, checkAgainstGraph, loadContract } from '../src/contract';

const root = join(__dirname, '..');
const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8')) as {
  models: { id: string; file: string }[];
};
ortWeb.env.wasm.numThreads = 1;

/** A deterministic, image-like input: smooth colour waves in the normalised range. */
function probeInput(shape: readonly number[]): Float32Array {
  const [, c, h, w] = shape;
  const data = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) data[(k * h + y) * w + x] = Math.sin(0.11 * x * (k + 1)) * Math.cos(0.07 * y) * 1.5;
  return data;
}

type Signature = { name: string; shape: (number | string)[] | null };
const signature = (
  meta: readonly { name: string; isTensor: boolean; shape?: readonly (number | string)[] }[],
): Signature[] => meta.map((m) => ({ name: m.name, shape: m.isTensor && m.shape ? [...m.shape] : null }));

describe.each(index.models)('zoo model $id', ({ id, file }) => {
  const bytes = new Uint8Array(readFileSync(join(root, 'public', file)));
  const loaded = loadContract(bytes);

  it('carries a valid embedded contract', () => {
    expect(loaded.ok ? loaded.source : loaded.problem).toBe('embedded');
    if (loaded.ok) expect(loaded.contract.model.id).toBe(id);
  });

  it('matches its contract and gives the same outputs in onnxruntime-node and onnxruntime-web (WASM)', async () => {
    const contract = (loaded as { contract: Contract }).contract;
    const native = await ortNode.InferenceSession.create(bytes);
    const wasm = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const graph = { inputs: signature(native.inputMetadata), outputs: signature(native.outputMetadata) };
    expect(checkAgainstGraph(contract, graph)).toEqual([]);

    const shape = contract.input.shape;
    const data = probeInput(shape);
    const a = await native.run({ [contract.input.name]: new ortNode.Tensor('float32', data, shape) });
    const b = await wasm.run({ [contract.input.name]: new ortWeb.Tensor('float32', data, shape) });
    for (const out of contract.outputs) {
      expect([...a[out.name].dims]).toEqual(out.shape);
      expect([...b[out.name].dims]).toEqual(out.shape);
      const x = a[out.name].data as Float32Array;
      const y = b[out.name].data as Float32Array;
      let worst = 0;
      for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]) / (1 + Math.abs(x[i])));
      expect(worst, out.name).toBeLessThan(1e-3);
    }
    await native.release();
    await wasm.release();
  });
});

describe('bad model files get a named problem', () => {
  const zooBytes = new Uint8Array(readFileSync(join(root, 'public', index.models[0].file)));
  it('an ONNX file without a contract points at the export kit', () => {
    const r = loadContract(new Uint8Array(readFileSync(join(__dirname, 'fixtures/foreign-relu.onnx'))));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem).toMatch(/no AttnLens contract.*export kit/);
  });
  it('a truncated ONNX file is reported as not a complete model', () => {
    expect(() => loadContract(zooBytes.subarray(0, 5000))).toThrow(/truncated|not a complete ONNX/);
  });
  it('a 0-byte file says it is empty', () => {
    expect(() => loadContract(new Uint8Array(0))).toThrow(/empty \(0 bytes\)/);
  });
  it('a PNG is not mistaken for a model', () => {
    const png = new Uint8Array(readFileSync(join(root, 'public/samples/factory-test-000.png')));
    expect(() => loadContract(png)).toThrow(/not/);
  });
  it('a sidecar contract overrides the embedded one, and a lying sidecar is rejected by name', () => {
    const ok = loadContract(zooBytes);
    if (!ok.ok) throw new Error(ok.problem);
    const lying = structuredClone(ok.contract);
    lying.classes = lying.classes.slice(0, 3);
    const r = loadContract(zooBytes, JSON.stringify(lying));
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.problem).toMatch(
        /sidecar contract is invalid: outputs\[0\] 'seg_logits' has 7 channels but the contract lists 3 classes/,
      );
  });
});
