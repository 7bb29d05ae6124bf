import { describe, expect, it } from 'vitest';
import {
  backendLabel,
  busyWorkers,
  MAX_WASM_THREADS,
  requestedThreads,
  singleThreadReason,
  wasmThreads,
} from './threads';

const pick = (cores: number | undefined, busy: number, isolated = true) =>
  wasmThreads({ cores, busy, isolated }).threads;

describe('WASM threads per model worker', () => {
  it('half the logical cores shared by the models running at once, 1 to 8', () => {
    // measured: 16 cores, one model: 8 threads beat 1 (3-6x) and beat 16
    expect(pick(16, 1)).toBe(8);
    expect(pick(16, 2)).toBe(4);
    expect(pick(16, 4)).toBe(2);
    // measured: on 2 cores 2 threads were slower than 1
    expect(pick(2, 1)).toBe(1);
    expect(pick(2, 2)).toBe(1);
    expect(pick(3, 1)).toBe(1);
    expect(pick(4, 1)).toBe(2);
    expect(pick(8, 1)).toBe(4);
    expect(pick(8, 2)).toBe(2);
    expect(pick(8, 4)).toBe(1);
    expect(pick(64, 1)).toBe(MAX_WASM_THREADS);
    expect(pick(128, 2)).toBe(MAX_WASM_THREADS);
  });
  it('never more threads in all than half the cores (or one each), never less than 1', () => {
    for (let cores = 1; cores <= 96; cores++)
      for (let busy = 1; busy <= 4; busy++) {
        const t = pick(cores, busy);
        expect(t).toBeGreaterThanOrEqual(1);
        expect(t).toBeLessThanOrEqual(MAX_WASM_THREADS);
        if (t > 1) expect(t * busy).toBeLessThanOrEqual(cores / 2);
      }
  });
  it('a hidden or odd core count, or busy 0, reads as 1 core / 1 model', () => {
    expect(pick(undefined, 1)).toBe(1);
    expect(pick(0, 1)).toBe(1);
    expect(pick(Number.NaN, 1)).toBe(1);
    expect(pick(16, 0)).toBe(8);
    expect(pick(16.7, 1)).toBe(8);
  });
  it('one thread without cross-origin isolation, saying why (test hook or not)', () => {
    expect(wasmThreads({ cores: 16, busy: 1, isolated: false })).toEqual({
      threads: 1,
      why: 'this host does not send cross-origin isolation headers (docs/hosting.md)',
    });
    expect(wasmThreads({ cores: 16, busy: 1, isolated: false, secure: false, requested: 4 }).threads).toBe(1);
    expect(wasmThreads({ cores: 16, busy: 1, isolated: false, secure: false }).why).toMatch(/not a secure context/);
    expect(singleThreadReason(true)).toBeNull();
  });
  it('the ?wasmThreads test hook overrides the policy on an isolated page', () => {
    expect(wasmThreads({ cores: 2, busy: 2, isolated: true, requested: 2 })).toEqual({
      threads: 2,
      why: 'asked for by ?wasmThreads',
    });
    expect(wasmThreads({ cores: 16, busy: 1, isolated: true }).why).toBe(
      '16 logical cores, 1 model running at once: half the cores shared between them, at most 8',
    );
  });
  it('reads ?wasmThreads=<1-16> and nothing else', () => {
    expect(requestedThreads('?wasmThreads=2')).toBe(2);
    expect(requestedThreads('?fetchTimeout=2&wasmThreads=16')).toBe(16);
    for (const q of ['', '?wasmThreads=0', '?wasmThreads=17', '?wasmThreads=2.5', '?wasmThreads=x', '?wasmThreads='])
      expect(requestedThreads(q)).toBeNull();
  });
  it('busy models: those in view, at most the runs at once', () => {
    expect(busyWorkers(1, 4)).toBe(1);
    expect(busyWorkers(6, 4)).toBe(4);
    expect(busyWorkers(3, 2)).toBe(2);
    expect(busyWorkers(0, 2)).toBe(1);
  });
  it('labels the backend with its threads (WASM only)', () => {
    expect(backendLabel({ backend: 'wasm', threads: 1 })).toBe('wasm, 1 thread');
    expect(backendLabel({ backend: 'wasm', threads: 4 })).toBe('wasm, 4 threads');
    expect(backendLabel({ backend: 'webgpu', threads: 4 })).toBe('webgpu');
    expect(backendLabel({ backend: 'webgpu', capture: { used: true } })).toBe('webgpu · graph capture');
    expect(backendLabel({ backend: 'webgpu', capture: { used: false } })).toBe('webgpu');
  });
});
