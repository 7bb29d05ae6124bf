// Types of scripts/bench-report.mjs, for its test (tests/bench-report.test.ts).
export type ByThreads = Record<string | number, number | null>;
export interface ModelRecord {
  id: string;
  node_ms: number | null;
  node_threads: number;
  node_ms_by_threads: ByThreads;
  wasm_node_ms: ByThreads;
  chromium_wasm_ms: ByThreads;
  chromium_threads: number;
  chromium_webgpu_ms: unknown;
  ratios: { chromium_wasm_over_node: ByThreads; chromium_threads_speedup: number | null };
  first_view_ms: { cold: number | null; warm: number | null };
  longest_main_thread_task_ms: { startup: number | null; while_running: number | null };
}
export function jsonTarget(argv: string[]): string | null;
export function paneThreads(status: string | null | undefined): number | null;
export function modelRecord(m: {
  id: string;
  threads: number;
  node: ByThreads;
  wasmNode: ByThreads;
  chromium: ByThreads;
  webgpu?: unknown;
  firstView: { cold: number | null; warm: number | null };
  longest: { startup: number; whileRunning: number };
}): ModelRecord;
export function tableHeader(n: number): string;
export function tableRow(r: ModelRecord): string;
