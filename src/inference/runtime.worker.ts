/// <reference lib="webworker" />
/**
 * An inference worker: one per model (so a stuck or slow model holds back only itself, and can be stopped by
 * terminating its worker), plus one that only decodes and describes images. It owns its model's
 * onnxruntime-web session and the images it decoded, so the UI thread never blocks on a model or on
 * pre-processing. WebGPU when the browser has an adapter (and the user did not ask for WASM), WASM otherwise;
 * the backend actually used, and why a fallback happened, go back to the UI.
 *
 * On WebGPU a model's graph is captured when it allows it (gpuCapture.ts: one submit a run instead of one per
 * kernel), else it runs as a plain WebGPU session, the reason going back with the load; one tiny session per
 * worker is never released, so the device (and what lives on it) outlives every model's session.
 *
 * onnxruntime-web is imported when the first model loads, and a WASM session gets the WASM-only build: the
 * WebGPU build's 28 MB JSEP WebAssembly (compiled in every worker that imports it) is loaded only by workers
 * that run on WebGPU.
 */
import type * as Ort from 'onnxruntime-web/webgpu';
import type { ContractInput } from '../contract';
import { runSaliencyJob } from '../methods/saliency/job';
import { keepAliveModel } from './capture';
import { toFloat16, toFloat32 } from './float16';
import { type Captured, openCaptured, replay, settle, typedOf, writeInput } from './gpuCapture';
import { describeImage, imageFor } from './images';
import { inputShapes } from './onnxFacts';
import { imageToInput } from './preprocess';
import {
  type Backend,
  type BatchImageRun,
  type CaptureState,
  type ClassMapPayload,
  type GraphIO,
  type MathEngine,
  NOT_BATCHABLE,
  NOT_RETAINED,
  type TensorPayload,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol';
import { classMapsOf, RetainedRuns, rolloutOf } from './workerMath';

type OrtModule = typeof Ort;
let ortModule: Promise<OrtModule> | null = null;
let ortBuild: Backend | null = null;
/** WASM threads this worker's runtime started with (fixed for the worker's life), and why 1 where it was forced. */
let ortThreads = 1;
let ortThreadsNote: string | undefined;
/**
 * The onnxruntime-web build for a backend; a worker keeps the first one it imported (WebGPU's includes WASM), with
 * the WASM thread count its first load asked for (src/inference/threads.ts chose it). Threads need this worker to
 * be cross-origin isolated too (its script's response carries COEP): else 1, and onnxruntime is not asked for more.
 */
function runtimeFor(backend: Backend, threads = 1): Promise<OrtModule> {
  if (!ortModule) {
    ortBuild = backend;
    const isolated = (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    ortThreads = isolated ? Math.max(1, Math.floor(threads)) : 1;
    ortThreadsNote = !isolated && threads > 1 ? 'the inference worker is not cross-origin isolated' : undefined;
    ortModule = (
      backend === 'webgpu' ? import('onnxruntime-web/webgpu') : (import('onnxruntime-web/wasm') as Promise<OrtModule>)
    ).then((ort) => {
      ort.env.wasm.numThreads = ortThreads;
      return ort;
    });
  }
  return ortModule;
}
interface Entry {
  session: Ort.InferenceSession;
  input: ContractInput;
  ort: OrtModule;
  /** Its graph is captured: runs write the input buffer and replay. */
  captured?: Captured;
  /**
   * A captured model's batch sessions, one per batch size (graph capture fixes every shape, so N images a run
   * need a session of their own, its batch axis fixed at N); null where that size cannot be captured. They
   * are made from the model's bytes, kept for that.
   */
  batches?: {
    bytes: ArrayBuffer;
    options: Ort.InferenceSession.SessionOptions;
    sizes: Map<number, Promise<BatchSession | null>>;
  };
}
interface BatchSession {
  session: Ort.InferenceSession;
  captured: Captured;
}
const sessions = new Map<string, Entry>();

/**
 * onnxruntime-web destroys its WebGPU device when its last session is released (measured), and with it the
 * buffers of captured graphs and the GPU maths' tfjs backend: a session of a one-node model, opened before the
 * first model's and never released, keeps the device for the worker's life (a model removed and opened again
 * in the same worker finds the same device).
 */
let deviceKeeper: Promise<unknown> | null = null;
const keepDevice = (ort: OrtModule) =>
  (deviceKeeper ??= ort.InferenceSession.create(keepAliveModel(), { executionProviders: [{ name: 'webgpu' }] }));

/** One WebGPU session created at a time: onnxruntime-web refuses a second while one is being created. */
let creating: Promise<unknown> = Promise.resolve();
function oneCreation<T>(job: () => Promise<T>): Promise<T> {
  const mine = creating.then(job);
  creating = mine.catch(() => undefined);
  return mine;
}
/**
 * One session run of a model at a time: a saliency job's runs and an image's run may be asked for together,
 * and a WebGPU session awaits its device mid-run (where the worker reads its next message).
 */
const sessionTurns = new Map<string, Promise<unknown>>();
function inSessionTurn<T>(modelKey: string, job: () => Promise<T>): Promise<T> {
  const mine = (sessionTurns.get(modelKey) ?? Promise.resolve()).then(job);
  const tail = mine.catch(() => undefined);
  sessionTurns.set(modelKey, tail);
  void tail.then(() => sessionTurns.get(modelKey) === tail && sessionTurns.delete(modelKey));
  return mine;
}
const retained = new RetainedRuns();
const post = (msg: WorkerResponse, transfer: Transferable[] = []) =>
  (self as DedicatedWorkerGlobalScope).postMessage(msg, transfer);

type Adapter = {
  info?: { isFallbackAdapter?: boolean; vendor?: string; architecture?: string };
  isFallbackAdapter?: boolean;
};

/** Why WebGPU should not be used automatically, or null when a hardware adapter is there. */
async function webGpuUnsuitable(): Promise<string | null> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
  if (!gpu) return 'this browser has no WebGPU';
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return 'this browser has no WebGPU adapter';
    // A software adapter (SwiftShader) is correct but 50-200x slower than WASM (measured): not worth it.
    if (
      adapter.info?.isFallbackAdapter ||
      adapter.isFallbackAdapter ||
      /swiftshader/i.test(adapter.info?.architecture ?? '')
    )
      return 'the only WebGPU adapter is a software one (slower than WASM)';
    return null;
  } catch (e) {
    return `WebGPU failed to start (${(e as Error).message})`;
  }
}

