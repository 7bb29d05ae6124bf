/** Saying what could not be drawn because a model output is not a number: per run, and per drawn map. */
import { useMemo } from 'react';
import { count, countNonFinite, describeNonFinite } from '../analysis/finiteness';
import type { Run } from '../state/runs';

/** Each output of the run with NaN or infinite values, one line each (counted once, when the run arrived). */
export function NonFiniteReport({ modelId, run }: { modelId: string; run: Run | undefined }) {
  if (!run?.nonFinite?.length) return null;
  return (
    <ul className="mt-1 text-xs text-amber-300" data-testid="nonfinite">
      {run.nonFinite.map((o) => (
        <li key={o.output} data-output={o.output} data-nan={o.nan} data-infinite={o.infinite}>
          {describeNonFinite(modelId, o)}
        </li>
      ))}
      <li className="text-slate-400">
        Views draw those values in magenta (no colour of a scale), leave them out of ranges and rankings, and say where
        a number cannot be computed.
      </li>
    </ul>
  );
}

/** "12 of 400 gate cells are NaN or infinite: drawn magenta" under one map, when any are. */
export function NoValueNote({ values, what }: { values: ArrayLike<number>; what: string }) {
  const c = useMemo(() => countNonFinite(values), [values]);
  const n = c.nan + c.infinite;
  if (!n) return null;
  return (
    <div className="text-amber-300" data-testid="no-value">
      {count(n)} of {count(values.length)} {what} {n === 1 ? 'is' : 'are'} NaN or infinite: drawn magenta
    </div>
  );
}
