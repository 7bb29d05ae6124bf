// `npm run bench -- --gpu`: every zoo model through onnxruntime-web's own WebGPU build (the app's
// `onnxruntime-web/webgpu` bundle) under Node, on a GPU reached through Dawn (the npm package `webgpu`), no
// browser. Per model: the first session's creation time; a default session (CPU input, every output read back)
// against a captured graph (input in one GPU buffer, one replay, outputs read back: all, or only the first —
// what a pane draws), median ms; each one's largest difference from onnxruntime-node's CPU outputs. Then batches:
// every zoo model (its batch axis is open) fixed by freeDimensionOverrides at 1, 8 and 64, ms per image.
//   --runs N        timed runs per figure (default 20 on a hardware adapter, 2 on a software one)
//   --json FILE     the same figures as JSON
//   --software      use software Vulkan (chromium's SwiftShader) even if a hardware adapter exists
// With no hardware adapter it says what Dawn printed and goes on with SwiftShader's Vulkan driver from Debian's
// chromium (VK_ICD_FILENAMES): correct, 50–200× slow — its times are not speed.
// Needs the Vulkan loader (Debian: libvulkan1; an NVIDIA driver also needs libglvnd0, libegl1, libgl1, libglx0,
// libopengl0, libgles2): `node scripts/setup.mjs --gpu` installs them.
//
// benchChromiumWebGpu() (exported) times the app's own inference worker in chromium with and without graph
// capture, when chromium's adapter is a hardware one (skipped, and said so, on a software adapter).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupGpu, setupNode } from './setup.mjs';

const here = fileURLToPath(import.meta.url);
const root = join(here, '../..');
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const median = (t) => [...t].sort((a, b) => a - b)[t.length >> 1];
const arg = (argv, name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);

/** The software adapters: Dawn's and chromium's SwiftShader, or one the adapter itself calls a fallback. */
export const isSoftware = (info) =>
  !!info &&
  (info.isFallbackAdapter ||
    /swiftshader|llvmpipe|lavapipe|software/i.test(
      `${info.vendor} ${info.architecture} ${info.device} ${info.description}`,
    ));

// ---------------------------------------------------------------------------------------------------------
// The parent: find an adapter (in a child, so that Dawn's own messages can be shown), then run the bench in a
// child with the environment that found it.

function probe(env) {
  const r = spawnSync(process.execPath, [here, '--probe'], { env, encoding: 'utf8', timeout: 120_000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  return { info: line ? JSON.parse(line) : null, said: `${r.stderr}`.trim(), status: r.status };
}

export async function main(argv) {
  setupNode();
  setupGpu(); // the Vulkan loader Dawn opens (and the GL libraries an NVIDIA driver needs)
  const software = argv.includes('--software');
  let env = { ...process.env };
  let found = software ? { info: null, said: '' } : probe(env);
  if (!found.info || isSoftware(found.info)) {
    if (!software) {
      console.log(
        found.info
          ? `Dawn found only a software adapter (${describe(found.info)}).`
          : `Dawn found no WebGPU adapter${found.said ? `; it printed:\n${indent(found.said)}` : ' (and printed nothing)'}`,
      );
      if (/libvulkan/.test(found.said)) console.log('  (the Vulkan loader is missing: node scripts/setup.mjs --gpu)');
    }
    if (!existsSync(SWIFTSHADER_ICD)) {
      console.log(`No GPU and no ${SWIFTSHADER_ICD} (Debian's chromium) for software Vulkan: nothing to measure.`);
      return 1;
    }
    env = { ...env, VK_ICD_FILENAMES: SWIFTSHADER_ICD };
    found = probe(env);
    if (!found.info) {
      console.log(`Dawn found no adapter on software Vulkan either; it printed:\n${indent(found.said || '(nothing)')}`);
      return 1;
    }
  }
  const r = spawnSync(process.execPath, [here, '--run', ...argv], { env, stdio: 'inherit' });
  return r.status ?? 1;
}

const describe = (i) =>
  [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' / ') || 'no vendor or device named';
const indent = (s) =>
  s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

// ---------------------------------------------------------------------------------------------------------
// Node + Dawn as onnxruntime-web needs them

async function installWebGpu() {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // onnxruntime-web writes its uploads from views of its (shared) WebAssembly memory; Dawn's writeBuffer refuses
  // a SharedArrayBuffer ("Invalid argument"): hand it a copy.
  const write = globals.GPUQueue.prototype.writeBuffer;
  globals.GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset = 0, size) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const per = data.BYTES_PER_ELEMENT ?? 1;
      const n = size ?? data.length - dataOffset;
      const copy = new Uint8Array(data.buffer, data.byteOffset + dataOffset * per, n * per).slice();
      return write.call(this, buffer, offset, copy);
    }
    return write.call(this, buffer, offset, data, dataOffset, size);
  };
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(globalThis.navigator ?? {}), gpu },
    configurable: true,
  });
  return gpu;
}