const io = (meta: readonly Ort.InferenceSession.ValueMetadata[]): GraphIO[] =>
  meta.map((m) => ({ name: m.name, shape: m.isTensor ? [...m.shape] : null, type: m.isTensor ? m.type : null }));

async function load(req: Extract<WorkerRequest, { kind: 'load' }>) {
  let backend: Backend = req.backend === 'wasm' ? 'wasm' : 'webgpu';
  let fallback: string | undefined;
  let fallbackDetail: string | undefined; // the runtime's own text: folded in the pane, never the reason shown
  if (req.backend === 'auto') {
    const why = await webGpuUnsuitable();
    if (why) {
      backend = 'wasm';
      fallback = why;
    }
  }
  const ort = await runtimeFor(backend, req.threads);
  if (backend === 'webgpu' && ortBuild === 'wasm') {
    backend = 'wasm'; // this worker already runs the WASM-only build (a model reloaded on another backend)
    fallback = 'its worker had started on WASM';
  }
  let session: Ort.InferenceSession | null = null;
  let captured: Captured | undefined;
  let capture: CaptureState | undefined;
  // Weights in files beside the model (dropped with it), under the paths the model names.
  const external = req.externalData?.length
    ? { externalData: req.externalData.map((f) => ({ path: f.path, data: new Uint8Array(f.data) })) }
    : {};
  if (backend === 'webgpu')
    try {
      await oneCreation(() => keepDevice(ort));
      if (!req.noCapture) {
        // the warm-up compiles every shader and captures the graph: seconds on a first load, minutes in software
        post({ kind: 'loadPhase', requestId: req.requestId, phase: 'warm-up' });
        const opened = await oneCreation(() => openCaptured(ort, req.bytes, req.input, external));
        capture = opened.state;
        if (opened.session) {
          session = opened.session;
          captured = opened.captured;
        }
      } else capture = { used: false, reason: 'graph capture was turned off for this load' };
    } catch (e) {
      capture = { used: false, reason: 'WebGPU did not start', detail: (e as Error).message };
    }
  if (!session)
    try {
      // Outputs only the worker's own maths read stay on the GPU (no read-back of, say, a 13 MB attention stack).
      const keep =
        backend === 'webgpu' && req.keepOnGpu?.length
          ? { preferredOutputLocation: Object.fromEntries(req.keepOnGpu.map((n) => [n, 'gpu-buffer' as const])) }
          : {};
      session = await oneCreation(() =>
        ort.InferenceSession.create(req.bytes, { executionProviders: [backend], ...keep, ...external }),
      );
    } catch (e) {
      if (backend === 'wasm') throw e;
      fallback = 'WebGPU could not run this model';
      fallbackDetail = (e as Error).message;
      backend = 'wasm';
      capture = undefined;
      session = await ort.InferenceSession.create(req.bytes, { executionProviders: ['wasm'], ...external });
    }
  await release(req.modelKey);
  const batches = captured ? { bytes: req.bytes, options: external, sizes: new Map() } : undefined;
  sessions.set(req.modelKey, { session, input: req.input, ort, captured, batches });
  // A captured session reports its inputs with the symbolic axes it fixed: the page is told the graph's own (an
  // open batch axis is what lets a data set run several images a call, in a batch session of their own).
  const declared = captured ? inputShapes(new Uint8Array(req.bytes)) : {};
  const inputs = io(session.inputMetadata).map((i) => (declared[i.name] ? { ...i, shape: declared[i.name] } : i));
  post({
    kind: 'loaded',
    requestId: req.requestId,
    backend,
    inputs,
    outputs: io(session.outputMetadata),
    fallback,
    fallbackDetail,
    threads: ortThreads,
    threadsNote: ortThreadsNote,
    capture,
  });
}

