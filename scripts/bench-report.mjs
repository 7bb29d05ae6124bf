// Pure pieces of `npm run bench`'s model section (tested in tests/bench-report.test.ts): the `--json FILE`
// argument, the thread count a pane names, one model's figures as a JSON record, and its printed row.

/** FILE of `--json FILE` (or `--json=FILE`) in argv; null when absent. Throws when FILE is missing. */
export function jsonTarget(argv) {
  const i = argv.findIndex((a) => a === '--json' || a.startsWith('--json='));
  if (i < 0) return null;
  const file = argv[i].startsWith('--json=') ? argv[i].slice('--json='.length) : argv[i + 1];
  if (!file || file.startsWith('--')) throw new Error('--json needs a file name: npm run bench -- --json bench.json');
  return file;
}

/** The WASM threads a pane's status line names ("wasm, 2 threads · 35 ms · mask" → 2); null for another backend. */
export function paneThreads(status) {
  const m = /^wasm, (\d+) threads? ·/.exec(status ?? '');
  return m ? Number(m[1]) : null;
}

const round = (v, digits = 1) => (v == null || !Number.isFinite(v) ? null : Number(v.toFixed(digits)));
const byThreads = (o, digits = 1) => Object.fromEntries(Object.entries(o).map(([t, v]) => [t, round(v, digits)]));

/**
 * One model's figures for `--json` (milliseconds; medians of runs):
 *   node       onnxruntime-node by intra-op threads, e.g. { 1: 12.6, 2: 8.1 }
 *   wasmNode   onnxruntime-web WASM under Node by threads
 *   chromium   chromium WASM (the app's worker) by threads; null where the app did not run the model
 *   threads    the count the app chose (or BENCH_THREADS asked for)
 *   webgpu     what scripts/bench-gpu.mjs's benchChromiumWebGpu measured (any shape), null when not measured
 *   firstView  { cold, warm }: page open → overlay drawn, empty cache vs a second visit
 *   longest    { startup, whileRunning }: the longest main-thread task
 * Ratios are chromium / native at equal threads.
 */
export function modelRecord({ id, threads, node, wasmNode, chromium, webgpu = null, firstView, longest }) {
  const ratio = (t) => (chromium[t] == null || !node[t] ? null : round(chromium[t] / node[t], 2));
  return {
    id,
    node_ms: round(node[threads]),
    node_threads: threads,
    node_ms_by_threads: byThreads(node),
    wasm_node_ms: byThreads(wasmNode),
    chromium_wasm_ms: byThreads(chromium),
    chromium_threads: threads,
    chromium_webgpu_ms: webgpu ?? null,
    ratios: {
      chromium_wasm_over_node: Object.fromEntries(Object.keys(chromium).map((t) => [t, ratio(t)])),
      chromium_threads_speedup: chromium[1] && chromium[threads] ? round(chromium[1] / chromium[threads], 2) : null,
    },
    first_view_ms: { cold: round(firstView.cold, 0), warm: round(firstView.warm, 0) },
    longest_main_thread_task_ms: { startup: round(longest.startup, 0), while_running: round(longest.whileRunning, 0) },
  };
}

const cell = (v, w, digits = 1) =>
  (v == null ? '–' : typeof v === 'number' ? v.toFixed(digits) : String(v)).padStart(w);

/** The header of the printed table for a chosen thread count `n` (at 1, the Nt columns would repeat: left out). */
export function tableHeader(n) {
  const nt = (title, w) => (n === 1 ? '' : ` ${`${title} ${n}t`.padStart(w)}`);
  return (
    `${'model'.padEnd(30)} ${'node 1t'.padStart(8)}${nt('node', 8)} ${'wasm(node) 1t'.padStart(13)}` +
    ` ${'chromium 1t'.padStart(11)}${nt('chromium', 11)} ${'ratio 1t'.padStart(8)}${nt('ratio', 8)}` +
    `  ${'first view cold / warm ms'.padStart(25)}  longest task start-up / while running (ms)`
  );
}

/** One model's printed row (the record's figures; `webgpu` as the hook's `ms`, when it gave one). */
export function tableRow(r) {
  const n = r.chromium_threads;
  const nt = (v, w, digits) => (n === 1 ? '' : ` ${cell(v, w, digits)}`);
  const row =
    `${r.id.padEnd(30)} ${cell(r.node_ms_by_threads[1], 8)}${nt(r.node_ms_by_threads[n], 8)}` +
    ` ${cell(r.wasm_node_ms[1], 13)} ${cell(r.chromium_wasm_ms[1], 11, 0)}${nt(r.chromium_wasm_ms[n], 11, 0)}` +
    ` ${cell(r.ratios.chromium_wasm_over_node[1], 8)}${nt(r.ratios.chromium_wasm_over_node[n], 8)}` +
    `  ${`${cell(r.first_view_ms.cold, 0, 0)} / ${cell(r.first_view_ms.warm, 0, 0)}`.padStart(25)}` +
    `  ${cell(r.longest_main_thread_task_ms.startup, 0, 0)} / ${cell(r.longest_main_thread_task_ms.while_running, 0, 0)}`;
  const gpu = r.chromium_webgpu_ms;
  return gpu == null ? row : `${row}  webgpu ${typeof gpu === 'number' ? gpu.toFixed(1) : JSON.stringify(gpu)}`;
}
