/**
 * Non-finite numbers in model outputs (pure): counted once per run, so every view can say what it could not
 * draw instead of drawing NaN as something (a mask, a colour) or looping on it.
 */

export interface NonFiniteCount {
  nan: number;
  /** +Infinity and −Infinity together. */
  infinite: number;
}

/** One output with at least one NaN or infinite value. */
export interface NonFiniteOutput extends NonFiniteCount {
  output: string;
  /** Values in the output. */
  total: number;
}

export function countNonFinite(values: ArrayLike<number>): NonFiniteCount {
  let nan = 0;
  let infinite = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // v - v is 0 for every finite v and NaN for NaN and ±Infinity: one test on the common path.
    if (v - v !== 0) {
      if (Number.isNaN(v)) nan++;
      else infinite++;
    }
  }
  return { nan, infinite };
}

/** Every output of a run that has NaN or infinite values, in the run's output order. */
export function nonFiniteOutputs(outputs: Record<string, { data: ArrayLike<number> }>): NonFiniteOutput[] {
  const out: NonFiniteOutput[] = [];
  for (const [output, t] of Object.entries(outputs)) {
    const c = countNonFinite(t.data);
    if (c.nan || c.infinite) out.push({ output, total: t.data.length, ...c });
  }
  return out;
}

/** 1,024 — counts as people read them, whatever the browser's locale. */
export const count = (n: number) => n.toLocaleString('en-US');

/** "seg_logits of model X has 1,024 NaN values and 3 infinite ones (of 179,200)". */
export function describeNonFinite(modelId: string, o: NonFiniteOutput): string {
  const parts: string[] = [];
  if (o.nan) parts.push(`${count(o.nan)} NaN value${o.nan === 1 ? '' : 's'}`);
  if (o.infinite)
    parts.push(
      o.nan
        ? `${count(o.infinite)} infinite one${o.infinite === 1 ? '' : 's'}`
        : `${count(o.infinite)} infinite value${o.infinite === 1 ? '' : 's'}`,
    );
  return `${o.output} of model ${modelId} has ${parts.join(' and ')} (of ${count(o.total)})`;
}

/** Whether every value is finite (short-circuits). */
export function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] - values[i] !== 0) return false;
  return true;
}

/** Smallest and largest finite value; [0, 0] when there is none (a map of only NaN has no range to show). */
export function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v - v !== 0) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}