async function release(modelKey: string) {
  retained.dropModel(modelKey);
  const entry = sessions.get(modelKey);
  sessions.delete(modelKey);
  await entry?.session.release();
  entry?.captured?.input.destroy();
  for (const pending of entry?.batches?.sizes.values() ?? []) {
    const b = await pending;
    await b?.session.release();
    b?.captured.input.destroy();
  }
}

/** The captured session of `entry`'s model at batch `n` (made on first use, warm-up included), or null. */
function capturedBatch(entry: Entry, n: number): Promise<BatchSession | null> {
  const batches = entry.batches!;
  let pending = batches.sizes.get(n);
  if (!pending) {
    const input = { ...entry.input, shape: [n, ...entry.input.shape.slice(1)] as ContractInput['shape'] };
    pending = oneCreation(() => openCaptured(entry.ort, batches.bytes, input, batches.options)).then((opened) =>
      opened.session ? { session: opened.session, captured: opened.captured } : null,
    );
    batches.sizes.set(n, pending);
  }
  return pending;
}

/** Bytes read back from the GPU as float32 for the page (float16 widened). */
const payloadOf = (t: { data: Uint8Array; type: string; dims: number[] }): TensorPayload => ({
  data: toFloat32(typedOf(t.type, t.data), t.type),
  dims: t.dims,
});

/**
 * A replay of a captured graph on `data`: `read` comes back, `keep` stays in the worker (copied to buffers of
 * its own), all inside the model's turn, since the next replay overwrites the graph's outputs.
 */
