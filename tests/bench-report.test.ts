/** The pure pieces of `npm run bench`'s model section (scripts/bench-report.mjs). */
import { describe, expect, it } from 'vitest';
import { jsonTarget, modelRecord, paneThreads, tableHeader, tableRow } from '../scripts/bench-report.mjs';
import { backendLabel } from '../src/inference/threads';

const figures = {
  id: 'seg-teacher',
  threads: 2,
  node: { 1: 12.64, 2: 8.02 },
  wasmNode: { 1: 44.31 },
  chromium: { 1: 131, 2: 90 },
  firstView: { cold: 4210.4, warm: 1820 },
  longest: { startup: 312.2, whileRunning: 48 },
};

describe('bench report', () => {
  it('--json FILE / --json=FILE; a missing file is an error', () => {
    expect(jsonTarget(['--json', 'out.json'])).toBe('out.json');
    expect(jsonTarget(['--views', '--json=b.json'])).toBe('b.json');
    expect(jsonTarget(['--views'])).toBeNull();
    expect(() => jsonTarget(['--json'])).toThrow(/--json needs a file name/);
    expect(() => jsonTarget(['--json', '--views'])).toThrow(/--json needs a file name/);
  });

  it("reads the thread count off the pane's backend line (as the app writes it)", () => {
    expect(paneThreads(`${backendLabel({ backend: 'wasm', threads: 2 })} · 35 ms · mask`)).toBe(2);
    expect(paneThreads(`${backendLabel({ backend: 'wasm', threads: 1 })} · running`)).toBe(1);
    expect(paneThreads(`${backendLabel({ backend: 'webgpu', threads: 4 })} · 35 ms · mask`)).toBeNull();
    expect(paneThreads(undefined)).toBeNull();
  });

  it('one record per model: native and chromium by threads, ratios at equal threads, first view, longest task', () => {
    expect(modelRecord(figures)).toEqual({
      id: 'seg-teacher',
      node_ms: 8,
      node_threads: 2,
      node_ms_by_threads: { 1: 12.6, 2: 8 },
      wasm_node_ms: { 1: 44.3 },
      chromium_wasm_ms: { 1: 131, 2: 90 },
      chromium_threads: 2,
      chromium_webgpu_ms: null,
      ratios: { chromium_wasm_over_node: { 1: 10.36, 2: 11.22 }, chromium_threads_speedup: 1.46 },
      first_view_ms: { cold: 4210, warm: 1820 },
      longest_main_thread_task_ms: { startup: 312, while_running: 48 },
    });
  });

  it('a model the app does not run (nothing to overlay) has no chromium time nor ratio; 1 thread chosen: one column', () => {
    const r = modelRecord({ ...figures, threads: 1, node: { 1: 5 }, chromium: { 1: null }, webgpu: { ms: 3.2 } });
    expect(r.chromium_wasm_ms).toEqual({ 1: null });
    expect(r.ratios).toEqual({ chromium_wasm_over_node: { 1: null }, chromium_threads_speedup: null });
    expect(r.chromium_webgpu_ms).toEqual({ ms: 3.2 });
    // one thread chosen: the Nt columns would repeat the 1t ones, so they are left out
    expect(tableHeader(1)).not.toMatch(/node 1t +node 1t/);
    expect(tableRow(r)).toMatch(/^seg-teacher +5\.0 +44\.3 +– +– +\d+ \/ \d+/);
    expect(tableRow(r)).toMatch(/ webgpu \{"ms":3\.2\}$/);
  });

  it('prints a row under its header, the columns aligned', () => {
    const header = tableHeader(2);
    const row = tableRow(modelRecord(figures));
    expect(header).toMatch(/node 1t +node 2t +wasm\(node\) 1t +chromium 1t +chromium 2t +ratio 1t +ratio 2t/);
    expect(row).toMatch(/^seg-teacher +12\.6 +8\.0 +44\.3 +131 +90 +10\.4 +11\.2 +4210 \/ 1820 +312 \/ 48$/);
    // each figure ends where its column's title ends
    for (const [title, value] of [
      ['node 2t', '8.0'],
      ['chromium 2t', '90'],
      ['ratio 2t', '11.2'],
    ])
      expect(row.indexOf(` ${value} `) + value.length + 1).toBe(header.indexOf(title) + title.length);
  });
});