async function adapterInfo(gpu) {
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  const i = adapter.info ?? {};
  return {
    vendor: i.vendor ?? '',
    architecture: i.architecture ?? '',
    device: i.device ?? '',
    description: i.description ?? '',
    isFallbackAdapter: !!(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
  };
}

// GPUBufferUsage, GPUMapMode
const MAP_READ = 1;
const COPY_SRC = 4;
const COPY_DST = 8;
const STORAGE = 128;
const size16 = (n) => Math.max(16, Math.ceil(n / 16) * 16);

/** Every tensor's bytes through one staging buffer and one map. */
async function readBack(device, tensors) {
  const offsets = [];
  let total = 0;
  for (const t of tensors) {
    offsets.push(total);
    total += size16(t.size * 4);
  }
  const staging = device.createBuffer({ size: total, usage: MAP_READ | COPY_DST });
  const enc = device.createCommandEncoder();
  tensors.forEach((t, i) => {
    enc.copyBufferToBuffer(t.gpuBuffer, 0, staging, offsets[i], Math.min(size16(t.size * 4), t.gpuBuffer.size));
  });
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(MAP_READ);
  const all = staging.getMappedRange();
  const out = tensors.map((t, i) => new Float32Array(all.slice(offsets[i], offsets[i] + t.size * 4)));
  staging.destroy();
  return out;
}

const maxDiff = (a, b) => {
  if (!a || !b || a.length !== b.length) return Number.NaN;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

/** A deterministic input in [0, 1] (two of them differ), so that a replay on stale input would show. */
function inputOf(dims, seed) {
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 0.5 + 0.5 * Math.sin(i * 0.0137 + seed * 1.7);
  return x;
}

async function timed(runs, fn) {
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn(i);
    t.push(performance.now() - t0);
  }
  return median(t);
}

// ---------------------------------------------------------------------------------------------------------
// The bench proper (in the child)

async function run(argv) {
  const gpu = await installWebGpu();
  const info = await adapterInfo(gpu);
  const software = isSoftware(info);
  const runs = Number(arg(argv, '--runs') ?? (software ? 2 : 20));
  const json = arg(argv, '--json');
  console.log(`\n=== onnxruntime-web WebGPU under Node (Dawn, npm 'webgpu') ===`);
  console.log(`adapter: ${describe(info)}${software ? '  [SOFTWARE adapter]' : ''}`);
  if (software)
    console.log(
      'A software adapter (SwiftShader on the CPU): the times below are NOT speed — they check correctness only.',
    );
  console.log(`runs per figure: ${runs} (median)\n`);
  const ortNode = await import('onnxruntime-node');
  const ort = await import('onnxruntime-web/webgpu');
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8'));
  const only = arg(argv, '--models')?.split(',');
  const models = index.models.filter((m) => !only || only.includes(m.id));
  const results = { adapter: { ...info, software }, runs, models: [], batches: [] };

  // one session kept open for the whole process: onnxruntime-web destroys its device with its last session
  const t0 = performance.now();
  const first = await ort.InferenceSession.create(readFileSync(join(root, 'public', models[0].file)), {
    executionProviders: ['webgpu'],
  });
  results.first_session_ms = performance.now() - t0;
  console.log(`first session of the process (device, pipeline caches): ${results.first_session_ms.toFixed(0)} ms`);
  const device = await ort.env.webgpu.device;

  const header =
    'model                          create ms  default ms  capture ms  capture 1st  max|Δ| def  max|Δ| cap';
  console.log(`\n${header}`);
  for (const m of models) {
    const bytes = readFileSync(join(root, 'public', m.file));
    const row = { id: m.id };
    try {
      Object.assign(row, await benchModel(ort, ortNode, device, bytes, runs));
    } catch (e) {
      row.error = String(e.message ?? e).split('\n')[0];
    }
    results.models.push(row);
    const f = (v, d = 1) => (v === undefined ? '—' : Number.isNaN(v) ? 'NaN' : v.toFixed(d));
    const e = (v) => (v === undefined ? '—' : v.toExponential(1));
    console.log(
      row.error
        ? `${m.id.padEnd(30)} ${row.error}`
        : `${m.id.padEnd(30)} ${f(row.create_ms, 0).padStart(9)} ${f(row.default_ms).padStart(11)} ${f(row.capture_ms).padStart(11)} ${f(row.capture_first_output_ms).padStart(12)} ${e(row.default_max_abs_diff).padStart(11)} ${e(row.capture_max_abs_diff).padStart(10)}`,
    );
  }
  console.log(
    '\ndefault: CPU input, every output read back. capture: the input written into its GPU buffer, one replay, every' +
      '\noutput read back in one map (capture 1st: only the first output, what a pane draws). max|Δ|: against' +
      '\nonnxruntime-node (CPU), on two different inputs in a row.',
  );

  console.log('\nbatches (graphs with an open batch axis, fixed per session by freeDimensionOverrides; captured)');
  console.log('model                       batch   ms/run  ms/image  max|Δ| vs node');
  // the zoo (its batch axis is open: ml/attnlens_ml/batch_axis.py), then a fixture whose outputs do not carry it
  const batchFiles = [...models.map((m) => `public/${m.file}`), 'tests/fixtures/corpus/dynamic-batch.onnx'];
  for (const file of batchFiles) {
    const bytes = readFileSync(join(root, file));
    for (const batch of [1, 8, 64]) {
      const row = { file, batch };
      try {
        Object.assign(row, await benchBatch(ort, ortNode, device, bytes, batch, runs));
      } catch (e) {
        row.error = String(e.message ?? e).split('\n')[0];
      }
      results.batches.push(row);
      const name = file.split('/').pop().padEnd(27);
      const note = row.unbatched ? `  (outputs ${row.unbatched}: not one per image)` : '';
      console.log(
        row.error
          ? `${name} ${String(batch).padStart(5)}   ${row.error}`
          : `${name} ${String(batch).padStart(5)} ${row.ms.toFixed(2).padStart(8)} ${(row.ms / batch).toFixed(3).padStart(9)}  ${row.max_abs_diff.toExponential(1)}${note}`,
      );
    }
  }
  if (software) console.log('\n(software adapter: the times above are not speed)');
  await first.release();
  if (json) {
    writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${json}`);
  }
  return 0;
}

async function benchModel(ort, ortNode, device, bytes, runs) {
  const native = await ortNode.InferenceSession.create(bytes);
  const meta = native.inputMetadata[0];
  const dims = meta.shape.map((d) => (typeof d === 'number' ? d : 1));
  const inputs = [inputOf(dims, 0), inputOf(dims, 1)];
  const name = native.inputNames[0];
  const want = [];
  for (const x of inputs) want.push(await native.run({ [name]: new ortNode.Tensor('float32', x, dims) }));
  const names = native.outputNames;
  const row = {};

  // the default session, as the app ran models before graph capture
  let t0 = performance.now();
  const plain = await ort.InferenceSession.create(bytes, { executionProviders: ['webgpu'], logSeverityLevel: 3 });
  row.create_ms = performance.now() - t0;
  const feed = (x) => ({ [name]: new ort.Tensor('float32', x, dims) });
  row.default_max_abs_diff = 0;
  for (const [k, x] of inputs.entries()) {
    const out = await plain.run(feed(x));
    for (const n of names)
      row.default_max_abs_diff = Math.max(row.default_max_abs_diff, maxDiff(out[n].data, want[k][n].data));
  }
  row.default_ms = await timed(runs, () => plain.run(feed(inputs[0])));
  await plain.release();

  // the captured graph: input in one GPU buffer, outputs onnxruntime's own (the same buffers every replay)
  t0 = performance.now();
  const captured = await ort.InferenceSession.create(bytes, {
    executionProviders: [{ name: 'webgpu' }],
    enableGraphCapture: true,
    logSeverityLevel: 3, // not onnxruntime's warning that shape ops run on the CPU, amid the table
  });
  row.capture_create_ms = performance.now() - t0;
  const buffer = device.createBuffer({ size: size16(inputs[0].byteLength), usage: STORAGE | COPY_SRC | COPY_DST });
  const gpuIn = { [name]: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims }) };
  const replay = async (x, read) => {
    device.queue.writeBuffer(buffer, 0, x);
    const out = await captured.run(gpuIn, names);
    const data = await readBack(
      device,
      read.map((n) => out[n]),
    );
    for (const t of Object.values(out)) t.dispose();
    return data;
  };
  t0 = performance.now();
  await replay(inputs[1], names.slice(0, 1)); // warm-up: shaders compiled, graph captured
  row.capture_first_run_ms = performance.now() - t0;
  row.capture_max_abs_diff = 0;
  for (const [k, x] of inputs.entries()) {
    const got = await replay(x, names);
    names.forEach((n, j) => {
      row.capture_max_abs_diff = Math.max(row.capture_max_abs_diff, maxDiff(got[j], want[k][n].data));
    });
  }
  row.capture_ms = await timed(runs, (i) => replay(inputs[i % 2], names));
  row.capture_first_output_ms = await timed(runs, (i) => replay(inputs[i % 2], names.slice(0, 1)));
  await captured.release();
  buffer.destroy();
  await native.release();
  return row;
}

async function benchBatch(ort, ortNode, device, bytes, batch, runs) {
  const native = await ortNode.InferenceSession.create(bytes);
  const name = native.inputNames[0];
  const declared = native.inputMetadata[0].shape;
  const symbol = declared.find((d) => typeof d === 'string');
  if (!symbol) throw new Error('no symbolic batch axis');
  const dims = declared.map((d) => (typeof d === 'number' ? d : batch));
  const x = inputOf(dims, 3);
  const want = await native.run({ [name]: new ortNode.Tensor('float32', x, dims) });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [{ name: 'webgpu' }],
    enableGraphCapture: true,
    freeDimensionOverrides: { [symbol]: batch },
    logSeverityLevel: 3,
  });
  const names = session.outputNames;
  const buffer = device.createBuffer({ size: size16(x.byteLength), usage: STORAGE | COPY_SRC | COPY_DST });
  const feed = { [name]: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims }) };
  const once = async () => {
    device.queue.writeBuffer(buffer, 0, x);
    const out = await session.run(feed, names);
    const data = await readBack(
      device,
      names.map((n) => out[n]),
    );
    for (const t of Object.values(out)) t.dispose();
    return data;
  };
  const got = await once();
  // an open batch axis on the input does not make every output batched
  const unbatched = names.filter((n) => want[n].dims[0] !== batch).join(', ');
  let worst = 0;
  names.forEach((n, j) => {
    worst = Math.max(worst, maxDiff(got[j], want[n].data));
  });
  const ms = await timed(runs, once);
  await session.release();
  buffer.destroy();
  await native.release();
  return { ms, ms_per_image: ms / batch, max_abs_diff: worst, ...(unbatched ? { unbatched } : {}) };
}

// ---------------------------------------------------------------------------------------------------------
// Chromium: the app's own inference worker with and without graph capture (for scripts/bench.mjs)

/**
 * Times zoo models in chromium's WebGPU through the built app's inference worker, captured and plain, when
 * chromium's adapter is a hardware one. `page` is a page of the served build (any URL of its origin);
 * `outDir` the build folder (to find the worker's chunk). Returns { adapter, skipped? , models: [{ id,
 * capture_ms, plain_ms, capture }] }, milliseconds as the worker reports a run (pre-processing, run, read-back
 * of every output), median over `runs` after a warm-up; on a software adapter `skipped` says why (unless
 * `allowSoftware`: a correctness smoke test, whose times are not speed).
 */
export async function benchChromiumWebGpu(
  page,
  { appUrl, outDir, modelIds, runs = 20, sample = 'factory-test-001.png', allowSoftware = false },
) {
  const adapter = await page.evaluate(async () => {
    const a = await navigator.gpu?.requestAdapter();
    if (!a) return null;
    const i = a.info ?? {};
    return {
      vendor: i.vendor,
      architecture: i.architecture,
      device: i.device,
      description: i.description,
      isFallbackAdapter: !!(i.isFallbackAdapter ?? a.isFallbackAdapter),
    };
  });
  if (!adapter) return { adapter, skipped: 'chromium has no WebGPU adapter', models: [] };
  if (isSoftware(adapter) && !allowSoftware)
    return {
      adapter,
      skipped: `chromium's only WebGPU adapter is a software one (${describe(adapter)}): its times would not be speed`,
      models: [],
    };
  const chunk = readdirSync(join(outDir, 'assets')).find((f) => /^runtime\.worker-.*\.js$/.test(f));
  const index = JSON.parse(readFileSync(join(root, 'public/models/index.json'), 'utf8'));
  const out = [];
  for (const id of modelIds) {
    const file = index.models.find((m) => m.id === id)?.file;
    const bytes = readFileSync(join(root, 'public', file));
    const input = (await contractOf(bytes)).input;
    const row = await page.evaluate(
      async ({ url, image, id, bytes, input, runs, sample }) => {
        const times = {};
        let capture;
        for (const mode of ['capture', 'plain']) {
          const w = new Worker(url, { type: 'module' });
          let next = 1;
          const call = (msg) =>
            new Promise((resolve, reject) => {
              const requestId = next++;
              w.onmessage = (e) => {
                if (e.data.requestId !== requestId || e.data.kind === 'loadPhase') return;
                if (e.data.kind === 'error') reject(new Error(e.data.message));
                else resolve(e.data);
              };
              w.postMessage({ ...msg, requestId });
            });
          const loaded = await call({
            kind: 'load',
            modelKey: id,
            bytes: new Uint8Array(bytes).buffer,
            backend: 'webgpu',
            input,
            noCapture: mode === 'plain',
          });
          if (mode === 'capture') capture = loaded.capture;
          const blob = await (await fetch(image)).blob();
          const outputs = loaded.outputs.map((o) => o.name);
          const once = async () =>
            (await call({ kind: 'run', modelKey: id, image: { id: sample, blob }, outputs })).milliseconds;
          await once();
          const t = [];
          for (let i = 0; i < runs; i++) t.push(await once());
          t.sort((a, b) => a - b);
          times[mode] = t[t.length >> 1];
          w.terminate();
        }
        return { capture_ms: times.capture, plain_ms: times.plain, capture };
      },
      {
        url: `${appUrl}assets/${chunk}`,
        image: `${appUrl}samples/${sample}`,
        id,
        bytes: [...bytes],
        input,
        runs,
        sample,
      },
    );
    out.push({ id, ...row });
  }
  return { adapter, models: out };
}

/** The contract embedded in a model (ModelProto.metadata_props = 14, key 'attnlens.contract'). */
async function contractOf(bytes) {
  const { BinaryReader, WireType } = await import('@bufbuild/protobuf/wire');
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 14 || wire !== WireType.LengthDelimited) {
      r.skip(wire);
      continue;
    }
    const e = new BinaryReader(r.bytes());
    let key = '';
    let value = '';
    while (e.pos < e.len) {
      const [f, w] = e.tag();
      if (f === 1) key = e.string();
      else if (f === 2) value = e.string();
      else e.skip(w);
    }
    if (key === 'attnlens.contract') return JSON.parse(value);
  }
  throw new Error('no embedded contract');
}

// ---------------------------------------------------------------------------------------------------------

if (process.argv[1] === here) {
  if (process.argv.includes('--probe')) {
    const gpu = await installWebGpu();
    console.log(JSON.stringify(await adapterInfo(gpu)));
    process.exit(0);
  } else if (process.argv.includes('--run')) process.exit(await run(process.argv));
  else process.exit(await main(process.argv.slice(2)));
}
