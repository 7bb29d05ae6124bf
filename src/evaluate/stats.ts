/**
 * Statistics over a data set's per-image numbers (pure): means with percentile bootstrap intervals over images.
 * The generator is mulberry32, seeded, as in ml/attnlens_ml/results.py: the app and the command line give the
 * same interval for the same rows, to the last bit of the draws.
 */

/** A small seeded generator in [0, 1) (mulberry32). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t = (t + Math.imul(t ^ (t >>> 7), t | 61)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapSettings {
  resamples: number;
  seed: number;
  /** e.g. 0.95 */
  level: number;
}

export const DEFAULT_BOOTSTRAP: BootstrapSettings = { resamples: 1000, seed: 1, level: 0.95 };

/** Percentile bootstrap interval of the mean (resampling the values with replacement); null for no values. */
export function bootstrapInterval(values: readonly number[], b: BootstrapSettings): [number, number] | null {
  const n = values.length;
  if (!n) return null;
  const draw = mulberry32(b.seed);
  const means = new Float64Array(b.resamples);
  for (let r = 0; r < b.resamples; r++) {
    let total = 0;
    for (let i = 0; i < n; i++) total += values[Math.floor(draw() * n)];
    means[r] = total / n;
  }
  means.sort();
  const lo = means[Math.max(0, Math.floor(((1 - b.level) / 2) * b.resamples))];
  const hi = means[Math.min(b.resamples - 1, Math.ceil(((1 + b.level) / 2) * b.resamples) - 1)];
  return [lo, hi];
}

export const mean = (values: readonly number[]): number | null =>
  values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
