import { describe, expect, it } from 'vitest';
import { FETCH_IDLE_MS } from '../inference/fetchModel';
import { concurrentModels, Limiter, RUN_TIMEOUT_MS, timeoutsFrom } from './timeouts';

describe('timeouts', () => {
  it('defaults, and the ?fetchTimeout / ?runTimeout test hooks in seconds', () => {
    expect(timeoutsFrom('')).toEqual({ fetchIdleMs: FETCH_IDLE_MS, runMs: RUN_TIMEOUT_MS });
    expect(timeoutsFrom('?fetchTimeout=2&runTimeout=3.5')).toEqual({ fetchIdleMs: 2000, runMs: 3500 });
    expect(timeoutsFrom('?fetchTimeout=0&runTimeout=abc')).toEqual({
      fetchIdleMs: FETCH_IDLE_MS,
      runMs: RUN_TIMEOUT_MS,
    });
  });
  it('a few models at once, whatever the core count says', () => {
    expect(concurrentModels(undefined)).toBe(2);
    expect(concurrentModels(2)).toBe(2);
    expect(concurrentModels(16)).toBe(4);
  });
  it('the limiter never runs more than its size, and runs every job', async () => {
    const limiter = new Limiter(2);
    let active = 0;
    let most = 0;
    const job = (ms: number, fail = false) =>
      limiter.run(async () => {
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, ms));
        active--;
        if (fail) throw new Error('x');
        return ms;
      });
    const results = await Promise.allSettled([job(20), job(5, true), job(10), job(1), job(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(most).toBe(2);
    expect(active).toBe(0);
  });
});
