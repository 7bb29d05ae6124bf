import { type CSSProperties, useEffect, useRef } from 'react';
import { range } from '../../analysis/attention';
import { drawCellMarks, drawColorbar, drawHeatmap } from '../../viz/attention';

const fmt = (v: number) => (Math.abs(v) >= 0.01 || v === 0 ? v.toFixed(2) : v.toExponential(1));

/**
 * The one heatmap: a [rows, cols] map in viridis over a value range (its own min..max unless given), with a
 * colour bar that shows the range. `overlay` places it absolutely (over a photo) instead of as a block.
 */
export function Heatmap({
  values,
  grid,
  domain,
  testId,
  className = 'h-24 w-24',
  style,
  legend = true,
  title,
  onPick,
  marks,
}: {
  values: Float32Array;
  grid: readonly [number, number];
  domain?: readonly [number, number];
  testId?: string;
  className?: string;
  style?: CSSProperties;
  legend?: boolean;
  title?: string;
  /** A click, as fractions of the map's width and height. */
  onPick?: (fx: number, fy: number) => void;
  /** Cells to outline, [row, col]. */
  marks?: readonly (readonly [number, number])[];
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const marksRef = useRef<SVGSVGElement>(null);
  const [lo, hi] = domain ?? range(values);
  useEffect(() => {
    if (ref.current) drawHeatmap(ref.current, values, grid[1], grid[0], lo, hi);
  }, [values, grid, lo, hi]);
  useEffect(() => {
    if (marksRef.current && marks) drawCellMarks(marksRef.current, marks, grid);
  }, [marks, grid]);
  const map = (
    <canvas
      ref={ref}
      data-testid={testId}
      data-lo={lo}
      data-hi={hi}
      className={className}
      title={title}
      style={{ imageRendering: 'pixelated', ...style }}
      onClick={
        onPick &&
        ((e) => {
          const r = e.currentTarget.getBoundingClientRect();
          onPick((e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
        })
      }
    />
  );
  const canvas = marks ? (
    <span className="relative inline-block">
      {map}
      <svg
        ref={marksRef}
        data-testid={testId && `${testId}-marks`}
        className="pointer-events-none absolute inset-0 h-full w-full"
        preserveAspectRatio="none"
      />
    </span>
  ) : (
    map
  );
  if (!legend) return canvas;
  return (
    <>
      {canvas}
      <ColourScale lo={lo} hi={hi} />
    </>
  );
}

/** Viridis bar with its end values. */
export function ColourScale({ lo, hi }: { lo: number; hi: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) drawColorbar(ref.current);
  }, []);
  return (
    <div className="flex items-center gap-1 text-[10px] text-slate-400" data-testid="colour-scale">
      {fmt(lo)} <canvas ref={ref} className="h-2 w-16" /> {fmt(hi)}
    </div>
  );
}
