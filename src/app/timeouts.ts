/**
 * How long a download may go without a byte and a run may take. Test hooks: `?fetchTimeout=<s>` and
 * `?runTimeout=<s>` in the page's query string (so tests need not wait 20 or 60 s).
 */
import { FETCH_IDLE_MS } from '../inference/fetchModel';

export const RUN_TIMEOUT_MS = 60_000;

export interface Timeouts {
  fetchIdleMs: number;
  runMs: number;
}

/** The timeouts a query string asks for; a missing, non-numeric or non-positive value keeps the default. */
export function timeoutsFrom(search: string): Timeouts {
  const q = new URLSearchParams(search);
  const seconds = (name: string, fallbackMs: number) => {
    const v = Number(q.get(name));
    return q.has(name) && Number.isFinite(v) && v > 0 ? v * 1000 : fallbackMs;
  };
  return { fetchIdleMs: seconds('fetchTimeout', FETCH_IDLE_MS), runMs: seconds('runTimeout', RUN_TIMEOUT_MS) };
}

export const timeouts = (): Timeouts => timeoutsFrom(typeof location === 'undefined' ? '' : location.search);

/** At most this many models load or run at once: all of them in parallel starved the page on 2 cores. */
export function concurrentModels(cores: number | undefined): number {
  return Math.max(2, Math.min(4, cores || 2));
}

/** A counting semaphore: `run` waits for a free place, then holds it while `job` runs. */
export class Limiter {
  private active = 0;
  private waiting: (() => void)[] = [];
  constructor(readonly size: number) {}

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
