/**
 * Graph capture on WebGPU, the worker's half (capture.ts decides whether; this does it on the device).
 *
 * A captured session is created with `executionProviders: [{ name: 'webgpu' }]` (object form: the string form
 * does not pass the option) and `enableGraphCapture: true`, a symbolic input axis fixed by
 * `freeDimensionOverrides`. Its input is one long-lived GPU buffer (`Tensor.fromGpuBuffer`), written before each
 * replay. Its outputs are onnxruntime's own GPU buffers, the same ones at every replay: onnxruntime-web 1.30
 * drops its registration of a GPU buffer *we* pre-allocate for an output after the first run, and the second
 * run then throws (measured: "Cannot set properties of undefined (setting 'Symbol(gpuBufferMetadata)')"), so
 * the outputs are fetched by name. A replay overwrites them: what the page needs is read back, and what the
 * worker keeps is copied to buffers of its own, both in one submit, before the turn of that model ends.
 */
import type * as Ort from 'onnxruntime-web/webgpu';
import type { ContractInput } from '../contract';
import { capturePlan, captureRefusal, gpuBufferSize, overridesFor } from './capture';
import { toFloat16 } from './float16';
import { inputShapes } from './onnxFacts';
import type { CaptureState, GraphIO } from './protocol';

type OrtModule = typeof Ort;

// GPUBufferUsage / GPUMapMode flags (numbers: the constants are not in every worker's globals' typings)
const MAP_READ = 0x1;
const COPY_SRC = 0x4;
const COPY_DST = 0x8;
const STORAGE = 0x80;
const READ_MODE = 0x1;

export interface Captured {
  device: GPUDevice;
  /** The input buffer every replay reads (bound at the first run, never replaced). */
  input: GPUBuffer;
  feed: Ort.Tensor;
  outputNames: string[];
}

const io = (meta: readonly Ort.InferenceSession.ValueMetadata[]): GraphIO[] =>
  meta.map((m) => ({ name: m.name, shape: m.isTensor ? [...m.shape] : null, type: m.isTensor ? m.type : null }));

/**
 * A captured session of `bytes`, warmed up (shaders compiled, the graph captured) on a zero input; or why not.
 * `options` are the other session options (external data). The device must be kept alive by another session.
 */
export async function openCaptured(
  ort: OrtModule,
  bytes: ArrayBuffer,
  input: ContractInput,
  options: Ort.InferenceSession.SessionOptions,
): Promise<
  | { session: Ort.InferenceSession; captured: Captured; state: CaptureState }
  | { session: null; state: Extract<CaptureState, { used: false }> }
> {
  const declared = inputShapes(new Uint8Array(bytes))[input.name];
  const { overrides, unnamed } = overridesFor(declared, input.shape);
  if (unnamed.length)
    return {
      session: null,
      state: {
        used: false,
        reason: `axis ${unnamed[0]} of its input is left open without a name, so its size cannot be fixed`,
      },
    };
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      ...options,
      executionProviders: [{ name: 'webgpu' }],
      enableGraphCapture: true,
      ...(Object.keys(overrides).length ? { freeDimensionOverrides: overrides } : {}),
    });
  } catch (e) {
    const detail = (e as Error).message ?? String(e);
    return { session: null, state: { used: false, reason: captureRefusal(detail, 'create'), detail } };
  }
  const plan = capturePlan(io(session.inputMetadata), io(session.outputMetadata), input, overrides);
  if (!plan.ok) {
    await session.release();
    return { session: null, state: { used: false, reason: plan.reason } };
  }
  const device = (await ort.env.webgpu.device) as GPUDevice;
  const bytesIn = plan.input.reduce((a, d) => a * d, 1) * (input.dtype === 'float16' ? 2 : 4);
  const buffer = device.createBuffer({ size: gpuBufferSize(bytesIn), usage: STORAGE | COPY_SRC | COPY_DST });
  const captured: Captured = {
    device,
    input: buffer,
    feed: ort.Tensor.fromGpuBuffer(buffer, { dataType: input.dtype, dims: plan.input }),
    outputNames: plan.outputs.map((o) => o.name),
  };
  const t0 = performance.now();
  try {
    writeInput(captured, new Float32Array(bytesIn / (input.dtype === 'float16' ? 2 : 4)), input.dtype);
    const warm = await replay(session, captured, input.name);
    await settle(ort, captured, warm, captured.outputNames.slice(0, 1), []); // waits for the GPU
    for (const t of Object.values(warm)) t.dispose();
  } catch (e) {
    buffer.destroy();
    await session.release().catch(() => undefined);
    const detail = (e as Error).message ?? String(e);
    return { session: null, state: { used: false, reason: captureRefusal(detail, 'run'), detail } };
  }
  return { session, captured, state: { used: true, warmUpMs: performance.now() - t0 } };
}