function runCaptured(entry: Entry, modelKey: string, data: Float32Array, read: string[], keep: string[] = []) {
  const { session, input, ort, captured } = entry;
  const c = captured!;
  return inSessionTurn(modelKey, async () => {
    writeInput(c, data, input.dtype);
    const result = await replay(session, c, input.name);
    try {
      const settled = await settle(ort, c, result, read, keep);
      return {
        outputs: Object.fromEntries(Object.entries(settled.read).map(([n, t]) => [n, payloadOf(t)])),
        kept: settled.kept,
      };
    } finally {
      for (const t of Object.values(result)) t.dispose(); // the handles; the graph keeps its buffers
    }
  });
}

async function run(req: Extract<WorkerRequest, { kind: 'run' }>) {
  const entry = sessions.get(req.modelKey);
  if (!entry) throw new Error(`model ${req.modelKey} is not loaded`);
  const { session, input, ort } = entry;
  const image = await imageFor(req.image);
  const t0 = performance.now();
  const tensor = imageToInput(image, input);
  const keep = req.retainKey ? (req.retain ?? []) : [];
  const ran = (outputs: Record<string, { data: Float32Array; dims: number[] }>) =>
    post(
      {
        kind: 'ran',
        requestId: req.requestId,
        outputs,
        milliseconds: performance.now() - t0,
        placement: tensor.placement,
        width: image.width,
        height: image.height,
      },
      Object.values(outputs).map((o) => o.data.buffer as ArrayBuffer),
    );
  if (entry.captured) {
    const { outputs, kept } = await runCaptured(entry, req.modelKey, tensor.data, req.outputs, keep);
    if (req.retainKey && keep.length) retained.put(req.retainKey, kept);
    ran(outputs);
    return;
  }
  const result = await inSessionTurn(req.modelKey, () =>
    session.run({ [input.name]: feedOf(ort, input, tensor.data, tensor.dims) }, [
      ...new Set([...req.outputs, ...keep]),
    ]),
  );
  const outputs: Record<string, { data: Float32Array; dims: number[] }> = {};
  for (const name of req.outputs) {
    const t = result[name];
    const data = toFloat32(t.location === 'cpu' ? t.data : await t.getData(), t.type); // float16 → float32
    outputs[name] = { data: keep.includes(name) ? data.slice() : data, dims: [...t.dims] };
    if (!keep.includes(name)) t.dispose();
  }
  if (req.retainKey && keep.length) retained.put(req.retainKey, Object.fromEntries(keep.map((n) => [n, result[n]])));
  ran(outputs);
}

/** The input tensor in the contract's dtype (checked against the graph at load): float16 as half-precision bits. */
const feedOf = (ort: typeof Ort, input: ContractInput, data: Float32Array, dims: readonly number[]) =>
  input.dtype === 'float16' ? new ort.Tensor('float16', toFloat16(data), dims) : new ort.Tensor('float32', data, dims);

