import { describe, expect, it } from 'vitest';
import { WorkerPool } from './workerPool';

class FakeClient {
  static made = 0;
  readonly n = ++FakeClient.made;
  terminated: string | null = null;
  released: string[] = [];
  terminate(why: string) {
    this.terminated = why;
  }
  async release(key: string) {
    this.released.push(key);
  }
}

describe('WorkerPool', () => {
  it('one worker per model up to the cap, then the least busy worker of the same backend', () => {
    const pool = new WorkerPool(() => new FakeClient(), 2);
    const a = pool.assign('a', 'wasm');
    const b = pool.assign('b', 'wasm');
    expect(a).not.toBe(b);
    expect(pool.assign('c', 'wasm')).toBe(a);
    expect(pool.assign('d', 'wasm')).toBe(b);
    expect(pool.size).toBe(2);
    // no worker of that backend: a new one, past the cap (a worker keeps the runtime it started with)
    expect(pool.assign('e', 'webgpu')).not.toBe(a);
    expect(pool.size).toBe(3);
  });
  it('stopping a model terminates its worker and evicts the models sharing it', () => {
    const evicted: string[][] = [];
    const pool = new WorkerPool(
      () => new FakeClient(),
      1,
      (keys) => evicted.push(keys),
    );
    const w = pool.assign('a', 'wasm');
    pool.assign('b', 'wasm');
    pool.stop('a', 'timeout');
    expect(w.terminated).toBe('timeout');
    expect(evicted).toEqual([['b']]);
    expect(pool.clientOf('b')).toBeUndefined();
    expect(pool.size).toBe(0);
    const fresh = pool.assign('a', 'wasm');
    expect(fresh).not.toBe(w);
  });
  it('a model leaving frees its session, and its worker once it is alone', () => {
    const pool = new WorkerPool(() => new FakeClient(), 1);
    const w = pool.assign('a', 'wasm');
    pool.assign('b', 'wasm');
    pool.leave('a');
    expect(w.released).toEqual(['a']);
    expect(w.terminated).toBeNull();
    pool.leave('b');
    expect(w.terminated).toBe('released');
    expect(pool.size).toBe(0);
  });
  it('a reload leaves the old worker first (a model alone gets a fresh one)', () => {
    const pool = new WorkerPool(() => new FakeClient(), 4);
    const w = pool.assign('a', 'wasm');
    expect(pool.assign('a', 'wasm')).not.toBe(w);
    expect(w.terminated).toBe('released');
  });
});