/** The model input into the captured input buffer (float16 as half-precision bits), before a replay. */
export function writeInput(c: Captured, data: Float32Array, dtype: ContractInput['dtype']): void {
  const typed = dtype === 'float16' ? toFloat16(data) : data;
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  // writeBuffer takes whole 4-byte words
  const padded = bytes.byteLength % 4 ? new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4) : bytes;
  if (padded !== bytes) padded.set(bytes);
  c.device.queue.writeBuffer(c.input, 0, padded.buffer, padded.byteOffset, padded.byteLength);
}

/** One replay of the captured graph on what the input buffer holds; every output, on the GPU. */
export const replay = (session: Ort.InferenceSession, c: Captured, inputName: string) =>
  session.run({ [inputName]: c.feed }, c.outputNames);

export interface ReadTensor {
  data: Uint8Array;
  type: Ort.Tensor.Type;
  dims: number[];
}

/**
 * Read back `read` and copy `keep` to buffers of their own, in one submit and one map: after this the replay's
 * buffers may be overwritten. CPU tensors (a plain session's) are read from their data as they are.
 */
export async function settle(
  ort: OrtModule,
  c: { device: GPUDevice },
  result: Record<string, Ort.Tensor>,
  read: readonly string[],
  keep: readonly string[],
): Promise<{ read: Record<string, ReadTensor>; kept: Record<string, Ort.Tensor> }> {
  const { device } = c;
  const encoder = device.createCommandEncoder();
  const kept: Record<string, Ort.Tensor> = {};
  for (const name of keep) {
    const t = result[name];
    if (t.location !== 'gpu-buffer') {
      kept[name] = t;
      continue;
    }
    const size = gpuBufferSize(byteLength(t));
    const own = device.createBuffer({ size, usage: STORAGE | COPY_SRC | COPY_DST });
    encoder.copyBufferToBuffer(t.gpuBuffer as GPUBuffer, 0, own, 0, Math.min(size, (t.gpuBuffer as GPUBuffer).size));
    kept[name] = ort.Tensor.fromGpuBuffer(own, {
      dataType: t.type as Ort.Tensor.GpuBufferDataTypes,
      dims: t.dims,
      download: async () => {
        const [bytes] = await download(device, [{ buffer: own, bytes: byteLength(t) }]);
        return typedOf(t.type, bytes) as Ort.Tensor.DataTypeMap[Ort.Tensor.GpuBufferDataTypes];
      },
      dispose: () => own.destroy(),
    });
  }
  const onGpu = read.filter((n) => result[n].location === 'gpu-buffer');
  const parts = onGpu.map((n) => ({ buffer: result[n].gpuBuffer as GPUBuffer, bytes: byteLength(result[n]) }));
  const bytes = await download(device, parts, encoder);
  const out: Record<string, ReadTensor> = {};
  for (const name of read) {
    const t = result[name];
    const i = onGpu.indexOf(name);
    const data =
      i >= 0
        ? bytes[i]
        : new Uint8Array((t.data as ArrayBufferView).buffer, (t.data as ArrayBufferView).byteOffset, byteLength(t));
    out[name] = { data, type: t.type, dims: [...t.dims] };
  }
  return { read: out, kept };
}

const BYTES: Record<string, number> = { float16: 2, int64: 8, uint8: 1, int8: 1, bool: 1 };
const byteLength = (t: Ort.Tensor) => t.size * (BYTES[t.type] ?? 4);

/** Bytes as the typed array of their element type (float16 stays as its bits in a Uint16Array). */
export function typedOf(type: string, bytes: Uint8Array): Ort.Tensor.DataType {
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (type === 'float32') return new Float32Array(buf);
  if (type === 'float16') return new Uint16Array(buf);
  if (type === 'int32') return new Int32Array(buf);
  if (type === 'uint32') return new Uint32Array(buf);
  if (type === 'int64') return new BigInt64Array(buf);
  if (type === 'int8') return new Int8Array(buf);
  return new Uint8Array(buf);
}

/** GPU buffers' first bytes, through one staging buffer and one map (after `encoder`'s other commands). */
async function download(
  device: GPUDevice,
  parts: { buffer: GPUBuffer; bytes: number }[],
  encoder = device.createCommandEncoder(),
): Promise<Uint8Array[]> {
  const offsets: number[] = [];
  let total = 0;
  for (const p of parts) {
    offsets.push(total);
    total += gpuBufferSize(p.bytes);
  }
  if (!total) {
    device.queue.submit([encoder.finish()]);
    return [];
  }
  const staging = device.createBuffer({ size: total, usage: MAP_READ | COPY_DST });
  for (const [i, p] of parts.entries())
    encoder.copyBufferToBuffer(p.buffer, 0, staging, offsets[i], Math.min(gpuBufferSize(p.bytes), p.buffer.size));
  device.queue.submit([encoder.finish()]);
  try {
    await staging.mapAsync(READ_MODE);
    const all = staging.getMappedRange();
    return parts.map((p, i) => new Uint8Array(all.slice(offsets[i], offsets[i] + p.bytes)));
  } finally {
    staging.destroy();
  }
}
