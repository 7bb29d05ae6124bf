import { useEffect, useRef } from 'react';
import { drawBars } from '../../viz/attention';

/** The one bar chart: labelled values in [0, 1] (d3 draws it in src/viz). */
export function BarChart({
  items,
  testId,
  className = 'h-24 w-60',
}: {
  items: { label: string; value: number }[];
  testId?: string;
  className?: string;
}) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (ref.current) drawBars(ref.current, items);
  }, [items]);
  return <svg ref={ref} className={className} data-testid={testId} />;
}