async function runBatch(req: Extract<WorkerRequest, { kind: 'runBatch' }>) {
  const entry = sessions.get(req.modelKey);
  if (!entry) throw new Error(`model ${req.modelKey} is not loaded`);
  // a captured graph has its batch fixed: N images run in a captured session of batch N, where one can be made
  const batch = entry.captured ? await capturedBatch(entry, req.images.length) : null;
  if (entry.captured && !batch) throw new Error(NOT_BATCHABLE);
  const { session, input, ort } = entry;
  // Each image into its tensor before the next is decoded: the worker keeps only a few decodes (images.ts),
  // and a later one may close an earlier bitmap.
  const t0 = performance.now();
  let decoding = 0; // not counted, as a single run does not count it
  const tensors: ReturnType<typeof imageToInput>[] = [];
  const sizes: { width: number; height: number }[] = [];
  for (const ref of req.images) {
    const d0 = performance.now();
    const image = await imageFor(ref);
    decoding += performance.now() - d0;
    tensors.push(imageToInput(image, input));
    sizes.push({ width: image.width, height: image.height });
  }
  const per = tensors[0].data.length;
  const stacked = new Float32Array(per * tensors.length);
  for (const [i, t] of tensors.entries()) stacked.set(t.data, i * per);
  // outputs read back whole, and segmentation logits reduced to class maps where they are (kept on the GPU)
  const reduce = req.classMaps.filter((n) => req.outputs.includes(n));
  const read = req.outputs.filter((n) => !reduce.includes(n));
  const { outputs, reduced } = batch
    ? await runCaptured({ ...entry, ...batch }, req.modelKey, stacked, read, reduce).then((r) => ({
        outputs: r.outputs,
        reduced: r.kept,
      }))
    : await inSessionTurn(req.modelKey, async () => {
        const feed = feedOf(ort, input, stacked, [tensors.length, ...input.shape.slice(1)]);
        const result = await session.run({ [input.name]: feed }, req.outputs);
        const out: Record<string, TensorPayload> = {};
        for (const name of read) {
          const t = result[name];
          out[name] = {
            data: toFloat32(t.location === 'cpu' ? t.data : await t.getData(), t.type),
            dims: [...t.dims],
          };
          t.dispose();
        }
        return { outputs: out, reduced: Object.fromEntries(reduce.map((n) => [n, result[n]])) };
      });
  const maps: Record<string, ClassMapPayload[]> = {};
  let engine: MathEngine = 'cpu';
  try {
    // An open batch axis on the input does not make every output batched (a constant output stays [1, …]).
    if (
      read.some((name) => outputs[name].dims[0] !== tensors.length) ||
      reduce.some((name) => reduced[name].dims[0] !== tensors.length || reduced[name].dims.length !== 4)
    )
      throw new Error(NOT_BATCHABLE);
    for (const name of reduce) ({ maps: maps[name], engine } = await classMapsOf(reduced[name], mathDevice(ort)));
  } finally {
    for (const t of Object.values(reduced)) t.dispose();
  }
  const runs: BatchImageRun[] = tensors.map((t, i) => ({
    outputs: {},
    classMaps: Object.fromEntries(reduce.map((n) => [n, maps[n][i]])),
    placement: t.placement,
    width: sizes[i].width,
    height: sizes[i].height,
  }));
  for (const name of read) {
    const { data, dims } = outputs[name];
    const size = data.length / tensors.length; // each image's slice along the batch axis
    runs.forEach((run, i) => {
      run.outputs[name] = { data: data.slice(i * size, (i + 1) * size), dims: [1, ...dims.slice(1)] };
    });
  }
  post(
    { kind: 'ranBatch', requestId: req.requestId, runs, milliseconds: performance.now() - t0 - decoding, engine },
    runs.flatMap((r) =>
      [...Object.values(r.outputs), ...Object.values(r.classMaps)].map((o) => o.data.buffer as ArrayBuffer),
    ),
  );
}

/** onnxruntime's GPU device for the worker's own maths; none in the WASM-only build (the maths then runs in TypeScript). */
const mathDevice = (ort: OrtModule) => () =>
  ortBuild === 'webgpu' ? ort.env.webgpu.device : Promise.resolve(undefined);

async function rollout(req: Extract<WorkerRequest, { kind: 'rollout' }>) {
  const stack = retained.get(req.retainKey)?.[req.output];
  if (!stack) throw new Error(NOT_RETAINED);
  const t0 = performance.now();
  const ort = await (ortModule ?? runtimeFor('wasm'));
  const { row, engine } = await rolloutOf(stack, req.options, mathDevice(ort));
  post({ kind: 'rolled', requestId: req.requestId, row, engine, milliseconds: performance.now() - t0 }, [
    row.buffer as ArrayBuffer,
  ]);
}

