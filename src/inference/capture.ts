/**
 * Graph capture on WebGPU, the pure half: whether a model's graph can be captured (static shapes once a
 * symbolic axis is fixed by `freeDimensionOverrides`), the words for why not, and the tiny model whose session
 * keeps onnxruntime-web's WebGPU device alive in a worker.
 *
 * Measured (docs/graph-capture.md): a captured graph replays every zoo model in one submit — 2.3–5.7 ms a run
 * on an H100 instead of 16–40 ms — but it needs every shape fixed, every node on WebGPU, the input in a GPU
 * buffer bound once, and onnxruntime-web destroys its device when its last session is released.
 */
import type { GraphIO } from './protocol';

/** Element types onnxruntime-web can hand over as a GPU buffer. */
export const GPU_BUFFER_TYPES: ReadonlySet<string> = new Set([
  'float32',
  'float16',
  'int32',
  'int64',
  'uint32',
  'uint8',
  'int8',
  'bool',
]);

const BYTES_PER: Record<string, number> = {
  float32: 4,
  float16: 2,
  int32: 4,
  int64: 8,
  uint32: 4,
  uint8: 1,
  int8: 1,
  bool: 1,
};

export interface CapturedOutput {
  name: string;
  type: string;
  dims: number[];
  /** Bytes of the tensor itself. */
  bytes: number;
}

export type CapturePlan =
  | { ok: true; overrides: Record<string, number>; input: number[]; outputs: CapturedOutput[] }
  | { ok: false; reason: string };

/** A buffer size WebGPU accepts for copies and bindings: a multiple of 16 bytes, at least 16. */
export const gpuBufferSize = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);

export const tensorBytes = (type: string, dims: readonly number[]) =>
  dims.reduce((a, d) => a * d, 1) * (BYTES_PER[type] ?? 4);

/**
 * `freeDimensionOverrides` that fix the input to the size the app feeds (`feed`, the contract's input shape):
 * each symbolic axis by its name. An axis left open without a name cannot be fixed: its index is returned.
 */
export function overridesFor(
  declared: readonly (number | string)[] | null | undefined,
  feed: readonly number[],
): { overrides: Record<string, number>; unnamed: number[] } {
  const overrides: Record<string, number> = {};
  const unnamed: number[] = [];
  (declared ?? []).forEach((d, axis) => {
    if (typeof d === 'string') overrides[d] = feed[axis];
    else if (d <= 0) unnamed.push(axis);
  });
  return { overrides, unnamed };
}

/**
 * Can this session's graph be captured, judged from its inputs and outputs as onnxruntime reports them (after
 * `overrides`)? A graph is captured only when every input and output has a fixed size: a replay reuses the
 * buffers of the captured run, so an output whose size depends on the data would be silently wrong.
 */
export function capturePlan(
  inputs: readonly GraphIO[],
  outputs: readonly GraphIO[],
  feed: { name: string; shape: readonly number[] },
  overrides: Record<string, number> = {},
): CapturePlan {
  if (inputs.length !== 1)
    return { ok: false, reason: `it has ${inputs.length} inputs, and only a one-input graph is captured` };
  const input = inputs[0];
  if (input.name !== feed.name || !input.shape || !input.type)
    return { ok: false, reason: `its input is not the tensor "${feed.name}" the contract names` };
  if (input.type !== 'float32' && input.type !== 'float16')
    return { ok: false, reason: `its input is ${input.type}, not float32 or float16` };
  const fixed = (d: number | string): number | null =>
    typeof d === 'number' ? (d > 0 ? d : null) : (overrides[d] ?? null);
  const dims: number[] = [];
  for (const [axis, d] of input.shape.entries()) {
    const n = fixed(d);
    if (n === null)
      return {
        ok: false,
        reason: `axis ${axis} of its input is left open${typeof d === 'string' ? ` ("${d}")` : ' without a name'}, so its size cannot be fixed`,
      };
    dims.push(n);
  }
  if (dims.join() !== feed.shape.join())
    return { ok: false, reason: `its input is [${dims.join(', ')}], not the [${feed.shape.join(', ')}] the app feeds` };
  const planned: CapturedOutput[] = [];
  for (const o of outputs) {
    if (!o.shape || !o.type) return { ok: false, reason: `its output "${o.name}" is not a tensor` };
    if (!GPU_BUFFER_TYPES.has(o.type))
      return { ok: false, reason: `its output "${o.name}" is ${o.type}, which cannot stay in a GPU buffer` };
    const od: number[] = [];
    for (const [axis, d] of o.shape.entries()) {
      const n = fixed(d);
      if (n === null)
        return {
          ok: false,
          reason: `the size of its output "${o.name}" (axis ${axis}${typeof d === 'string' ? `, "${d}"` : ''}) is known only when it runs`,
        };
      od.push(n);
    }
    planned.push({ name: o.name, type: o.type, dims: od, bytes: tensorBytes(o.type, od) });
  }
  return { ok: true, overrides, input: dims, outputs: planned };
}

/** onnxruntime's refusal of a captured session or run, in words (its own text goes folded under them). */
export function captureRefusal(message: string, when: 'create' | 'run'): string {
  if (/not been partitioned to the WebGpuExecutionProvider/i.test(message))
    return 'some of its operators have no WebGPU kernel (they would run on the CPU), and a captured graph runs wholly on the GPU';
  if (/free dimension|symbolic|dynamic|shape/i.test(message))
    return 'onnxruntime found shapes in it that are not fixed';
  return when === 'create' ? 'onnxruntime could not create a captured session for it' : 'its first captured run failed';
}

// --- a one-node ONNX model, written by hand (ModelProto wire format) -------------------------------------

const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
};
const tag = (field: number, wire: number) => varint((field << 3) | wire);
const bytesField = (field: number, body: number[]) => [...tag(field, 2), ...varint(body.length), ...body];
const stringField = (field: number, s: string) => bytesField(field, [...new TextEncoder().encode(s)]);
const intField = (field: number, n: number) => [...tag(field, 0), ...varint(n)];

/** ValueInfoProto of a float32 [1] tensor. */
const floatOne = (name: string): number[] => [
  ...stringField(1, name),
  // TypeProto.tensor_type { elem_type: FLOAT, shape { dim { dim_value: 1 } } }
  ...bytesField(2, bytesField(1, [...intField(1, 1), ...bytesField(2, bytesField(1, intField(1, 1)))])),
];

/**
 * A model of one Relu on a float32 [1] tensor (IR 8, opset 17). A WebGPU session of it is opened once per
 * worker and never released: onnxruntime-web destroys its WebGPU device when its last session goes, and with
 * it every captured graph's buffers and the GPU maths' tfjs backend built on that device.
 */
export function keepAliveModel(): Uint8Array {
  const node = [...stringField(1, 'x'), ...stringField(2, 'y'), ...stringField(3, 'keep'), ...stringField(4, 'Relu')];
  const graph = [
    ...bytesField(1, node),
    ...stringField(2, 'attnlens-keep-device'),
    ...bytesField(11, floatOne('x')),
    ...bytesField(12, floatOne('y')),
  ];
  const opset = [...stringField(1, ''), ...intField(2, 17)];
  return new Uint8Array([
    ...intField(1, 8),
    ...stringField(2, 'attnlens'),
    ...bytesField(7, graph),
    ...bytesField(8, opset),
  ]);
}
