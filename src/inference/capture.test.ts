/** Choosing graph capture from a graph's facts, and the keep-alive model (read back by onnxruntime-node). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { capturePlan, captureRefusal, gpuBufferSize, keepAliveModel, overridesFor, tensorBytes } from './capture';
import { inputShapes } from './onnxFacts';
import type { GraphIO } from './protocol';

const fixture = (p: string) => new Uint8Array(readFileSync(join(__dirname, '../../tests/fixtures', p)));
const io = (name: string, shape: (number | string)[] | null, type: string | null = 'float32'): GraphIO => ({
  name,
  shape,
  type,
});
const feed = { name: 'image', shape: [1, 3, 160, 160] };

describe('capturePlan', () => {
  it('a zoo-like graph with fixed shapes: captured, outputs sized', () => {
    const plan = capturePlan([io('image', [1, 3, 160, 160])], [io('seg', [1, 7, 160, 160]), io('g', [1, 32])], feed);
    expect(plan).toEqual({
      ok: true,
      overrides: {},
      input: [1, 3, 160, 160],
      outputs: [
        { name: 'seg', type: 'float32', dims: [1, 7, 160, 160], bytes: 7 * 160 * 160 * 4 },
        { name: 'g', type: 'float32', dims: [1, 32], bytes: 128 },
      ],
    });
  });
  it('a symbolic batch fixed by its override: captured, the outputs that carry it sized with it', () => {
    const { overrides, unnamed } = overridesFor(['batch', 3, 160, 160], feed.shape);
    expect(overrides).toEqual({ batch: 1 });
    expect(unnamed).toEqual([]);
    // onnxruntime may still report the symbolic name after the override
    const plan = capturePlan([io('image', ['batch', 3, 160, 160])], [io('logits', ['batch', 2])], feed, overrides);
    expect(plan.ok && plan.outputs[0].dims).toEqual([1, 2]);
  });
  it('an axis open without a name, or not overridden: not captured, and why', () => {
    expect(overridesFor([-1, 3, 160, 160], feed.shape).unnamed).toEqual([0]);
    const unnamed = capturePlan([io('image', [-1, 3, 160, 160])], [io('o', [1, 2])], feed);
    expect(unnamed).toEqual({
      ok: false,
      reason: 'axis 0 of its input is left open without a name, so its size cannot be fixed',
    });
    const named = capturePlan([io('image', ['n', 3, 160, 160])], [io('o', [1, 2])], feed);
    expect(!named.ok && named.reason).toMatch(/axis 0 .*"n"/);
  });
  it('an output whose size depends on the data: not captured (a replay would reuse the first size)', () => {
    const plan = capturePlan([io('image', [1, 3, 160, 160])], [io('boxes', [1, 'num_detections', 4])], feed);
    expect(plan).toEqual({
      ok: false,
      reason: 'the size of its output "boxes" (axis 1, "num_detections") is known only when it runs',
    });
  });
  it('inputs and outputs that cannot live in GPU buffers, several inputs, another input size', () => {
    expect(capturePlan([io('image', [1, 3, 160, 160], 'int64')], [], feed).ok).toBe(false);
    expect(capturePlan([io('image', [1, 3, 160, 160])], [io('s', [1], 'string')], feed)).toEqual({
      ok: false,
      reason: 'its output "s" is string, which cannot stay in a GPU buffer',
    });
    expect(capturePlan([io('image', [1, 3, 160, 160])], [io('m', null, null)], feed).ok).toBe(false);
    expect(capturePlan([io('image', [1, 3, 160, 160]), io('mask', [1, 1])], [], feed).ok).toBe(false);
    expect(capturePlan([io('image', [1, 3, 128, 128])], [], feed)).toEqual({
      ok: false,
      reason: 'its input is [1, 3, 128, 128], not the [1, 3, 160, 160] the app feeds',
    });
  });
  it("onnxruntime's refusals in words", () => {
    expect(
      captureRefusal(
        'This session cannot use the graph capture feature as requested by the user  as all compute graph nodes have not been partitioned to the WebGpuExecutionProvider',
        'create',
      ),
    ).toMatch(/no WebGPU kernel/);
    expect(captureRefusal('boom', 'create')).toBe('onnxruntime could not create a captured session for it');
    expect(captureRefusal('boom', 'run')).toBe('its first captured run failed');
  });
  it('buffer sizes: multiples of 16 bytes', () => {
    expect(gpuBufferSize(0)).toBe(16);
    expect(gpuBufferSize(6)).toBe(16);
    expect(gpuBufferSize(17)).toBe(32);
    expect(tensorBytes('float16', [1, 3])).toBe(6);
    expect(tensorBytes('int64', [2, 2])).toBe(32);
  });
});

describe('inputShapes (from the ONNX bytes, before any session)', () => {
  it('fixed and symbolic axes', () => {
    expect(inputShapes(fixture('corpus/det-classes.onnx')).image).toEqual([1, 3, 160, 160]);
    expect(inputShapes(fixture('corpus/dynamic-batch.onnx')).image).toEqual(['batch', 3, 160, 160]);
    expect(inputShapes(fixture('quadrant-classifier.onnx')).image).toEqual(['batch', 3, 64, 64]);
  });
});

describe('keepAliveModel', () => {
  it('is a valid one-Relu ONNX model', async () => {
    const session = await ort.InferenceSession.create(keepAliveModel());
    expect(session.inputNames).toEqual(['x']);
    const out = await session.run({ x: new ort.Tensor('float32', new Float32Array([-2]), [1]) });
    expect([...(out.y.data as Float32Array)]).toEqual([0]);
    expect(inputShapes(keepAliveModel())).toEqual({ x: [1] });
  });
});