/** Outputs a run left in the worker, read back for the page (one map for all of them on the GPU). */
async function read(req: Extract<WorkerRequest, { kind: 'read' }>) {
  const run = retained.get(req.retainKey);
  if (!run || req.outputs.some((n) => !run[n])) throw new Error(NOT_RETAINED);
  const ort = await (ortModule ?? runtimeFor('wasm'));
  const onGpu = req.outputs.some((n) => run[n].location === 'gpu-buffer');
  const device = onGpu ? ((await ort.env.webgpu.device) as GPUDevice) : null;
  const outputs: Record<string, TensorPayload> = {};
  if (device) {
    const { read: got } = await settle(ort, { device }, run, req.outputs, []);
    for (const [n, t] of Object.entries(got)) outputs[n] = payloadOf(t);
  } else
    for (const n of req.outputs) {
      const t = run[n];
      outputs[n] = { data: toFloat32(t.data, t.type).slice(), dims: [...t.dims] }; // the kept copy stays
    }
  post(
    { kind: 'readOut', requestId: req.requestId, outputs },
    Object.values(outputs).map((o) => o.data.buffer as ArrayBuffer),
  );
}

/** Saliency jobs under way and those Cancel asked to stop, by request id: a job looks between its batches. */
const runningJobs = new Set<number>();
const stoppedJobs = new Set<number>();

/** Saliency passes over the decoded image: the masked inputs are built here and run through the model's session. */
async function saliency(req: Extract<WorkerRequest, { kind: 'saliency' }>) {
  const entry = sessions.get(req.modelKey);
  if (!entry) throw new Error(`model ${req.modelKey} is not loaded`);
  const { session, input, ort } = entry;
  runningJobs.add(req.requestId); // before any wait: a Cancel may come while the image decodes
  try {
    const image = await imageFor(req.image);
    const t0 = performance.now();
    const tensor = imageToInput(image, input);
    const outcome = await runSaliencyJob({
      job: req.job,
      tensor,
      layout: input.layout,
      image: { width: image.width, height: image.height },
      run: async (data, n, names) => {
        if (entry.captured) {
          if (n !== 1) throw new Error(NOT_BATCHABLE); // the job goes on one picture at a time
          return (await runCaptured(entry, req.modelKey, data, names)).outputs;
        }
        const result = await inSessionTurn(req.modelKey, () =>
          session.run({ [input.name]: feedOf(ort, input, data, [n, ...input.shape.slice(1)]) }, names),
        );
        const out: Record<string, { data: Float32Array; dims: number[] }> = {};
        for (const name of names) {
          const t = result[name];
          out[name] = { data: toFloat32(t.location === 'cpu' ? t.data : await t.getData(), t.type), dims: [...t.dims] };
          t.dispose();
        }
        return out;
      },
      progress: (done, total, batched) =>
        post({ kind: 'saliencyProgress', requestId: req.requestId, done, total, batched }),
      stopped: () => stoppedJobs.has(req.requestId),
    });
    post({ kind: 'saliencyDone', requestId: req.requestId, outcome, milliseconds: performance.now() - t0 }, [
      outcome.map.buffer as ArrayBuffer,
    ]);
  } finally {
    runningJobs.delete(req.requestId);
    stoppedJobs.delete(req.requestId);
  }
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  try {
    if (req.kind === 'describe') {
      const facts = await describeImage(req.blob);
      post({ kind: 'described', requestId: req.requestId, ...facts });
    } else if (req.kind === 'load') await load(req);
    else if (req.kind === 'run') await run(req);
    else if (req.kind === 'runBatch') await runBatch(req);
    else if (req.kind === 'rollout') await rollout(req);
    else if (req.kind === 'read') await read(req);
    else if (req.kind === 'saliency') await saliency(req);
    else if (req.kind === 'cancelSaliency') {
      if (runningJobs.has(req.job)) stoppedJobs.add(req.job);
    } else {
      await release(req.modelKey);
      post({ kind: 'released', requestId: req.requestId });
    }
  } catch (e) {
    post({ kind: 'error', requestId: req.requestId, message: (e as Error).message ?? String(e) });
  }
};
